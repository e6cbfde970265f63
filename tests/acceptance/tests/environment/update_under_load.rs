//! A version update under concurrent load through the front door: zero
//! failed requests, every later answer from the new version, an empty plan,
//! and import by name gives the same state.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bluegreen_acceptance::harness::{announce, on_every_cli, ImportVerify, Step, TestCase};

use crate::{bluegreen, now_ms, Fixture, Load, ADDRESS, LOAD_BOUNDS};

/// Requests each side of the switch must see, so that ≥ 2,000 span it.
const PER_SIDE: u64 = 1_000;

/// Attributes an import cannot know: the configuration-only gate blocks
/// (`timeouts` too, but no test sets it), and the record of the last release
/// this resource ran and the version live before it.
pub const IMPORT_IGNORES: &[&str] = &[
    "health_check",
    "smoke_test",
    "post_switch",
    "last_deployment",
    "previous_version",
];

#[test]
fn version_update_under_load() {
    on_every_cli("version_update_under_load", |tf| {
        let fx = Rc::new(Fixture::new("update-load", tf, "shop"));
        let front = fx.front_door();
        let load: Rc<RefCell<Option<(Load, u64)>>> = Rc::new(RefCell::new(None));
        let v130 = fx.env("1.3.0");

        let (fx_b, fx_c, front_b, front_c, load_b, load_c) = (
            fx.clone(),
            fx.clone(),
            front.clone(),
            front.clone(),
            load.clone(),
            load.clone(),
        );
        let version = tf.version_string();
        TestCase::new("version_update_under_load", bluegreen())
            .step(
                Step::new(fx.config(&fx.env("1.2.0").hcl())).check(move |state| {
                    let api = state.resource(ADDRESS);
                    assert_eq!(api.str("version"), "1.2.0");
                    assert_eq!(api.str("live_color"), "blue");
                    assert_eq!(api.str("idle_color"), "green");
                    assert_eq!(api.str("colors.blue.version"), "1.2.0");
                    assert_eq!(api.str("colors.blue.status"), "running");
                    assert_eq!(api.str("endpoint"), front.base);
                    assert_eq!(api.str("last_deployment.outcome"), "released");
                }),
            )
            .step(
                Step::new(fx.config(&v130.hcl()))
                    .before(move |_| {
                        // Load first, and enough of it on blue, so the switch lands inside the run.
                        let started = now_ms();
                        let run = Load::start(&front_b.url("/api/version"), 8, LOAD_BOUNDS);
                        fx_b.wait_for_requests("blue", started, PER_SIDE, Duration::from_secs(120));
                        *load_b.borrow_mut() = Some((run, started));
                    })
                    .check(move |state| {
                        let (run, started) = load_c.borrow_mut().take().expect("load started");
                        // The post-switch side of the run: as many answers from green.
                        fx_c.wait_for_requests("green", started, PER_SIDE, Duration::from_secs(120));
                        let summary = run.stop();
                        announce(&format!(
                            "acceptance: version_update_under_load on Terraform v{version}: load: {summary}"
                        ));
                        assert_eq!(summary.failed(), 0, "failed requests during the release: {summary}");
                        let versions = summary.versions();
                        assert!(
                            versions.get("1.2.0").copied().unwrap_or(0) >= PER_SIDE
                                && versions.get("1.3.0").copied().unwrap_or(0) >= PER_SIDE
                                && summary.sent() >= 2 * PER_SIDE,
                            "the load must span the switch with ≥ {PER_SIDE} answers from each version: {summary}"
                        );
                        assert_eq!(versions.len(), 2, "only 1.2.0 and 1.3.0 answered: {summary}");
                        let api = state.resource(ADDRESS);
                        assert_eq!(api.str("version"), "1.3.0");
                        assert_eq!(api.str("live_color"), "green");
                        assert_eq!(api.str("idle_color"), "blue");
                        assert_eq!(api.str("previous_version"), "1.2.0");
                        assert_eq!(api.str("colors.green.version"), "1.3.0");
                        assert_eq!(api.str("colors.blue.version"), "1.2.0");
                        assert_eq!(api.str("last_deployment.outcome"), "released");
                    })
                    .after(move |_| front_c.assert_serves(200, "1.3.0", "green"))
                    .import_verify(
                        ImportVerify::new(ADDRESS)
                            .id(&fx.name)
                            .ignore(IMPORT_IGNORES),
                    ),
            )
            .check_destroy({
                let fx = fx.clone();
                move |_| {
                    let err = fx
                        .daemon
                        .api()
                        .get(&format!("/v1/environments/{}", fx.name))
                        .expect_err("the environment is gone after destroy");
                    assert!(err.contains("404"), "{err}");
                    assert!(fx.front_door().answer().is_err(), "the front door still answers");
                }
            })
            .run_on(tf);
    });
}
