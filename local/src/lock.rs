//! Lease locks: one owner per environment for a bounded time, renewable.

use serde::{Deserialize, Serialize};

use crate::api::LockInfo;
use crate::time::rfc3339;

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Holder.
    pub owner: String,
    /// First acquired, unix ms.
    pub since_ms: u64,
    /// Lapses at, unix ms.
    pub expires_ms: u64,
}

impl Lease {
    /// The API view.
    pub fn info(&self) -> LockInfo {
        LockInfo {
            owner: self.owner.clone(),
            since: rfc3339(self.since_ms),
            expires_at: rfc3339(self.expires_ms),
        }
    }

    fn live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
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
    /// The live lease, if any.
    pub fn current(&self, now_ms: u64) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.live(now_ms))
    }

    /// Acquires for `owner`; re-acquiring one's own lease renews it.
    pub fn acquire(&mut self, owner: &str, ttl_ms: u64, now_ms: u64) -> Result<Lease, LeaseError> {
        let since_ms = match self.current(now_ms) {
            Some(l) if l.owner != owner => return Err(LeaseError::Held(l.clone())),
            Some(l) => l.since_ms,
            None => now_ms,
        };
        let lease = Lease {
            owner: owner.to_owned(),
            since_ms,
            expires_ms: now_ms.saturating_add(ttl_ms),
        };
        self.lease = Some(lease.clone());
        Ok(lease)
    }

    /// Extends `owner`'s lease.
    pub fn renew(&mut self, owner: &str, ttl_ms: u64, now_ms: u64) -> Result<Lease, LeaseError> {
        match self.current(now_ms) {
            Some(l) if l.owner == owner => self.acquire(owner, ttl_ms, now_ms),
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
        slot.acquire("a", 1000, 0).expect("free");
        assert!(matches!(slot.acquire("b", 1000, 500), Err(LeaseError::Held(l)) if l.owner == "a"));
        assert!(slot.check(Some("a"), 500).is_ok());
        assert!(slot.check(None, 500).is_err());
        slot.acquire("b", 1000, 1000).expect("lapsed");
    }

    #[test]
    fn renew_keeps_since_and_release_frees() {
        let mut slot = LeaseSlot::default();
        slot.acquire("a", 1000, 10).expect("free");
        let l = slot.renew("a", 1000, 900).expect("renew");
        assert_eq!((l.since_ms, l.expires_ms), (10, 1900));
        assert!(slot.renew("b", 1000, 900).is_err());
        assert!(slot.release("b", 900).is_err());
        slot.release("a", 900).expect("release");
        assert!(slot.current(900).is_none());
        assert!(matches!(
            slot.renew("a", 1, 900),
            Err(LeaseError::NotHeld(_))
        ));
    }
}
