//! Bearer-token authentication of the admin API.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::daemon::{Daemon, Refusal};
use crate::state::token::tokens_equal;

/// The token presented in `Authorization: Bearer …`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The client's address, when the server was started with connect info.
pub fn peer(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// Rejects requests without the right bearer token, auditing the refusal.
pub async fn require_token(State(daemon): State<Daemon>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(t) if tokens_equal(t, daemon.token()) => next.run(req).await,
        presented => {
            let reason = if presented.is_some() {
                "wrong"
            } else {
                "missing"
            };
            daemon.audit_refused(&Refusal {
                peer: peer(req.extensions()),
                method: req.method().as_str(),
                path: req.uri().path(),
                reason,
            });
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!(
                    "{reason} bearer token: send `Authorization: Bearer <token>` with the token from {}",
                    crate::state::token::token_path(daemon.state_dir()).display()
                ),
            )
            .into_response()
        }
    }
}
