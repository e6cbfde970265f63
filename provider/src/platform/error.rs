//! Platform failures as the engine and the resources see them: a kind the
//! engine acts on, and the platform's own code and request id for the person
//! reading the diagnostic (or the platform's support).

use std::fmt;

/// A lock someone else holds, as a refused call reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment {environment:?} is locked by {owner} since {since}; the lock expires at {expires_at}{} unless that run renews it", .expires_in_secs.map(|s| format!(" (in {s} s)")).unwrap_or_default())]
pub struct LockHeld {
    /// Environment.
    pub environment: String,
    /// Holder.
    pub owner: String,
    /// Since when.
    pub since: String,
    /// When the lease lapses unless renewed.
    pub expires_at: String,
    /// Seconds until then, when the platform says.
    pub expires_in_secs: Option<u64>,
    /// The command that breaks the lock, when the platform has one.
    pub unlock_command: Option<String>,
}

/// A refusal or failure exactly as the platform reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The platform's machine-readable code (`not_found`, `conflict` locally;
    /// ARM's `error.code` such as `ResourceNotFound` on Azure).
    pub code: String,
    /// The platform's explanation.
    pub message: String,
    /// The platform's id of the failed request (ARM's `x-ms-request-id`), when it gives one.
    pub request_id: Option<String>,
    /// The id that ties the failed request to the call it belonged to (ARM's
    /// `x-ms-correlation-request-id`), which Azure support asks for with the request id.
    pub correlation_id: Option<String>,
    /// Whether the same call, repeated unchanged later, may succeed (throttling,
    /// a 5xx, a platform busy): the platform client has already retried what it
    /// could, so this tells the user whether running apply again may help.
    pub retryable: bool,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (platform error code {}", self.message, self.code)?;
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, ", correlation id {id}")?;
        }
        if self.retryable {
            write!(f, "; a later retry may succeed")?;
        }
        write!(f, ")")
    }
}

/// The code [`PlatformError::code`] gives a routing write made at a stale revision.
pub const STALE_REVISION: &str = "stale_revision";

/// Platform failures the engine and resources turn into diagnostics.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Someone else holds the environment lock.
    #[error("{0}")]
    Locked(Box<LockHeld>),
    /// The routing changed under us: the platform refused a routing write made
    /// at a stale revision. Platforms produce it from their own code for that
    /// case (the local daemon's `stale_revision`, ARM's 412 on an ETag), never
    /// from a message's text.
    #[error("routing of {environment:?} changed while this apply was running; run terraform plan again{}", .request_id.as_ref().map(|id| format!(" (platform request id {id})")).unwrap_or_default())]
    Conflict {
        /// Environment.
        environment: String,
        /// The platform's id of the refused request.
        request_id: Option<String>,
    },
    /// The platform cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The platform refused or failed the request, with its code.
    #[error("{0}")]
    Refused(Failure),
    /// The provider found the environment unfit for the request (no live
    /// colour, a canary in the way…): the message says what to do.
    #[error("{0}")]
    Api(String),
    /// The front door cannot listen on its address.
    #[error("{reason}")]
    Listen {
        /// The `listen` address.
        address: String,
        /// The platform's explanation (address in use, not an address of this host…).
        reason: String,
    },
}

impl PlatformError {
    /// The machine-readable code, when the failure has one.
    pub fn code(&self) -> Option<&str> {
        match self {
            PlatformError::Locked(_) => Some("locked"),
            PlatformError::Conflict { .. } => Some(STALE_REVISION),
            PlatformError::Unreachable(_) => Some("unreachable"),
            PlatformError::Refused(f) => Some(&f.code),
            PlatformError::Api(_) => None,
            PlatformError::Listen { .. } => Some("listen_failed"),
        }
    }

    /// The platform's id of the failed request, when it gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            PlatformError::Conflict { request_id, .. } => request_id.as_deref(),
            PlatformError::Refused(f) => f.request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the same call, repeated unchanged later, may succeed. A stale
    /// revision never does (the plan must be made again); a held lock does once
    /// its holder finishes.
    pub fn retryable(&self) -> bool {
        match self {
            PlatformError::Locked(_) | PlatformError::Unreachable(_) => true,
            PlatformError::Refused(f) => f.retryable,
            PlatformError::Conflict { .. }
            | PlatformError::Api(_)
            | PlatformError::Listen { .. } => false,
        }
    }
}
