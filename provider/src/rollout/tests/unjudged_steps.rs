//! A canary ramp whose steps saw fewer than `min_requests` requests is not a
//! silent pass: each such step says it was not judged and why, the ramp goes
//! on to its final weight, and the apply gets one warning diagnostic on
//! `progressive` and one `warning` alert for the whole ramp.

use super::*;
use crate::notify::tests::{notification, Receiver};
use crate::notify::{sink, Format, Notifier, ReleaseContext, Sink};
use tfplugin::AttributePath;

fn alerts_to(url: &str) -> Sink {
    Sink::new(
        Notifier::new(vec![notification(Format::Webhook, url)], Http::new()),
        ReleaseContext {
            environment: ENV.into(),
            to_version: "1.3.0".into(),
            ..ReleaseContext::default()
        },
    )
}

#[tokio::test]
async fn a_ramp_without_traffic_goes_on_and_warns_once() {
    // Green answers, but nobody sends the canary a request during the ramp.
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                requests: 3,
                ..Traffic::default()
            },
        );
    }))
    .await;
    fake.run(Color::Green, "1.3.0").await;
    let receiver = Receiver::start(Some(200)).await;
    let alerts = alerts_to(&receiver.url);
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = sink::scope(
        alerts.clone(),
        engine(&fake, &lease, &stop).canary(
            &env(),
            &canary(50),
            Some(&ramp(Duration::from_millis(200))),
        ),
    )
    .await
    .expect("too little traffic stops no ramp");
    assert_eq!(report.outcome, Outcome::Routed);
    assert_eq!(
        fake.routes(),
        vec![
            canary_route(10, &["acme"]),
            canary_route(25, &["acme"]),
            canary_route(50, &["acme"])
        ],
        "the ramp goes on to its final weight"
    );
    for step in [10, 25] {
        let text = format!("step {step}% not judged: the canary saw 3 requests on green in 200ms, fewer than min_requests = 20");
        assert!(report.steps.contains(&text), "{:?}", report.steps);
    }
    assert!(
        !report.steps.iter().any(|s| s.contains("passed")),
        "{:?}",
        report.steps
    );
    assert!(
        report.message.ends_with(
            "; 2 of 2 ramp steps not judged by their traffic: 10% (3 requests), 25% (3 requests)"
        ),
        "{}",
        report.message
    );

    let diags = alerts.finish(None).await;
    assert_eq!(diags.len(), 1, "one warning for the ramp: {diags:?}");
    let d = &diags[0];
    assert!(!d.is_error());
    assert_eq!(d.path, Some(AttributePath::attr("progressive")));
    assert_eq!(
        d.summary,
        "Canary 1.3.0 in shop: ramp steps not judged by their traffic"
    );
    assert!(
        d.detail.starts_with("progressive: 2 of 2 ramp steps of the canary 1.3.0 on green had fewer than min_requests = 20 requests (or no figures from the platform) in their 200ms interval and were not judged by its traffic: 10% (3 requests), 25% (3 requests). The ramp went on to 50%")
            && d.detail.ends_with("send traffic during the ramp, lengthen progressive.interval, or lower progressive.min_requests"),
        "{}",
        d.detail
    );
    let bodies = receiver.bodies();
    let warnings: Vec<_> = bodies
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b["event"] == "warning")
        .collect();
    assert_eq!(warnings.len(), 1, "one alert per apply: {bodies:?}");
    let warning = warnings[0];
    assert_eq!(warning["severity"], "warning");
    assert_eq!(
        warning["summary"],
        "shop: canary 1.3.0 is at 50% but 2 of 2 ramp steps not judged (min_requests 20)"
    );
    assert_eq!(warning["reason"], d.detail.as_str());
    assert_eq!(warning["from_version"], "1.2.0");
    assert_eq!(warning["from_color"], "blue");
    assert_eq!(warning["to_color"], "green");
    assert_eq!(bodies.len(), 1, "a ramp sends nothing else: {bodies:?}");
}

#[tokio::test]
async fn a_ramp_with_enough_traffic_passes_each_step_without_a_warning() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    let alerts = alerts_to("http://127.0.0.1:9/unused");
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = sink::scope(
        alerts.clone(),
        engine(&fake, &lease, &stop).canary(
            &env(),
            &canary(50),
            Some(&ramp(Duration::from_millis(200))),
        ),
    )
    .await
    .unwrap();
    for step in [10, 25] {
        let passed = format!("step {step}% passed: 100 canary requests, error rate 0.00%");
        assert!(report.steps.contains(&passed), "{:?}", report.steps);
    }
    assert!(!report.message.contains("not judged"), "{}", report.message);
    assert!(alerts.finish(None).await.is_empty());
}
