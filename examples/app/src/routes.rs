//! HTTP routes: health in the seed's shape, a small order API, and the fault layer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::clock::now_rfc3339;
use crate::config::Config;
use crate::faults::ErrorSpread;

/// Shared state of the running instance.
#[derive(Debug)]
pub struct App {
    /// The parsed flags.
    pub config: Config,
    /// Whether fault flags apply (see `--faulty-version`).
    pub faults: bool,
    /// Which non-health requests fail.
    pub errors: ErrorSpread,
}

impl App {
    /// Builds the state from validated flags.
    pub fn new(config: Config) -> Self {
        let faults = config.faults_enabled();
        let rate = if faults { config.error_rate } else { 0.0 };
        Self {
            config,
            faults,
            errors: ErrorSpread::new(rate),
        }
    }

    fn reported_version(&self) -> &str {
        match (&self.config.report_version, self.faults) {
            (Some(v), true) => v,
            _ => &self.config.version,
        }
    }
}

/// The application's router with the fault layer applied.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/health", get(health))
        .route("/api/version", get(version))
        .route("/api/client", get(client))
        .route("/api/orders", get(list_orders))
        .route("/api/orders/{id}", get(get_order))
        .route("/ws", get(crate::websocket::websocket))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), fault_layer))
        .with_state(app)
}

async fn fault_layer(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if app.faults && app.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(app.config.latency_ms)).await;
    }
    // Health is exempt from the error rate: gates test it separately via --unhealthy.
    let mut resp = if path != "/api/health" && app.errors.next_fails() {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "injected failure", "version": app.config.version})),
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&app.config.version) {
        headers.insert("x-app-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&app.config.color) {
        headers.insert("x-app-color", v);
    }
    if app.config.access_log {
        println!(
            "{} {method} {path} {} {}ms",
            now_rfc3339(),
            resp.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    resp
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let (status, word, db) = if app.faults && app.config.unhealthy {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy", "failing")
    } else if app.faults && app.config.degraded {
        (StatusCode::OK, "degraded", "failed: connection refused")
    } else {
        (StatusCode::OK, "healthy", "ok")
    };
    let body = json!({
        "status": word,
        "environment": app.config.color,
        "version": app.reported_version(),
        "timestamp": now_rfc3339(),
        "checks": {
            "database": db,
            "cache": "ok",
            "storage": "ok",
            "equipment": "ok (23/23 connected)",
        },
    });
    (status, Json(body)).into_response()
}

async fn version(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({
        "version": app.reported_version(),
        "color": app.config.color,
    }))
}

/// Who the request came from, as the proxy in front says: its `X-Forwarded-*` headers
/// (several lines of one read as one list).
async fn client(headers: HeaderMap) -> Json<Value> {
    let list = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Json(json!({
        "forwarded_for": list("x-forwarded-for"),
        "forwarded_proto": list("x-forwarded-proto"),
        "forwarded_host": list("x-forwarded-host"),
    }))
}

fn orders() -> Vec<Value> {
    vec![
        json!({"id": 1001, "customer": "acme-print", "status": "printing", "quantity": 500}),
        json!({"id": 1002, "customer": "globex-labels", "status": "queued", "quantity": 1200}),
        json!({"id": 1003, "customer": "initech-packaging", "status": "shipped", "quantity": 75}),
    ]
}

async fn list_orders(State(app): State<Arc<App>>) -> Json<Value> {
    Json(
        json!({"orders": orders(), "served_by": {"version": app.config.version, "color": app.config.color}}),
    )
}

async fn get_order(Path(id): Path<u64>) -> Response {
    match orders().into_iter().find(|o| o["id"] == id) {
        Some(order) => Json(order).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("order {id} not found")})),
        )
            .into_response(),
    }
}

async fn index(State(app): State<Arc<App>>) -> Html<String> {
    Html(format!(
        "<!doctype html><title>AGOG demo</title><h1>AGOG demo app</h1>\
         <p>version <b>{}</b> on <b>{}</b></p>\
         <p><a href=\"/api/health\">/api/health</a> · <a href=\"/api/orders\">/api/orders</a></p>",
        html_escape(&app.config.version),
        html_escape(&app.config.color)
    ))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
