//! Changes run to completion even when the client goes away.
//!
//! The HTTP server drops a handler's future when its connection closes. A change
//! cut off there (a `terraform` killed with `kill -9` mid-switch) would be live in
//! memory but neither persisted nor audited; a change the daemon accepted must reach
//! `state.json` and the audit log whoever is still listening.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Middleware: runs every request that may change something in its own task.
pub async fn run_to_completion(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the request failed: {e}"),
        )
        .into_response(),
    }
}
