//! The admin API: JSON over HTTP, bearer-token protected (except `/v1/health`).

mod auth;
mod completion;
mod connections;
mod error;
mod exposure;
mod handlers;
mod limits;
mod origin;

use std::future::Future;

use axum::extract::State;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use exposure::plain_http_warning;
pub use limits::{raise_descriptor_limit, AdminLimits};

use crate::daemon::Daemon;

/// The admin router; the page's event streams end when `closing` turns true.
pub fn router(daemon: Daemon, closing: tokio::sync::watch::Receiver<bool>) -> Router {
    use handlers::*;
    let protected = Router::new()
        .route("/v1/environments", get(list_environments))
        .route(
            "/v1/environments/{env}",
            get(get_environment)
                .put(put_environment)
                .delete(delete_environment),
        )
        .route("/v1/environments/{env}/colors/{color}/deploy", post(deploy))
        .route("/v1/environments/{env}/colors/{color}/stop", post(stop))
        .route(
            "/v1/environments/{env}/routing",
            get(get_routing).put(put_routing),
        )
        .route("/v1/environments/{env}/metrics", get(metrics))
        .route(
            "/v1/environments/{env}/releases",
            get(get_releases).post(report_release),
        )
        .route(
            "/v1/environments/{env}/lock",
            get(get_lock)
                .post(acquire_lock)
                .put(renew_lock)
                .delete(release_lock),
        )
        .route("/v1/environments/{env}/lock/break", post(break_lock))
        .route("/v1/audit", get(read_audit).post(write_audit))
        .route("/v1/daemon/stop", post(stop_daemon))
        .route_layer(middleware::from_fn(completion::run_to_completion))
        // After the token check: no token is 401 (and audited) whatever the origin.
        .route_layer(middleware::from_fn(origin::same_origin_writes))
        .route_layer(middleware::from_fn_with_state(
            daemon.clone(),
            auth::require_token,
        ));
    let streams = crate::page::Streams::new(closing);
    // The page and its stream are read-only and need no token (issue 16); the switch
    // they offer goes through the protected routing API.
    let page = Router::new()
        .route("/", get(crate::page::page))
        .route("/page.css", get(crate::page::css))
        .route("/page.js", get(crate::page::js))
        .route(
            "/events",
            get(move |State(d): State<Daemon>| crate::page::events(d, streams.clone())),
        )
        .route_layer(middleware::from_fn(origin::page_by_address));
    Router::new()
        .route("/v1/health", get(health))
        .merge(page)
        .merge(protected)
        .fallback(not_found)
        .with_state(daemon)
}

/// Serves the admin API on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    daemon: Daemon,
    listener: TcpListener,
    limits: AdminLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = closing_tx.send(true);
    };
    connections::serve(router(daemon, closing), listener, limits, shutdown).await
}
