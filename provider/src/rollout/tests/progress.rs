//! The progress a release reports to the platform as it goes: its phases in
//! order under one id, each step, the watch's figures once per poll, and how
//! it ended; a platform that hangs costs one timeout.

use super::*;
use crate::platform::{ReleaseEvent, ReleasePhase};

/// The phases in the order entered (repeats folded).
fn phases(events: &[ReleaseEvent]) -> Vec<ReleasePhase> {
    let mut out: Vec<ReleasePhase> = Vec::new();
    for e in events {
        if out.last() != Some(&e.phase) {
            out.push(e.phase);
        }
    }
    out
}

fn steps(events: &[ReleaseEvent]) -> Vec<(ReleasePhase, String)> {
    events
        .iter()
        .filter_map(|e| e.step.clone().map(|s| (e.phase, s)))
        .collect()
}

#[tokio::test]
async fn a_release_reports_each_phase_step_and_the_watchs_figures() {
    let fake = live_blue(Script::default()).await;
    let mut spec = spec("1.3.0");
    spec.smoke = vec![orders_smoke()];
    // Not the default: the page colours the rate against the release's own thresholds.
    spec.post_switch.warn_error_rate = 0.003;
    let report = release(&fake, &spec).await.unwrap();
    let events = fake.progress();
    assert_eq!(
        phases(&events),
        [
            ReleasePhase::Deploying,
            ReleasePhase::Validating,
            ReleasePhase::Switching,
            ReleasePhase::Watching,
            ReleasePhase::Done
        ]
    );
    assert!(
        events.iter().all(|e| e.release_id == report.id),
        "one id per attempt: the deployment id"
    );
    let first = &events[0];
    assert_eq!(
        (
            first.version.as_str(),
            first.color,
            first.previous_color,
            first.previous_version.as_deref()
        ),
        (
            "1.3.0",
            Some(Color::Green),
            Some(Color::Blue),
            Some("1.2.0")
        )
    );
    let steps = steps(&events);
    let smoke = steps
        .iter()
        .find(|(_, s)| s.starts_with("smoke test \"orders\""))
        .expect("the smoke test's result is reported");
    assert_eq!(smoke.0, ReleasePhase::Validating);
    assert!(smoke.1.contains("passed on green"), "{smoke:?}");
    assert_eq!(
        steps.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(),
        report.steps,
        "every step of the report, in order"
    );

    // The watch reports what each poll read, once per poll.
    let figures: Vec<_> = events.iter().filter_map(|e| e.figures).collect();
    assert!(!figures.is_empty(), "the watch reports its figures");
    assert!(events
        .iter()
        .filter(|e| e.figures.is_some())
        .all(|e| e.phase == ReleasePhase::Watching && e.step.is_none()));
    assert!(
        figures.windows(2).all(|w| w[0].elapsed < w[1].elapsed),
        "one report per poll: {figures:?}"
    );
    assert_eq!(figures[0].metrics.requests, 100);
    assert_eq!(figures[0].max_error_rate, 0.01);
    assert_eq!(figures[0].warn_error_rate, 0.003);
    assert_eq!(figures[0].window, Duration::from_millis(500));

    let last = events.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some(report.message.as_str()));
}

#[tokio::test]
async fn a_rollback_reports_rolled_back_with_the_reason_and_the_rate() {
    let fake = live_blue(breaching_green()).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    let events = fake.progress();
    assert_eq!(
        phases(&events),
        [
            ReleasePhase::Deploying,
            ReleasePhase::Validating,
            ReleasePhase::Switching,
            ReleasePhase::Watching,
            ReleasePhase::RolledBack
        ]
    );
    let last = events.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some(err.to_string().as_str()));
    assert!(
        last.reason
            .as_deref()
            .unwrap()
            .contains("error rate 50.00%"),
        "{last:?}"
    );
    let breach = events
        .iter()
        .rev()
        .find_map(|e| e.figures)
        .expect("the figures that breached were reported");
    assert_eq!(breach.metrics.error_rate, 0.5);
    assert!(steps(&events)
        .iter()
        .any(|(p, s)| *p == ReleasePhase::Watching && s.starts_with("rolled back to blue")));
}

#[tokio::test]
async fn a_failed_smoke_test_reports_its_result_and_failed() {
    let mut script = Script::default();
    script
        .smoke
        .insert("/orders".into(), (500, "database down".into()));
    let fake = live_blue(script).await;
    let mut spec = spec("1.3.0");
    spec.smoke = vec![orders_smoke()];
    let err = release(&fake, &spec).await.unwrap_err();
    let events = fake.progress();
    assert_eq!(
        phases(&events),
        [
            ReleasePhase::Deploying,
            ReleasePhase::Validating,
            ReleasePhase::Failed
        ]
    );
    assert!(steps(&events)
        .iter()
        .any(|(p, s)| *p == ReleasePhase::Validating
            && s.contains("smoke test \"orders\" failed on green: GET /orders answered HTTP 500")));
    assert_eq!(
        events.last().unwrap().reason.as_deref(),
        Some(err.to_string().as_str())
    );
}

#[tokio::test]
async fn a_release_that_changes_nothing_reports_nothing() {
    let fake = live_blue(Script::default()).await;
    release(&fake, &spec("1.2.0")).await.unwrap();
    assert_eq!(fake.progress(), vec![]);
}

#[tokio::test]
async fn a_platform_that_hangs_costs_the_release_one_report_timeout() {
    let script = Script {
        progress_hangs: true,
        ..Script::default()
    };
    let fake = live_blue(script).await;
    let report = release(&fake, &spec("1.3.0")).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released, "{:?}", report.steps);
    assert_eq!(
        fake.progress().len(),
        1,
        "after one report timed out, the release reports no more"
    );
}
