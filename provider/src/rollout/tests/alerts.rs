//! What the engine tells the alerts: an error rate between the warning and
//! the rollback thresholds warns once and keeps the release; the events a
//! release sends carry its colours, versions and the watch's figures.

use super::*;
use crate::notify::{sink, EventKind, Notifier, ReleaseContext, Sink};

fn failing_green() -> Script {
    script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                errors_after: Some(Duration::ZERO),
                ..Traffic::default()
            },
        );
    })
}

fn sink_for(version: &str) -> Sink {
    Sink::new(
        Notifier::default(),
        ReleaseContext {
            environment: ENV.into(),
            to_version: version.into(),
            ..ReleaseContext::default()
        },
    )
}

#[tokio::test]
async fn an_error_rate_between_the_thresholds_warns_and_keeps_the_release() {
    // Green answers 50% errors: above warn_error_rate, below a 90% max_error_rate.
    let fake = live_blue(failing_green()).await;
    let spec = ReleaseSpec {
        post_switch: PostSwitch {
            max_error_rate: 0.9,
            min_requests: 0,
            ..rules()
        },
        ..spec("1.3.0")
    };
    let alerts = sink_for("1.3.0");
    let report = sink::scope(alerts.clone(), release(&fake, &spec))
        .await
        .expect("a warning is not a rollback");
    assert_eq!(report.outcome, Outcome::Released);
    assert_eq!(fake.routes(), vec![switch_to(Color::Green)], "no rollback");
    let warnings: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "once per release: {:?}", report.steps);
    assert!(
        warnings[0].contains("1.3.0 (shop) on green: error rate 50.00%")
            && warnings[0]
                .contains("above warn_error_rate 0.50% (rollback above max_error_rate 90.00%)"),
        "{warnings:?}"
    );
    let diags = alerts
        .finish(Some((EventKind::Succeeded, &report.message)))
        .await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(!diags[0].is_error());
    assert_eq!(
        diags[0].summary,
        "Release of 1.3.0 to shop: error rate above the warning threshold"
    );
    assert!(
        diags[0].detail.contains("error rate 50.00%"),
        "{}",
        diags[0].detail
    );
}

#[tokio::test]
async fn a_breach_is_a_rollback_not_a_warning() {
    let fake = live_blue(failing_green()).await;
    let alerts = sink_for("1.3.0");
    let err = sink::scope(alerts.clone(), release(&fake, &spec("1.3.0")))
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), Outcome::RolledBack, "{err}");
    assert!(alerts.finish(None).await.is_empty());
}

#[tokio::test]
async fn the_events_carry_the_colours_versions_and_figures() {
    let fake = live_blue(failing_green()).await;
    let alerts = sink_for("1.3.0");
    let err = sink::scope(alerts.clone(), release(&fake, &spec("1.3.0")))
        .await
        .unwrap_err();
    let event = alerts
        .context()
        .event(EventKind::RolledBack, &err.to_string());
    assert_eq!(event.from_color.as_deref(), Some("blue"));
    assert_eq!(event.from_version.as_deref(), Some("1.2.0"));
    assert_eq!(event.to_color.as_deref(), Some("green"));
    let figures = event.figures.expect("the watch's figures");
    assert!(
        figures.requests > 0 && figures.error_rate > 0.01,
        "{figures:?}"
    );
}

#[tokio::test]
async fn a_failed_candidate_alerts_with_the_candidates_version() {
    // The resource's `version` is 1.2.0 (live on blue); its candidate_version
    // 1.4.0 fails green's health gate.
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.health.insert(c, Health::Failing(503));
    }))
    .await;
    let alerts = sink_for("1.2.0");
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = sink::scope(
        alerts.clone(),
        engine(&fake, &lease, &stop).prepare_candidate(&spec("1.4.0")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{err}");
    let event = alerts.context().event(EventKind::Failed, &err.to_string());
    assert_eq!(event.to_version, "1.4.0");
    assert_eq!(event.release, "bluegreen/shop/1.4.0", "its own dedup key");
    assert_eq!(
        event.summary,
        "shop: release of 1.4.0 failed, 1.2.0 on blue keeps serving"
    );
    assert_eq!(event.to_color.as_deref(), Some("green"));
    // The progress the daemon shows names the candidate too.
    let reported: Vec<_> = fake.progress().into_iter().map(|e| e.version).collect();
    assert!(
        !reported.is_empty() && reported.iter().all(|v| v == "1.4.0"),
        "{reported:?}"
    );
}
