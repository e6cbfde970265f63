//! A closed-loop HTTP load generator: N connections, each sending the next
//! request when the previous one answered. It counts what a user would see:
//! answers, failures, and which version answered, in order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

/// What the load saw.
#[derive(Debug, Default, Clone, Serialize)]
pub struct LoadSummary {
    /// Requests sent.
    pub sent: u64,
    /// Answered with 2xx.
    pub ok: u64,
    /// Answered with another status, or not answered.
    pub failed: u64,
    /// Failures by kind (`HTTP 500`, `connection refused`, ...).
    pub failures: BTreeMap<String, u64>,
    /// Successful answers by the `version` they reported.
    pub versions: BTreeMap<String, u64>,
    /// The version of the last successful answer.
    pub last_version: Option<String>,
    /// Answers from an older version to requests sent after the newest one first answered.
    pub old_after_new: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// p50 / p99 latency of successful answers, ms.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

#[derive(Default)]
struct Tally {
    summary: LoadSummary,
    /// Successful answers in completion order: (sent at, answered at, version), µs since start.
    order: Vec<(u64, u64, String)>,
    latencies_us: Vec<u64>,
}

/// Runs until `stop` is set or `duration` passes, whichever is first; at most `max_requests`.
pub async fn run(
    url: &str,
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<LoadSummary> {
    let uri: hyper::Uri = url.parse()?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build(connector);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, uri, tally, stop, sent) = (
            client.clone(),
            uri.clone(),
            tally.clone(),
            stop.clone(),
            sent.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed)
                && started.elapsed() < duration
                && sent.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let t0 = Instant::now();
                let outcome = tokio::time::timeout(Duration::from_secs(10), async {
                    let resp = client
                        .get(uri.clone())
                        .await
                        .map_err(|e| classify(&e.to_string()))?;
                    let status = resp.status().as_u16();
                    let body = resp
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| classify(&e.to_string()))?
                        .to_bytes();
                    Ok::<_, String>((status, body))
                })
                .await
                .unwrap_or_else(|_| Err("timeout".into()));
                let elapsed = t0.elapsed().as_micros() as u64;
                let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
                t.summary.sent += 1;
                match outcome {
                    Ok((status, body)) if (200..300).contains(&status) => {
                        t.summary.ok += 1;
                        t.latencies_us.push(elapsed);
                        let version = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| {
                                v.get("version")
                                    .and_then(|v| v.as_str().map(str::to_string))
                            })
                            .unwrap_or_else(|| "unknown".into());
                        *t.summary.versions.entry(version.clone()).or_default() += 1;
                        let sent_at = t0.duration_since(started).as_micros() as u64;
                        t.order.push((sent_at, sent_at + elapsed, version));
                    }
                    Ok((status, _)) => {
                        t.summary.failed += 1;
                        *t.summary
                            .failures
                            .entry(format!("HTTP {status}"))
                            .or_default() += 1;
                    }
                    Err(kind) => {
                        t.summary.failed += 1;
                        *t.summary.failures.entry(kind).or_default() += 1;
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    t.summary.seconds = started.elapsed().as_secs_f64();
    t.summary.last_version = t.order.last().map(|(_, _, v)| v.clone());
    if let Some(newest) = t.summary.last_version.clone() {
        // Once the newest version has answered, a request *sent* afterwards
        // that an older version answers means traffic went back; requests
        // already in flight at the switch legitimately finish on the old one.
        let first_new = t
            .order
            .iter()
            .filter(|(_, _, v)| *v == newest)
            .map(|(_, done, _)| *done)
            .min();
        if let Some(first_new) = first_new {
            t.summary.old_after_new = t
                .order
                .iter()
                .filter(|(sent, _, v)| *v != newest && *sent > first_new)
                .count() as u64;
        }
    }
    t.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if t.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((t.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        t.latencies_us[i] as f64 / 1000.0
    };
    t.summary.p50_ms = pct(0.50);
    t.summary.p99_ms = pct(0.99);
    Ok(t.summary)
}

fn classify(e: &str) -> String {
    if e.contains("refused") {
        "connection refused".into()
    } else if e.contains("reset") {
        "connection reset".into()
    } else if e.contains("closed") || e.contains("IncompleteMessage") {
        "connection closed early".into()
    } else {
        e.chars().take(80).collect()
    }
}
