//! Lease locks: one owner per environment for a bounded time, renewable.
//!
//! A holder renews its short lease while it works, so a holder that died frees the
//! environment within one lease; a holder that names its process is freed at once
//! when that process is gone from this machine.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::api::LockInfo;
use crate::process::procfs;
use crate::time::rfc3339;

/// The process behind a lease, so that a daemon in the same pid space can tell it died.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderProcess {
    /// Process id of the holder (the process that renews the lease).
    pub pid: u32,
    /// The holder's pid space, see [`procfs::pid_space`].
    pub pid_space: String,
}

impl HolderProcess {
    /// True only when the process runs in this daemon's pid space and has exited.
    pub fn is_gone(&self) -> bool {
        static OURS: OnceLock<Option<String>> = OnceLock::new();
        let ours = OURS.get_or_init(procfs::pid_space);
        ours.as_deref() == Some(self.pid_space.as_str()) && procfs::is_gone(self.pid)
    }
}

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Holder.
    pub owner: String,
    /// First acquired, unix ms.
    pub since_ms: u64,
    /// Lapses at, unix ms.
    pub expires_ms: u64,
    /// The holder's process, when it named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<HolderProcess>,
}

impl Lease {
    /// The API view.
    pub fn info(&self) -> LockInfo {
        LockInfo {
            owner: self.owner.clone(),
            since: rfc3339(self.since_ms),
            expires_at: rfc3339(self.expires_ms),
            pid: self.process.as_ref().map(|p| p.pid),
        }
    }

    /// Whole seconds until the lease lapses (rounded up), from `now_ms`.
    pub fn expires_in_secs(&self, now_ms: u64) -> u64 {
        self.expires_ms.saturating_sub(now_ms).div_ceil(1000)
    }

    fn unexpired(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }

    fn live(&self, now_ms: u64) -> bool {
        self.unexpired(now_ms) && !self.holder_gone()
    }

    /// True when the holder named its process and that process has exited.
    pub fn holder_gone(&self) -> bool {
        self.process.as_ref().is_some_and(HolderProcess::is_gone)
    }
}

/// Why a lock operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it.
    #[error("locked by {} since {} (expires {})", .0.owner, rfc3339(.0.since_ms), rfc3339(.0.expires_ms))]
    Held(Lease),
    /// Renewal of a lock that is not held by the caller.
    #[error("no lock held by {0}: acquire it first")]
    NotHeld(String),
}

/// The lease slot of one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseSlot {
    /// Current lease, possibly lapsed.
    pub lease: Option<Lease>,
}

impl LeaseSlot {
    /// The live lease, if any: not lapsed, and its holder's process not known to be gone.
    pub fn current(&self, now_ms: u64) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.live(now_ms))
    }

    /// Drops an unexpired lease whose holder's process is gone, and returns it (for
    /// the audit log): the holder can no longer act, so waiting for expiry helps nobody.
    pub fn clear_dead_holder(&mut self, now_ms: u64) -> Option<Lease> {
        let dead = self
            .lease
            .as_ref()
            .is_some_and(|l| l.unexpired(now_ms) && l.holder_gone());
        if dead {
            self.lease.take()
        } else {
            None
        }
    }

    /// Acquires for `owner`; re-acquiring one's own lease renews it. `process` names
    /// the holder's process (kept from the earlier grant when `None`).
    pub fn acquire(
        &mut self,
        owner: &str,
        process: Option<HolderProcess>,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<Lease, LeaseError> {
        let (since_ms, process) = match self.current(now_ms) {
            Some(l) if l.owner != owner => return Err(LeaseError::Held(l.clone())),
            Some(l) => (l.since_ms, process.or_else(|| l.process.clone())),
            None => (now_ms, process),
        };
        let lease = Lease {
            owner: owner.to_owned(),
            since_ms,
            expires_ms: now_ms.saturating_add(ttl_ms),
            process,
        };
        self.lease = Some(lease.clone());
        Ok(lease)
    }

    /// Extends `owner`'s lease.
    pub fn renew(
        &mut self,
        owner: &str,
        process: Option<HolderProcess>,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<Lease, LeaseError> {
        match self.current(now_ms) {
            Some(l) if l.owner == owner => self.acquire(owner, process, ttl_ms, now_ms),
            Some(l) => Err(LeaseError::Held(l.clone())),
            None => Err(LeaseError::NotHeld(owner.to_owned())),
        }
    }

    /// Releases `owner`'s lease; releasing a lapsed or absent lease succeeds.
    pub fn release(&mut self, owner: &str, now_ms: u64) -> Result<Option<Lease>, LeaseError> {
        match self.current(now_ms) {
            Some(l) if l.owner != owner => Err(LeaseError::Held(l.clone())),
            _ => Ok(self.lease.take()),
        }
    }

    /// Breaks whatever live lease there is, whoever holds it (an operator's decision).
    pub fn break_lease(&mut self, now_ms: u64) -> Option<Lease> {
        let live = self.current(now_ms).is_some();
        let lease = self.lease.take();
        lease.filter(|_| live)
    }

    /// Checks that a mutation by `owner` is allowed: free, lapsed, or held by `owner`.
    pub fn check(&self, owner: Option<&str>, now_ms: u64) -> Result<(), LeaseError> {
        match self.current(now_ms) {
            Some(l) if Some(l.owner.as_str()) != owner => Err(LeaseError::Held(l.clone())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_owner_is_refused_until_expiry() {
        let mut slot = LeaseSlot::default();
        slot.acquire("a", None, 1000, 0).expect("free");
        assert!(
            matches!(slot.acquire("b", None, 1000, 500), Err(LeaseError::Held(l)) if l.owner == "a")
        );
        assert!(slot.check(Some("a"), 500).is_ok());
        assert!(slot.check(None, 500).is_err());
        slot.acquire("b", None, 1000, 1000).expect("lapsed");
    }

    #[test]
    fn renew_keeps_since_and_release_frees() {
        let mut slot = LeaseSlot::default();
        slot.acquire("a", None, 1000, 10).expect("free");
        let l = slot.renew("a", None, 1000, 900).expect("renew");
        assert_eq!((l.since_ms, l.expires_ms), (10, 1900));
        assert_eq!(l.expires_in_secs(900), 1);
        assert!(slot.renew("b", None, 1000, 900).is_err());
        assert!(slot.release("b", 900).is_err());
        slot.release("a", 900).expect("release");
        assert!(slot.current(900).is_none());
        assert!(matches!(
            slot.renew("a", None, 1, 900),
            Err(LeaseError::NotHeld(_))
        ));
    }

    fn exited_process() -> HolderProcess {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        HolderProcess {
            pid,
            pid_space: procfs::pid_space().expect("Linux has /proc"),
        }
    }

    #[test]
    fn a_holder_whose_process_is_gone_holds_nothing() {
        let mut slot = LeaseSlot::default();
        let dead = exited_process();
        slot.acquire("a", Some(dead.clone()), 60_000, 0)
            .expect("free");
        assert!(slot.current(1).is_none(), "the holder's process is gone");
        let cleared = slot.clear_dead_holder(1).expect("cleared");
        assert_eq!(cleared.process, Some(dead.clone()));
        slot.acquire("b", None, 60_000, 1).expect("free again");

        // Another pid space (a container sharing the host name) is never judged.
        let elsewhere = HolderProcess {
            pid_space: "other-boot/pid:[1]".into(),
            ..dead
        };
        let mut slot = LeaseSlot::default();
        slot.acquire("c", Some(elsewhere), 60_000, 0).expect("free");
        assert!(slot.clear_dead_holder(1).is_none());
        assert!(slot.acquire("d", None, 60_000, 1).is_err());
    }

    #[test]
    fn renewing_keeps_the_process_and_breaking_takes_any_live_lease() {
        let mut slot = LeaseSlot::default();
        let me = HolderProcess {
            pid: std::process::id(),
            pid_space: procfs::pid_space().expect("Linux has /proc"),
        };
        slot.acquire("a", Some(me.clone()), 1000, 0).expect("free");
        let l = slot.renew("a", None, 1000, 500).expect("renew");
        assert_eq!(l.process, Some(me));
        assert_eq!(slot.break_lease(600).map(|l| l.owner), Some("a".into()));
        assert!(slot.break_lease(600).is_none());
        slot.acquire("b", None, 1000, 0).expect("free");
        assert!(
            slot.break_lease(5000).is_none(),
            "a lapsed lease is not reported as broken"
        );
    }
}
