//! What went wrong talking to Azure, with what a person needs to act on it
//! or to open a support case: the ARM error code and message, and the
//! `x-ms-request-id` and correlation id Azure support asks for.

use std::fmt;

use serde::Deserialize;

use crate::platform::{Failure, PlatformError};

/// An error answer from Resource Manager, or a long-running operation that
/// ended `Failed`/`Canceled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    /// HTTP method of the request that failed (`GET`, `PATCH`, …).
    pub method: String,
    /// Path of the request (no query string).
    pub path: String,
    /// HTTP status (200 for an operation whose status says Failed).
    pub status: u16,
    /// ARM error code, e.g. `SubscriptionRequestsThrottled`.
    pub code: String,
    /// ARM error message.
    pub message: String,
    /// `x-ms-request-id` of the answer.
    pub request_id: Option<String>,
    /// `x-ms-correlation-request-id` of the answer.
    pub correlation_id: Option<String>,
}

impl ArmError {
    /// Whether repeating the same request may succeed (throttling, server errors).
    pub fn retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} {}: {}",
            self.method, self.path, self.status, self.code, self.message
        )?;
        write!(
            f,
            " (x-ms-request-id {}, correlation id {})",
            self.request_id.as_deref().unwrap_or("none"),
            self.correlation_id.as_deref().unwrap_or("none")
        )
    }
}

/// Statuses ARM clients retry: request timeout, throttling and server errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Everything the Azure client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// Resource Manager refused or failed the request.
    #[error("Azure Resource Manager: {0}")]
    Arm(Box<ArmError>),
    /// A long-running operation ended Failed or Canceled.
    #[error("Azure operation {status}: {error}")]
    OperationFailed {
        /// `Failed` or `Canceled`.
        status: String,
        /// The operation's error, with the request id of the answer that reported it.
        error: Box<ArmError>,
    },
    /// No credential produced a token.
    #[error("{0}")]
    Auth(String),
    /// The network or TLS failed (after retries).
    #[error("cannot reach Azure: {0}")]
    Transport(String),
    /// An answer was not what the API documents.
    #[error("unexpected answer to {method} {path}: {message} (x-ms-request-id {})", .request_id.as_deref().unwrap_or("none"))]
    Decode {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// What did not parse.
        message: String,
        /// `x-ms-request-id` of the answer.
        request_id: Option<String>,
    },
    /// A wait exceeded its limit.
    #[error("gave up after {seconds} s: {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long it waited.
        seconds: u64,
    },
    /// Terraform (or the engine) asked to stop while waiting.
    #[error("interrupted while {0}")]
    Cancelled(String),
    /// The settings cannot be used as they are (a CA file that does not
    /// load): the message names the attribute and the fix.
    #[error("{0}")]
    Settings(String),
}

impl AzureError {
    /// The ARM error inside, if any (for code and request id).
    pub fn arm(&self) -> Option<&ArmError> {
        match self {
            AzureError::Arm(e) | AzureError::OperationFailed { error: e, .. } => Some(e.as_ref()),
            _ => None,
        }
    }

    /// Whether a later attempt may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            AzureError::Arm(e) => e.retryable(),
            AzureError::Transport(_) | AzureError::Timeout { .. } => true,
            _ => false,
        }
    }
}

impl From<AzureError> for PlatformError {
    /// Azure's failure as the engine sees it: ARM's code and request id kept
    /// (a Failure), the network as Unreachable.
    fn from(e: AzureError) -> PlatformError {
        let retryable = e.retryable();
        let failure = |code: &str, message: String| {
            PlatformError::Refused(Failure {
                code: code.to_string(),
                message,
                request_id: None,
                correlation_id: None,
                retryable,
            })
        };
        match e {
            AzureError::Arm(error) => PlatformError::Refused(Failure {
                message: format!(
                    "Azure Resource Manager {} {}: {} {}",
                    error.method, error.path, error.status, error.message
                ),
                code: error.code,
                request_id: error.request_id,
                correlation_id: error.correlation_id,
                retryable,
            }),
            // ARM accepted the write; its operation failed afterwards (the
            // status of the answer that said so is not the write's).
            AzureError::OperationFailed { status, error } => PlatformError::Refused(Failure {
                message: format!(
                    "Azure Resource Manager {} {}: the operation ended {status}: {}",
                    error.method, error.path, error.message
                ),
                code: error.code,
                request_id: error.request_id,
                correlation_id: error.correlation_id,
                retryable,
            }),
            AzureError::Transport(_) => PlatformError::Unreachable(e.to_string()),
            AzureError::Auth(message) => failure("authentication_failed", message),
            AzureError::Decode { .. } => failure("unexpected_answer", e.to_string()),
            AzureError::Timeout { .. } => failure("timeout", e.to_string()),
            AzureError::Cancelled(_) => failure("cancelled", e.to_string()),
            AzureError::Settings(message) => failure("invalid_settings", message),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    details: Vec<ErrorBody>,
}

/// `(code, message)` of an ARM error body: `{"error":{"code","message","details"}}`,
/// or the bare `{"code","message"}` some providers send. Details are appended
/// to the message, since the top-level one is often only "see details".
pub fn parse_error_body(body: &[u8]) -> Option<(String, String)> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let (code, message, details) = match envelope.error {
        Some(e) => (e.code, e.message, e.details),
        None => (envelope.code, envelope.message, Vec::new()),
    };
    let code = code?;
    let mut message = message.unwrap_or_default();
    for d in details {
        if let (Some(c), Some(m)) = (d.code, d.message) {
            message.push_str(&format!(" [{c}: {m}]"));
        }
    }
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_both_shapes_and_details() {
        assert_eq!(
            parse_error_body(br#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#),
            Some(("ResourceNotFound".into(), "gone".into()))
        );
        assert_eq!(
            parse_error_body(br#"{"code":"BadRequest","message":"m"}"#),
            Some(("BadRequest".into(), "m".into()))
        );
        assert_eq!(
            parse_error_body(
                br#"{"error":{"code":"InvalidTemplate","message":"see details","details":[{"code":"X","message":"y"}]}}"#
            ),
            Some(("InvalidTemplate".into(), "see details [X: y]".into()))
        );
        assert_eq!(parse_error_body(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn a_failed_operation_reaches_the_user_with_code_and_both_ids() {
        let e = AzureError::OperationFailed {
            status: "Failed".into(),
            error: Box::new(ArmError {
                method: "PATCH".into(),
                path: "/subscriptions/s/containerApps/orders".into(),
                status: 200,
                code: "ContainerAppOperationError".into(),
                message: "Failed to provision revision".into(),
                request_id: Some("rid-1".into()),
                correlation_id: Some("cid-2".into()),
            }),
        };
        let shown = PlatformError::from(e).to_string();
        for needle in [
            "PATCH /subscriptions/s/containerApps/orders",
            "the operation ended Failed: Failed to provision revision",
            "ContainerAppOperationError",
            "request id rid-1",
            "correlation id cid-2",
        ] {
            assert!(shown.contains(needle), "{needle} missing from {shown}");
        }
    }

    #[test]
    fn display_carries_code_and_both_ids() {
        let e = AzureError::Arm(Box::new(ArmError {
            method: "PATCH".into(),
            path: "/subscriptions/s/x".into(),
            status: 409,
            code: "Conflict".into(),
            message: "busy".into(),
            request_id: Some("rid-1".into()),
            correlation_id: Some("cid-2".into()),
        }));
        let shown = e.to_string();
        for needle in ["PATCH", "409", "Conflict", "busy", "rid-1", "cid-2"] {
            assert!(shown.contains(needle), "{needle} missing from {shown}");
        }
        assert!(!e.retryable());
    }
}
