//! Mapping of daemon errors to HTTP answers with an [`ErrorBody`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::ErrorBody;
use crate::daemon::DaemonError;
use crate::frontdoor::FrontDoorError;
use crate::time::rfc3339;

/// An error answer of the admin API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: keeps `Result<_, ApiError>` small on the success path.
    body: Box<ErrorBody>,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: code.to_owned(),
                message: message.into(),
                locked_by: None,
                since: None,
                expires_at: None,
                expires_in_secs: None,
            }),
        }
    }

    /// 400 with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
}

impl From<DaemonError> for ApiError {
    fn from(e: DaemonError) -> Self {
        let message = e.to_string();
        match e {
            DaemonError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            DaemonError::Invalid(_) => Self::new(StatusCode::BAD_REQUEST, "invalid", message),
            DaemonError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", message),
            DaemonError::StaleRevision(_) => {
                Self::new(StatusCode::CONFLICT, "stale_revision", message)
            }
            DaemonError::Locked { lease, at_ms, .. } => {
                let mut err = Self::new(StatusCode::CONFLICT, "locked", message);
                err.body.locked_by = Some(lease.owner.clone());
                err.body.since = Some(rfc3339(lease.since_ms));
                err.body.expires_at = Some(rfc3339(lease.expires_ms));
                err.body.expires_in_secs = Some(lease.expires_in_secs(at_ms));
                err
            }
            DaemonError::Spawn(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "spawn_failed", message)
            }
            DaemonError::FrontDoor(FrontDoorError::BadAddress(_)) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid", message)
            }
            DaemonError::FrontDoor(FrontDoorError::Bind { .. }) => {
                Self::new(StatusCode::CONFLICT, "listen_failed", message)
            }
            DaemonError::Store(_) | DaemonError::Audit(_) | DaemonError::Internal(_) => {
                tracing::error!("{message}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(*self.body)).into_response()
    }
}
