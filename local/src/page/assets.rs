//! The page's stylesheet and script, compiled into the daemon: no build step, no CDN.

use axum::http::header;
use axum::response::IntoResponse;

/// `GET /page.css`.
pub async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/page.css"),
    )
}

/// `GET /page.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/page.js"),
    )
}
