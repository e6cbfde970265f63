//! A post-switch watch that saw fewer than `min_requests` requests is not a
//! silent pass: the release stays live (no rollback, no failure) and says it
//! was not judged, in its last watch step, its outcome, a `warning` alert and
//! a warning diagnostic with the fix.

use super::*;
use crate::notify::tests::{notification, Receiver};
use crate::notify::{sink, EventKind, Format, Notifier, ReleaseContext, Sink};

/// Green answers, but nobody sends it a request during the watch.
fn quiet_green() -> Script {
    script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                requests: 0,
                ..Traffic::default()
            },
        );
    })
}

#[tokio::test]
async fn a_watch_without_traffic_warns_and_keeps_the_release() {
    let fake = live_blue(quiet_green()).await;
    let receiver = Receiver::start(Some(200)).await;
    let alerts = Sink::new(
        Notifier::new(
            vec![notification(Format::Webhook, &receiver.url)],
            Http::new(),
        ),
        ReleaseContext {
            environment: ENV.into(),
            from_version: Some("1.2.0".into()),
            to_version: "1.3.0".into(),
            ..ReleaseContext::default()
        },
    );
    let report = sink::scope(alerts.clone(), release(&fake, &spec("1.3.0")))
        .await
        .expect("too little traffic fails nothing");
    assert_eq!(report.outcome, Outcome::Released);
    assert_eq!(fake.routes(), vec![switch_to(Color::Green)], "no rollback");

    let seen = "the watch saw 0 requests on green in 500ms, fewer than min_requests = 20";
    let watch_end = report
        .steps
        .iter()
        .rfind(|s| s.starts_with("watch "))
        .expect("the watch's last step");
    assert_eq!(
        watch_end,
        &format!("watch ended: {seen}; 1.3.0 was not judged by its traffic (no rollback, no pass)")
    );
    assert!(
        !report.steps.iter().any(|s| s.contains("watch passed")),
        "{:?}",
        report.steps
    );
    assert!(
        report
            .message
            .ends_with(&format!("; not judged by its traffic: {seen}")),
        "{}",
        report.message
    );
    // The daemon's record ends with it too.
    let last = fake.progress().pop().expect("the outcome was reported");
    assert_eq!(last.reason.as_deref(), Some(report.message.as_str()));

    let diags = alerts
        .finish(Some((EventKind::Succeeded, &report.message)))
        .await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(!diags[0].is_error());
    assert_eq!(
        diags[0].summary,
        "Release of 1.3.0 to shop: not judged by its traffic"
    );
    assert!(
        diags[0].detail.starts_with(&format!("post_switch: {seen}; 1.3.0 was not judged by its traffic. It stays live"))
            && diags[0].detail.contains("send traffic during the watch, lengthen post_switch.window, or lower post_switch.min_requests"),
        "{}",
        diags[0].detail
    );
    let bodies = receiver.bodies();
    let warning = bodies
        .iter()
        .map(|(_, b)| b)
        .find(|b| b["event"] == "warning")
        .unwrap_or_else(|| panic!("a warning alert among {bodies:?}"));
    assert_eq!(warning["severity"], "warning");
    assert_eq!(
        warning["summary"],
        "shop: 1.3.0 is live but was not judged: 0 requests in the 500ms watch (min_requests 20)"
    );
    assert_eq!(warning["reason"], diags[0].detail.as_str());
    assert_eq!(warning["figures"]["requests"], 0);
}

#[tokio::test]
async fn a_watch_with_enough_traffic_passes_without_a_warning() {
    let fake = live_blue(Script::default()).await;
    let alerts = Sink::new(
        Notifier::default(),
        ReleaseContext {
            environment: ENV.into(),
            to_version: "1.3.0".into(),
            ..ReleaseContext::default()
        },
    );
    let report = sink::scope(alerts.clone(), release(&fake, &spec("1.3.0")))
        .await
        .unwrap();
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.starts_with("watch passed after 500ms: error rate 0.00%")),
        "{:?}",
        report.steps
    );
    assert!(!report.message.contains("not judged"), "{}", report.message);
    assert!(alerts.finish(None).await.is_empty());
}
