//! Alerts: each payload field by field against its service's documented
//! shape, the blocks' checks at their paths, and delivery on loopback
//! receivers (accepted, 500, hanging), bounded in time.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use tfplugin::model::{decode, Field};
use tfplugin::{Diagnostics, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::config::{self, NotificationModel, PAGERDUTY_EVENTS_URL};
use super::*;
use crate::http::Http;
use crate::platform::{Latency, LatencyStatistic, Metrics};

const TS: &str = "2026-12-03T02:00:00Z";

fn context() -> ReleaseContext {
    ReleaseContext {
        environment: "shop".into(),
        from_version: Some("1.2.0".into()),
        to_version: "1.3.0".into(),
        from_color: Some("blue".into()),
        to_color: Some("green".into()),
        figures: Some(Figures::from_metrics(
            &Metrics {
                requests: 1000,
                errors: 7,
                error_rate: 0.007,
                latency: Some(Latency {
                    ms: 12.0,
                    statistic: LatencyStatistic::P95,
                }),
            },
            Some(&Metrics {
                requests: 500,
                errors: 0,
                error_rate: 0.0,
                latency: Some(Latency {
                    ms: 10.0,
                    statistic: LatencyStatistic::P95,
                }),
            }),
        )),
    }
}

fn event(kind: EventKind) -> ReleaseEvent {
    context().event_at(
        kind,
        "post-switch watch: error rate 0.70% is above warn_error_rate 0.50%",
        TS.into(),
    )
}

pub(crate) fn notification(format: Format, url: &str) -> Notification {
    Notification {
        index: 0,
        format,
        url: url.into(),
        routing_key: (format == Format::PagerDuty).then(|| "R0UT1NGKEY".to_string()),
        events: EventKind::ALL.into_iter().collect(),
        min_severity: Severity::Info,
        timeout: Duration::from_secs(2),
    }
}

#[test]
fn events_carry_severity_versions_colours_figures_and_reason() {
    let e = event(EventKind::RolledBack);
    assert_eq!(e.severity, Severity::Critical);
    assert_eq!(EventKind::Started.severity(), Severity::Info);
    assert_eq!(EventKind::Switched.severity(), Severity::Info);
    assert_eq!(EventKind::Succeeded.severity(), Severity::Info);
    assert_eq!(EventKind::Warning.severity(), Severity::Warning);
    assert_eq!(EventKind::Failed.severity(), Severity::Critical);
    assert_eq!(
        e.summary,
        "shop: release of 1.3.0 rolled back, 1.2.0 on blue serves again"
    );
    assert_eq!(e.release, "bluegreen/shop/1.3.0");
    assert_eq!(
        event(EventKind::Warning).summary,
        "shop: 1.3.0 is live with error rate 0.70% (7 of 1000 requests), p95 12.0 ms (baseline 10.0 ms)"
    );
}

#[test]
fn webhook_is_the_event_as_json() {
    let body = payload::webhook(&event(EventKind::Warning));
    assert_eq!(
        body,
        json!({
            "event": "warning",
            "severity": "warning",
            "environment": "shop",
            "release": "bluegreen/shop/1.3.0",
            "from_version": "1.2.0",
            "to_version": "1.3.0",
            "from_color": "blue",
            "to_color": "green",
            "figures": {
                "requests": 1000,
                "errors": 7,
                "error_rate": 0.007,
                "latency_statistic": "p95",
                "latency_ms": 12.0,
                "baseline_latency_ms": 10.0
            },
            "summary": "shop: 1.3.0 is live with error rate 0.70% (7 of 1000 requests), p95 12.0 ms (baseline 10.0 ms)",
            "reason": "post-switch watch: error rate 0.70% is above warn_error_rate 0.50%",
            "timestamp": TS
        })
    );
}

#[test]
fn slack_is_an_incoming_webhook_message_with_blocks() {
    let body = payload::slack(&event(EventKind::RolledBack));
    assert_eq!(
        body["text"],
        ":rotating_light: shop: release of 1.3.0 rolled back, 1.2.0 on blue serves again"
    );
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[0]["text"]["text"],
        "shop: release of 1.3.0 rolled back, 1.2.0 on blue serves again"
    );
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[1]["text"]["text"],
        "post-switch watch: error rate 0.70% is above warn_error_rate 0.50%"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn");
            f["text"].as_str().expect("text")
        })
        .collect();
    assert_eq!(
        fields,
        [
            "*Environment*\nshop",
            "*Event*\nrolled_back",
            "*Severity*\ncritical",
            "*From*\n1.2.0 on blue",
            "*To*\n1.3.0 on green",
            "*Error rate*\n0.70% (7 of 1000 requests)",
            "*Latency*\np95 12.0 ms (baseline 10.0 ms)",
        ]
    );
    // Slack allows at most 10 fields in a section.
    assert!(fields.len() <= 10);
    assert_eq!(blocks[2]["type"], "context");
    assert_eq!(blocks[2]["elements"][0]["type"], "mrkdwn");
    assert_eq!(
        blocks[2]["elements"][0]["text"],
        format!("bluegreen · release `bluegreen/shop/1.3.0` · {TS}")
    );
}

#[test]
fn slack_header_is_cut_to_its_limit() {
    let mut e = event(EventKind::Failed);
    e.summary = "x".repeat(400);
    let body = payload::slack(&e);
    assert_eq!(
        body["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        150
    );
}

#[test]
fn teams_is_a_message_with_an_adaptive_card() {
    let body = payload::teams(&event(EventKind::Warning));
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(attachments[0]["contentUrl"], Json::Null);
    let card = &attachments[0]["content"];
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    let body = card["body"].as_array().expect("card body");
    assert_eq!(body[0]["type"], "TextBlock");
    assert_eq!(body[0]["text"], event(EventKind::Warning).summary);
    assert_eq!(body[0]["color"], "Warning");
    assert_eq!(body[0]["weight"], "Bolder");
    assert_eq!(body[1]["type"], "TextBlock");
    assert_eq!(
        body[1]["text"],
        "post-switch watch: error rate 0.70% is above warn_error_rate 0.50%"
    );
    assert_eq!(body[2]["type"], "FactSet");
    assert_eq!(
        body[2]["facts"][0],
        json!({"title": "Environment", "value": "shop"})
    );
    assert_eq!(
        body[2]["facts"][3],
        json!({"title": "From", "value": "1.2.0 on blue"})
    );
    assert_eq!(
        body[2]["facts"][4],
        json!({"title": "To", "value": "1.3.0 on green"})
    );
    assert_eq!(
        body[2]["facts"][5],
        json!({"title": "Error rate", "value": "0.70% (7 of 1000 requests)"})
    );
    assert_eq!(
        payload::teams(&event(EventKind::Failed))["attachments"][0]["content"]["body"][0]["color"],
        "Attention"
    );
}

#[test]
fn pagerduty_triggers_resolves_and_keeps_one_dedup_key_per_release() {
    let trigger =
        payload::pagerduty("R0UT1NGKEY", &event(EventKind::RolledBack)).expect("a trigger");
    assert_eq!(trigger["routing_key"], "R0UT1NGKEY");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "bluegreen/shop/1.3.0");
    let p = &trigger["payload"];
    assert_eq!(
        p["summary"],
        "shop: release of 1.3.0 rolled back, 1.2.0 on blue serves again"
    );
    assert_eq!(p["source"], "bluegreen/shop");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["timestamp"], TS);
    assert_eq!(p["component"], "shop");
    assert_eq!(p["group"], "bluegreen");
    assert_eq!(p["class"], "rolled_back");
    assert_eq!(p["custom_details"]["from"], "1.2.0 on blue");
    assert_eq!(p["custom_details"]["to"], "1.3.0 on green");
    assert_eq!(
        p["custom_details"]["error_rate"],
        "0.70% (7 of 1000 requests)"
    );
    assert_eq!(
        p["custom_details"]["latency"],
        "p95 12.0 ms (baseline 10.0 ms)"
    );
    assert_eq!(
        p["custom_details"]["reason"],
        "post-switch watch: error rate 0.70% is above warn_error_rate 0.50%"
    );
    let warning = payload::pagerduty("R0UT1NGKEY", &event(EventKind::Warning)).expect("a trigger");
    assert_eq!(warning["event_action"], "trigger");
    assert_eq!(warning["payload"]["severity"], "warning");
    assert_eq!(
        warning["dedup_key"], trigger["dedup_key"],
        "one incident per release"
    );
    let failed = payload::pagerduty("R0UT1NGKEY", &event(EventKind::Failed)).expect("a trigger");
    assert_eq!(failed["payload"]["severity"], "critical");

    let resolve =
        payload::pagerduty("R0UT1NGKEY", &event(EventKind::Succeeded)).expect("a resolve");
    assert_eq!(
        resolve,
        json!({
            "routing_key": "R0UT1NGKEY",
            "event_action": "resolve",
            "dedup_key": "bluegreen/shop/1.3.0",
            "client": "terraform-provider-bluegreen"
        })
    );
    // After a warning in the same release the incident stays open for a person.
    let mut after_warning = event(EventKind::Succeeded);
    after_warning.after_warning = true;
    assert!(payload::pagerduty("k", &after_warning).is_none());
    assert!(payload::pagerduty("k", &event(EventKind::Started)).is_none());
    assert!(payload::pagerduty("k", &event(EventKind::Switched)).is_none());
}

#[test]
fn min_severity_filters_but_pagerduty_still_resolves() {
    let mut n = notification(Format::Slack, "http://127.0.0.1:1/");
    n.min_severity = Severity::Warning;
    assert!(!n.wants(EventKind::Started));
    assert!(!n.wants(EventKind::Succeeded));
    assert!(n.wants(EventKind::Warning));
    assert!(n.wants(EventKind::RolledBack));
    n.format = Format::PagerDuty;
    n.min_severity = Severity::Critical;
    assert!(
        n.wants(EventKind::Succeeded),
        "the resolve closes the incident"
    );
    assert!(!n.wants(EventKind::Warning));
    // It got no warning, so a success after one still resolves there.
    let mut after_warning = event(EventKind::Succeeded);
    after_warning.after_warning = true;
    n.routing_key = Some("k".into());
    let body = payload::body(&n, &after_warning).expect("a resolve");
    assert_eq!(body["event_action"], "resolve");
    n.min_severity = Severity::Warning;
    assert!(payload::body(&n, &after_warning).is_none(), "left open");
    n.min_severity = Severity::Critical;
    n.events = BTreeSet::from([EventKind::Failed]);
    assert!(!n.wants(EventKind::Succeeded), "events still rules");
}

fn block(attrs: &[(&str, Value)]) -> Value {
    let mut all = vec![
        ("url", Value::Null),
        ("format", Value::Null),
        ("routing_key", Value::Null),
        ("events", Value::Null),
        ("min_severity", Value::Null),
        ("timeout", Value::Null),
    ];
    for (name, value) in attrs {
        all.retain(|(n, _)| n != name);
        all.push((name, value.clone()));
    }
    Value::object(all)
}

fn resolve(blocks: Vec<Value>) -> (Vec<Notification>, Diagnostics) {
    let model: Field<Vec<Field<NotificationModel>>> =
        decode(&Value::List(blocks)).expect("decodes");
    let mut diags = Diagnostics::new();
    let out = config::resolve(&model, &mut diags);
    (out, diags)
}

fn errors(diags: &Diagnostics) -> Vec<(String, String)> {
    diags
        .0
        .iter()
        .map(|d| {
            (
                d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                d.detail.clone(),
            )
        })
        .collect()
}

#[test]
fn blocks_resolve_with_their_defaults() {
    let (out, diags) = resolve(vec![
        block(&[
            ("format", "slack".into()),
            ("url", "https://hooks.slack.com/services/T/B/SECRET".into()),
        ]),
        block(&[
            ("format", "pagerduty".into()),
            ("routing_key", "R0UT1NGKEY".into()),
            ("min_severity", "warning".into()),
            ("timeout", "1500ms".into()),
        ]),
        block(&[
            ("format", "webhook".into()),
            ("url", "http://127.0.0.1:9/hook".into()),
            (
                "events",
                Value::Set(vec!["failed".into(), "rolled_back".into()]),
            ),
        ]),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].events.len(), 6, "all events by default");
    assert_eq!(out[0].min_severity, Severity::Info);
    assert_eq!(out[0].timeout, Duration::from_secs(5));
    assert_eq!(out[1].url, PAGERDUTY_EVENTS_URL);
    assert_eq!(out[1].index, 1);
    assert_eq!(out[1].min_severity, Severity::Warning);
    assert_eq!(out[1].timeout, Duration::from_millis(1500));
    assert_eq!(
        out[2].events,
        BTreeSet::from([EventKind::Failed, EventKind::RolledBack])
    );
    let shown = format!("{out:?}");
    assert!(
        !shown.contains("SECRET") && !shown.contains("R0UT1NGKEY"),
        "a secret in Debug: {shown}"
    );
    assert!(shown.contains("notification[1] (pagerduty)"), "{shown}");
}

#[test]
fn bad_blocks_name_the_attribute_and_the_fix_never_the_secret() {
    let (out, diags) = resolve(vec![
        block(&[("format", "pagerduty".into())]),
        block(&[("format", "slack".into())]),
        block(&[
            ("format", "email".into()),
            ("url", "https://x.example/".into()),
        ]),
        block(&[
            ("format", "teams".into()),
            ("url", "not a url SECRET".into()),
        ]),
        block(&[
            ("format", "webhook".into()),
            ("url", "https://x.example/".into()),
            ("routing_key", "R0UT1NGKEY".into()),
            ("events", Value::Set(vec!["deployed".into()])),
            ("min_severity", "urgent".into()),
            ("timeout", "5 minutes".into()),
        ]),
        block(&[
            ("format", "webhook".into()),
            ("url", "https://x.example/".into()),
            ("timeout", "2m".into()),
        ]),
    ]);
    assert!(out.is_empty(), "no block with a problem is used: {out:?}");
    let errors = errors(&diags);
    let at = |path: &str| -> &str {
        &errors
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("no diagnostic at {path}: {errors:?}"))
            .1
    };
    assert!(at("notification[0].routing_key").contains("Events API v2 integration"));
    assert!(at("notification[1].url").contains("Slack incoming-webhook URL"));
    assert!(
        at("notification[2].format").contains("\"slack\", \"teams\", \"pagerduty\" or \"webhook\"")
    );
    assert!(at("notification[3].url").contains("https://"));
    assert!(at("notification[4].routing_key").contains("remove routing_key"));
    assert!(at("notification[4].events").contains("\"deployed\" is not an event"));
    assert!(at("notification[4].min_severity").contains("\"urgent\""));
    assert!(at("notification[4].timeout").contains("\"5s\""));
    assert!(at("notification[5].timeout").contains("between 1ms and 60s"));
    let all = format!("{diags:?}");
    assert!(
        !all.contains("SECRET") && !all.contains("R0UT1NGKEY"),
        "a secret in a diagnostic: {all}"
    );
}

#[test]
fn unknown_values_are_not_judged_yet() {
    let (out, diags) = resolve(vec![block(&[
        ("format", "pagerduty".into()),
        ("routing_key", Value::Unknown),
    ])]);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(out.is_empty());
}

/// A loopback receiver: records each request body and answers `status`
/// (`None`: reads the request and never answers). Engine tests use it too.
pub(crate) struct Receiver {
    pub(crate) url: String,
    bodies: Arc<Mutex<Vec<(String, Json)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub(crate) async fn start(status: Option<u16>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://{}/hook/SECRET",
            listener.local_addr().expect("address")
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut tcp).await else {
                        return;
                    };
                    let content_type = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-type:")
                                .map(|v| v.trim().to_string())
                        })
                        .unwrap_or_default();
                    seen.lock().unwrap().push((
                        content_type,
                        serde_json::from_slice(&body).unwrap_or(Json::Null),
                    ));
                    let Some(status) = status else {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                    let _ = tcp.write_all(reply.as_bytes()).await;
                });
            }
        });
        Receiver { url, bodies, task }
    }

    pub(crate) fn bodies(&self) -> Vec<(String, Json)> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn read_request(tcp: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = tcp.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[end + 4..end + 4 + length].to_vec()));
        }
    }
}

#[tokio::test]
async fn an_accepted_alert_is_posted_as_json() {
    let r = Receiver::start(Some(200)).await;
    let notifier = Notifier::new(vec![notification(Format::Webhook, &r.url)], Http::new());
    let failed = notifier.send(&event(EventKind::Started)).await;
    assert!(failed.is_empty(), "{failed:?}");
    let bodies = r.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].0, "application/json");
    assert_eq!(bodies[0].1, payload::webhook(&event(EventKind::Started)));
}

#[tokio::test]
async fn a_500_is_retried_once_then_reported_without_the_url() {
    let r = Receiver::start(Some(500)).await;
    let notifier = Notifier::new(vec![notification(Format::Slack, &r.url)], Http::new());
    let failed = notifier.send(&event(EventKind::Failed)).await;
    assert_eq!(r.bodies().len(), 2, "one retry");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].notification, "notification[0] (slack)");
    assert_eq!(failed[0].event, "failed");
    assert_eq!(
        failed[0].problem,
        "answered HTTP 500 (ok), twice (2 attempts within timeout = 2s)"
    );
}

#[tokio::test]
async fn a_hanging_receiver_costs_at_most_its_timeout() {
    let r = Receiver::start(None).await;
    let mut n = notification(Format::Teams, &r.url);
    n.timeout = Duration::from_millis(600);
    let notifier = Notifier::new(vec![n], Http::new());
    let started = Instant::now();
    let failed = notifier.send(&event(EventKind::Succeeded)).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(600 + 300),
        "took {took:?} with timeout = 600ms"
    );
    assert_eq!(failed.len(), 1);
    let problem = &failed[0].problem;
    assert!(
        problem.starts_with("no response within")
            && problem.ends_with("(2 attempts within timeout = 600ms)"),
        "{problem}"
    );
    assert!(
        !failed[0].problem.contains("SECRET"),
        "{}",
        failed[0].problem
    );
}

#[tokio::test]
async fn the_sink_sends_in_order_and_warns_on_the_apply() {
    let ok = Receiver::start(Some(200)).await;
    let bad = Receiver::start(Some(503)).await;
    let mut second = notification(Format::PagerDuty, &bad.url);
    second.index = 1;
    let notifier = Notifier::new(
        vec![notification(Format::Webhook, &ok.url), second],
        Http::new(),
    );
    let alerts = Sink::new(
        notifier,
        ReleaseContext {
            environment: "shop".into(),
            from_version: Some("1.2.0".into()),
            to_version: "1.3.0".into(),
            ..ReleaseContext::default()
        },
    );
    sink::scope(alerts.clone(), async {
        sink::started(Some("blue".into()), Some("1.2.0".into()), "green".into());
        sink::switched("every request to shop now goes to green (1.3.0)");
        sink::figures(context().figures.unwrap());
        sink::warning("1.3.0 (shop) on green: error rate 0.70% is above warn_error_rate 0.50%");
        sink::warning("said once per release");
    })
    .await;
    let diags = alerts
        .finish(Some((EventKind::Succeeded, "1.3.0 is live on green")))
        .await;
    let mut kinds: Vec<String> = ok
        .bodies()
        .iter()
        .map(|(_, b)| b["event"].as_str().unwrap_or("?").to_string())
        .collect();
    // Sent concurrently: the order of arrival is not promised, the set is.
    kinds.sort();
    assert_eq!(kinds, ["started", "succeeded", "switched", "warning"]);
    let succeeded = ok
        .bodies()
        .into_iter()
        .find(|(_, b)| b["event"] == "succeeded")
        .unwrap()
        .1;
    assert_eq!(succeeded["from_color"], "blue");
    assert_eq!(succeeded["to_color"], "green");
    assert_eq!(succeeded["figures"]["errors"], 7);
    let details: Vec<String> = diags
        .iter()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    assert!(diags.iter().all(|d| !d.is_error()), "{details:?}");
    assert_eq!(
        details.len(),
        2,
        "one error-rate warning, one for the PagerDuty receiver: {details:?}"
    );
    assert!(
        details[0].contains("error rate above the warning threshold")
            && details[0].contains("0.70%"),
        "{details:?}"
    );
    let pagerduty = &details[1];
    assert!(
        // After the warning, the success sends PagerDuty no resolve: one alert.
        pagerduty.starts_with("Release alert not delivered to notification[1] (pagerduty): notification[1] (pagerduty) did not accept 1 alert of shop 1.3.0: warning: answered HTTP 503 (ok), twice")
            && !pagerduty.contains("succeeded")
            && !pagerduty.contains("SECRET"),
        "{details:?}"
    );
}

#[tokio::test]
async fn outside_a_scope_the_engine_reports_to_no_one() {
    sink::started(None, None, "blue".into());
    sink::warning("nobody listens");
}

#[tokio::test]
async fn an_https_receiver_is_reached_through_the_providers_trust() {
    // Slack, Teams and PagerDuty are https: the client verifies them like
    // the gates do (web PKI roots, plus the azure block's CA file).
    let server = crate::http::test_server::TlsServer::start("{}").await;
    let dir = tempfile::tempdir().unwrap();
    let trusted = Http::with_ca_file(&server.write_ca(dir.path())).unwrap();
    let url = format!("{}/services/T0/B0/SECRET", server.url);
    let notifier = Notifier::new(vec![notification(Format::Slack, &url)], trusted);
    let failed = notifier.send(&event(EventKind::Succeeded)).await;
    assert!(failed.is_empty(), "{failed:?}");

    let untrusted = Notifier::new(vec![notification(Format::Slack, &url)], Http::new());
    let failed = untrusted.send(&event(EventKind::Succeeded)).await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].problem.contains("certificate") && !failed[0].problem.contains("SECRET"),
        "{}",
        failed[0].problem
    );
}
