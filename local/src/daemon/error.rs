//! Errors of daemon operations; the admin API maps each to an HTTP status.

use crate::audit::AuditError;
use crate::frontdoor::FrontDoorError;
use crate::lock::Lease;
use crate::process::supervisor::SpawnError;
use crate::state::store::StoreError;
use crate::time::rfc3339;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No such environment.
    #[error("environment {0:?} does not exist: define it with PUT /v1/environments/{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the current state (live colour, not running…).
    #[error("{0}")]
    Conflict(String),
    /// A routing write's `if_revision` is no longer the current revision.
    #[error("{0}")]
    StaleRevision(String),
    /// Someone else holds the environment's lock.
    #[error("{}", locked_message(.environment, .lease, .unlock_command, .at_ms))]
    Locked {
        /// Environment.
        environment: String,
        /// The lease held (boxed: keeps every `Result<_, DaemonError>` small).
        lease: Box<Lease>,
        /// The command that breaks it, e.g. `bluegreen-local unlock api --state-dir DIR`.
        unlock_command: String,
        /// When the refusal happened, unix ms.
        at_ms: u64,
    },
    /// A colour process could not be started.
    #[error("{0}")]
    Spawn(#[from] SpawnError),
    /// The front door could not listen.
    #[error("{0}")]
    FrontDoor(#[from] FrontDoorError),
    /// Persisting state failed; nothing was changed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The audit log could not be written or read.
    #[error("{0}")]
    Audit(#[from] AuditError),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One line: who holds the lock and since when, when it lapses, and how to break it.
fn locked_message(environment: &str, lease: &Lease, unlock_command: &str, at_ms: &u64) -> String {
    format!(
        "environment {environment} is locked by {} since {}; the lock expires at {} (in {} s) unless that run renews it. Wait for that run to finish; if it is dead, break the lock with `{unlock_command}` (unsafe while that run is still going: two releases would interleave)",
        lease.owner,
        rfc3339(lease.since_ms),
        rfc3339(lease.expires_ms),
        lease.expires_in_secs(*at_ms),
    )
}
