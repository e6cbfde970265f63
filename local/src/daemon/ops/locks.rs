//! The environment's lock: who holds it, taking, renewing, releasing and breaking
//! it, and the check every changing operation makes against it.

use super::super::environment::{Env, EnvData};
use super::super::{Daemon, DaemonError};
use super::audited::Attempt;
use crate::api::{AuditAction, AuditEntry, LockInfo, LockRequest, Outcome};
use crate::lock::{HolderProcess, Lease, LeaseError, LeaseSlot};
use crate::time::{now_ms, rfc3339};

impl Daemon {
    /// The error a lease refusal becomes, with the command that breaks a stuck lock.
    fn lease_error(&self, environment: &str, e: LeaseError) -> DaemonError {
        match e {
            LeaseError::Held(lease) => DaemonError::Locked {
                environment: environment.to_owned(),
                lease: Box::new(lease),
                unlock_command: format!(
                    "bluegreen-local unlock {environment} --state-dir {}",
                    self.state_dir().display()
                ),
                at_ms: now_ms(),
            },
            LeaseError::NotHeld(owner) => DaemonError::Conflict(format!(
                "environment {environment} has no lock held by {owner}: acquire it with POST /v1/environments/{environment}/lock"
            )),
        }
    }

    /// Refuses a change to `env` unless `owner` holds its lock (or none is held),
    /// or `force` says to go ahead regardless.
    pub(super) fn check_lock(
        &self,
        env: &Env,
        data: &EnvData,
        owner: Option<&str>,
        force: bool,
    ) -> Result<(), DaemonError> {
        if force {
            return Ok(());
        }
        data.lock
            .check(owner, now_ms())
            .map_err(|e| self.lease_error(&env.name, e))
    }

    /// The environment's current lock.
    pub fn lock_info(&self, name: &str) -> Result<Option<LockInfo>, DaemonError> {
        let env = self.env(name)?;
        let data = env.data();
        Ok(data.lock.current(now_ms()).map(|l| l.info()))
    }

    /// Acquires (or re-acquires) the lock.
    pub async fn acquire_lock(
        &self,
        name: &str,
        req: LockRequest,
    ) -> Result<LockInfo, DaemonError> {
        let process = holder_process(&req);
        self.lease_op(
            name,
            &req.owner,
            |slot, now| slot.acquire(&req.owner, process, req.ttl_secs.saturating_mul(1000), now),
            Some(AuditAction::Lock),
        )
        .await
    }

    /// Renews a lock held by `req.owner`.
    pub async fn renew_lock(&self, name: &str, req: LockRequest) -> Result<LockInfo, DaemonError> {
        let process = holder_process(&req);
        self.lease_op(
            name,
            &req.owner,
            |slot, now| slot.renew(&req.owner, process, req.ttl_secs.saturating_mul(1000), now),
            None,
        )
        .await
    }

    /// Breaks the lock whoever holds it: the operator's way out when a run died on
    /// another machine. Audited under `actor`; returns the lease broken, if any.
    pub async fn break_lock(
        &self,
        name: &str,
        actor: &str,
    ) -> Result<Option<LockInfo>, DaemonError> {
        let env = self.env(name)?;
        let broken = env.data().lock.break_lease(now_ms());
        if let Some(lease) = &broken {
            self.save().await?;
            self.audit(lock_entry(
                name,
                actor,
                AuditAction::Unlock,
                format!(
                    "lock of {} (held since {}, expiring {}) broken by an operator",
                    lease.owner,
                    rfc3339(lease.since_ms),
                    rfc3339(lease.expires_ms)
                ),
            ));
        }
        Ok(broken.map(|l| l.info()))
    }

    /// Releases a lock held by `owner`.
    pub async fn release_lock(&self, name: &str, owner: &str) -> Result<(), DaemonError> {
        let env = self.env(name)?;
        let released = {
            let mut data = env.data();
            data.lock
                .release(owner, now_ms())
                .map_err(|e| self.lease_error(name, e))?
        };
        if released.is_some() {
            self.save().await?;
            self.audit(lock_entry(
                name,
                owner,
                AuditAction::Unlock,
                "lock released".into(),
            ));
        }
        Ok(())
    }

    /// Runs `op` on the environment's lease: frees a lease whose holder died first,
    /// persists the result, and audits under `audit` a lock newly taken or refused
    /// because another holds it (renewals go unaudited).
    async fn lease_op(
        &self,
        name: &str,
        owner: &str,
        op: impl FnOnce(&mut LeaseSlot, u64) -> Result<Lease, LeaseError>,
        audit: Option<AuditAction>,
    ) -> Result<LockInfo, DaemonError> {
        if owner.trim().is_empty() {
            return Err(DaemonError::Invalid(
                "a lock needs a non-empty `owner`".into(),
            ));
        }
        let env = self.env(name)?;
        let (lease, fresh, dead) = {
            let mut data = env.data();
            let now = now_ms();
            let dead = data.lock.clear_dead_holder(now);
            let held_before = data.lock.current(now).is_some_and(|l| l.owner == owner);
            let lease = op(&mut data.lock, now).map_err(|e| self.lease_error(name, e));
            (lease, !held_before, dead)
        };
        if let Some(dead) = dead {
            let pid = dead.process.as_ref().map_or(0, |p| p.pid);
            self.audit(lock_entry(
                name,
                "bluegreen-local",
                AuditAction::Unlock,
                format!(
                    "lock of {} (held since {}) freed: its process {pid} on this machine is gone",
                    dead.owner,
                    rfc3339(dead.since_ms)
                ),
            ));
        }
        let lease = match lease {
            Ok(l) => l,
            Err(e) => {
                // Only a lock someone else holds is worth a trace: the rest are
                // malformed requests or lost races the client retries.
                if let (Some(action), DaemonError::Locked { .. }) = (audit, &e) {
                    self.audit(Attempt::new(name, action, owner.to_owned()).refused(&e));
                }
                return Err(e);
            }
        };
        self.save().await?;
        if let (Some(action), true) = (audit, fresh) {
            self.audit(lock_entry(
                name,
                owner,
                action,
                format!("lock acquired until {}", rfc3339(lease.expires_ms)),
            ));
        }
        Ok(lease.info())
    }
}

/// The holder's process named in `req`, when it gave both its pid and its pid space.
fn holder_process(req: &LockRequest) -> Option<HolderProcess> {
    Some(HolderProcess {
        pid: req.pid?,
        pid_space: req.pid_space.clone()?,
    })
}

/// An audit entry of a lock change that went through.
fn lock_entry(name: &str, owner: &str, action: AuditAction, message: String) -> AuditEntry {
    AuditEntry {
        time: String::new(),
        actor: owner.to_owned(),
        environment: name.to_owned(),
        action,
        from_version: None,
        to_version: None,
        from_color: None,
        to_color: None,
        revision: None,
        outcome: Outcome::Ok,
        message,
    }
}
