//! The live page at `GET /`: one card per environment (routing, the running or last
//! release, per-colour figures and a 15-minute chart, recent releases) and the audit log.
//! Server-rendered, so it reads without JavaScript; `GET /events` streams the re-rendered
//! cards (server-sent events) and the page's small script swaps them in, and offers the
//! emergency switch once an admin token is entered. Read-only without the token.

mod assets;
mod chart;
mod events;
mod render;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

pub use assets::{css, js};
pub use events::{events, Streams, MAX_STREAMS};
pub use render::{render_live, render_page};

use crate::api::{AuditEntry, Color, EnvironmentStatus, MetricsQuery, MetricsSummary, Release};
use crate::daemon::Daemon;
use crate::time::now_ms;

/// The figures' window: the last minute.
const FIGURES_WINDOW_MS: u64 = 60_000;
/// The chart: 30 windows of 30 s, the last 15 minutes (the front door keeps ~17), the
/// last one open.
pub const CHART_WIDTH_S: u64 = 30;
/// Windows in the chart.
pub const CHART_POINTS: usize = 30;
/// Audit entries shown.
const AUDIT_SHOWN: usize = 15;
/// Releases in a card's timeline.
const TIMELINE: usize = 5;

/// One colour's figures on a card.
#[derive(Debug, Clone)]
pub struct ColorView {
    /// The colour.
    pub color: Color,
    /// The last minute.
    pub last_minute: MetricsSummary,
    /// Requests per second in each [`CHART_WIDTH_S`] window of the last 15 minutes,
    /// oldest first (the last window is open: its rate so far).
    pub series: Vec<f64>,
    /// The p95 latency (ms) of each of those windows; None without requests.
    pub p95_series: Vec<Option<f64>>,
}

/// One environment's card.
#[derive(Debug, Clone)]
pub struct EnvView {
    /// Status as the API answers it.
    pub status: EnvironmentStatus,
    /// The last releases, newest first (at most [`TIMELINE`]).
    pub releases: Vec<Release>,
    /// Blue, then green.
    pub colors: Vec<ColorView>,
}

/// Everything the page shows at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When (RFC 3339).
    pub at: String,
    /// The environments.
    pub envs: Vec<EnvView>,
    /// The newest audit entries, newest first.
    pub audit: Vec<AuditEntry>,
}

/// Reads what the page shows from the daemon's memory (no file is read: the audit
/// entries come from the log's in-memory tail).
pub fn snapshot(d: &Daemon) -> Snapshot {
    let now = now_ms();
    let envs = d
        .list()
        .into_iter()
        .map(|status| {
            let mut releases = d.releases(&status.name).unwrap_or_default();
            releases.truncate(TIMELINE);
            let colors = Color::ALL
                .into_iter()
                .filter_map(|color| {
                    let q = MetricsQuery {
                        color,
                        since: Some(now.saturating_sub(FIGURES_WINDOW_MS)),
                        until: Some(now),
                    };
                    let chart = d
                        .chart_series(&status.name, color, CHART_WIDTH_S, CHART_POINTS)
                        .ok()?;
                    Some(ColorView {
                        color,
                        last_minute: d.metrics(&status.name, q).ok()?,
                        series: chart.iter().map(|p| p.per_second()).collect(),
                        p95_series: chart.iter().map(|p| p.p95_ms).collect(),
                    })
                })
                .collect();
            EnvView {
                status,
                releases,
                colors,
            }
        })
        .collect();
    let mut audit = d.recent_audit(AUDIT_SHOWN);
    audit.reverse();
    Snapshot {
        at: crate::time::rfc3339(now),
        envs,
        audit,
    }
}

/// `GET /`: the page, a full snapshot.
pub async fn page(axum::extract::State(d): axum::extract::State<Daemon>) -> Response {
    let mut resp = Html(render_page(&snapshot(&d))).into_response();
    // The page carries no secret, but it is the daemon's own: no framing elsewhere
    // (clickjacking of the switch button), no inline script.
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
