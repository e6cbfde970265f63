//! The application's own health per colour: the daemon asks each running colour for the
//! environment's `health_path` and keeps the last answer (status word, HTTP status, each
//! of its `checks`), which the status API, the page and `bluegreen-local status` show.
//!
//! One small task per environment, bounded: a colour is asked at most every
//! [`RECHECK`] (and at once when its process changes), each request has [`TIMEOUT`]
//! and reads at most [`MAX_BODY`]; nothing is asked without a path. The task ends with
//! its environment.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;

use crate::api::{AppHealth, Color, HealthCheckResult, ProcessStatus};
use crate::time::{now_ms, rfc3339};

use super::Env;

/// How often a running colour is asked.
pub const RECHECK: Duration = Duration::from_secs(5);
/// How long one answer may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// The largest body read.
pub const MAX_BODY: usize = 64 * 1024;
/// How often the task looks for a colour due (a new process is asked within this).
const TICK: Duration = Duration::from_millis(500);

/// The last answer of one colour's process.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The process asked: an answer of an earlier process is not shown.
    pub pid: u32,
    /// When.
    pub at: Instant,
    /// What it said.
    pub health: AppHealth,
}

/// Last answers, blue then green.
pub type HealthSlots = Mutex<[Option<Probed>; 2]>;

/// Starts the environment's health task.
pub fn watch(env: &Arc<Env>) {
    let weak = Arc::downgrade(env);
    tokio::spawn(async move { run(weak).await });
}

async fn run(env: Weak<Env>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(env) = env.upgrade() else { return };
        for color in Color::ALL {
            let Some((pid, port, path)) = due(&env, color) else {
                continue;
            };
            let health = ask(port, &path).await;
            env.health_slots()[color.index()] = Some(Probed {
                pid,
                at: Instant::now(),
                health,
            });
        }
    }
}

/// The process, port and path to ask now, if any: a running colour of an environment
/// with a health path, never asked or last asked [`RECHECK`] ago or as another process.
fn due(env: &Env, color: Color) -> Option<(u32, u16, String)> {
    let (pid, port, path) = {
        let data = env.data();
        let path = data.spec.health_path.clone()?;
        let sup = data.colors[color.index()].supervisor.as_ref()?;
        let state = sup.snapshot();
        if state.status != ProcessStatus::Running {
            return None;
        }
        (state.pid?, sup.launch().port, path)
    };
    let slots = env.health_slots();
    match &slots[color.index()] {
        Some(p) if p.pid == pid && p.at.elapsed() < RECHECK => None,
        _ => Some((pid, port, path)),
    }
}

/// Asks `http://127.0.0.1:{port}{path}` once, within [`TIMEOUT`].
pub async fn ask(port: u16, path: &str) -> AppHealth {
    let checked_at = rfc3339(now_ms());
    match tokio::time::timeout(TIMEOUT, fetch(port, path)).await {
        Ok(Ok((status, body))) => judge(checked_at, status, &body),
        Ok(Err(error)) => failed(checked_at, error),
        Err(_) => failed(
            checked_at,
            format!("no answer within {} ms", TIMEOUT.as_millis()),
        ),
    }
}

fn failed(checked_at: String, error: String) -> AppHealth {
    AppHealth {
        checked_at,
        http_status: None,
        status: None,
        checks: Vec::new(),
        error: Some(error),
        ok: false,
    }
}

async fn fetch(port: u16, path: &str) -> Result<(u16, Bytes), String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    // The connection lives as long as this request (the timeout drops both).
    let conn = tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
        .header(hyper::header::USER_AGENT, "bluegreen-local health")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let result = async {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("body larger than {} KiB", MAX_BODY / 1024)
                } else {
                    format!("body: {e}")
                }
            })?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    conn.abort();
    result
}

/// Reads an answer in the release process's shape; a body that is not JSON says
/// nothing beyond its HTTP status.
pub fn judge(checked_at: String, http_status: u16, body: &[u8]) -> AppHealth {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let status = json
        .as_ref()
        .and_then(|j| j.get("status"))
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    let checks: Vec<HealthCheckResult> = json
        .as_ref()
        .and_then(|j| j.get("checks"))
        .and_then(|c| c.as_object())
        .into_iter()
        .flatten()
        .map(|(name, value)| check(name, value))
        .collect();
    let status_ok = status
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case("healthy") || s.eq_ignore_ascii_case("ok"));
    AppHealth {
        checked_at,
        http_status: Some(http_status),
        ok: (200..300).contains(&http_status) && status_ok && checks.iter().all(|c| c.ok),
        status,
        checks,
        error: None,
    }
}

/// One `checks` entry: a string ("ok (23/23 connected)"), an object with a `status`,
/// or a boolean; other shapes are shown as written and, as the gate does, pass.
fn check(name: &str, value: &serde_json::Value) -> HealthCheckResult {
    let (status, ok) = match value {
        serde_json::Value::String(s) => (s.clone(), passes(s)),
        serde_json::Value::Object(o) => match o.get("status").and_then(|s| s.as_str()) {
            Some(s) => (s.to_owned(), passes(s)),
            None => (value.to_string(), true),
        },
        serde_json::Value::Bool(b) => (b.to_string(), *b),
        other => (other.to_string(), true),
    };
    HealthCheckResult {
        name: name.to_owned(),
        status,
        ok,
    }
}

fn passes(text: &str) -> bool {
    text.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("ok"))
        || text.eq_ignore_ascii_case("healthy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seeds_shape_and_flags_what_fails() {
        let body = br#"{"status":"degraded","checks":{"database":"failed: connection refused",
            "cache":{"status":"ok"},"equipment":"ok (23/23 connected)","disk":false}}"#;
        let h = judge("t".into(), 200, body);
        assert!(!h.ok);
        assert_eq!(h.status.as_deref(), Some("degraded"));
        let seen: Vec<(&str, &str, bool)> = h
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.status.as_str(), c.ok))
            .collect();
        assert_eq!(
            seen,
            [
                ("database", "failed: connection refused", false),
                ("cache", "ok", true),
                ("equipment", "ok (23/23 connected)", true),
                ("disk", "false", false),
            ]
        );
        let good = judge(
            "t".into(),
            200,
            br#"{"status":"healthy","checks":{"db":"ok"}}"#,
        );
        assert!(good.ok);
        assert!(!judge("t".into(), 503, br#"{"status":"healthy"}"#).ok);
        let plain = judge("t".into(), 200, b"OK");
        assert!(plain.ok && plain.checks.is_empty() && plain.status.is_none());
    }

    /// A loopback server that answers every connection with `answer` (or, when None,
    /// reads and never answers).
    async fn server(answer: Option<Vec<u8>>) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    match answer {
                        Some(a) => {
                            let _ = s.write_all(&a).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(5)).await,
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn a_hanging_or_huge_answer_is_bounded() {
        let started = Instant::now();
        let hang = ask(server(None).await, "/health").await;
        assert_eq!(hang.error.as_deref(), Some("no answer within 1000 ms"));
        assert!(!hang.ok && started.elapsed() < Duration::from_secs(3));

        let mut huge = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        )
        .into_bytes();
        huge.resize(huge.len() + MAX_BODY + 1, b' ');
        let big = ask(server(Some(huge)).await, "/health").await;
        assert_eq!(big.error.as_deref(), Some("body larger than 64 KiB"));

        let body = r#"{"status":"ok","checks":{"db":"ok"}}"#;
        let fine = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let fine = ask(server(Some(fine.into_bytes())).await, "/health").await;
        assert!(fine.ok, "{fine:?}");
        assert_eq!(fine.checks.len(), 1);
    }
}
