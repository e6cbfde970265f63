//! The canary-then-promote flow under load: `candidate_version` → split 10%
//! and the pilot tenant → `version` set to the candidate (an instant switch)
//! → the split is satisfied and plans stay empty → split and candidate
//! removed. Not one request fails, and the last answers come from the new
//! version.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bluegreen_acceptance::harness::{announce, on_every_cli, ImportVerify, Step, TestCase};

use crate::{
    bluegreen, now_ms, Fixture, Load, SplitConfig, ENV, LOAD_BOUNDS, PILOT, SPLIT,
    SPLIT_IMPORT_IGNORES,
};

/// Concurrent connections of the load.
const CONCURRENCY: usize = 2;

#[test]
fn promote_flow_under_load() {
    on_every_cli("promote_flow_under_load", |tf| {
        let fx = Rc::new(Fixture::new("promote", tf, "promote"));
        let load: Rc<RefCell<Option<(Load, u64)>>> = Rc::new(RefCell::new(None));
        let split = SplitConfig::new("1.3.0", 10, &[PILOT]).hcl();
        let live = fx.config(&[&fx.env("1.2.0").hcl()]);
        let candidate = fx.config(&[&fx.env("1.2.0").candidate("1.3.0").hcl()]);
        let canary = fx.config(&[&fx.env("1.2.0").candidate("1.3.0").hcl(), &split]);
        let promoted = fx.config(&[&fx.env("1.3.0").candidate("1.3.0").hcl(), &split]);
        let done = fx.config(&[&fx.env("1.3.0").hcl()]);
        let version = tf.version_string();

        let (fx1, fx2, fx3, fx4) = (fx.clone(), fx.clone(), fx.clone(), fx.clone());
        let (load_start, load_stop) = (load.clone(), load.clone());
        TestCase::new("promote_flow_under_load", bluegreen())
            .step(Step::new(live))
            .step(
                Step::new(candidate)
                    .before(move |_| {
                        // Load from before the candidate until after the split is gone.
                        let started = now_ms();
                        let run = Load::start(&fx1.front_door().url("/api/version"), CONCURRENCY, LOAD_BOUNDS);
                        fx1.wait_for_requests("blue", started, 200, Duration::from_secs(60));
                        *load_start.borrow_mut() = Some((run, started));
                    })
                    .check(|state| {
                        let api = state.resource(ENV);
                        assert_eq!(api.str("live_color"), "blue");
                        assert_eq!(api.str("colors.green.version"), "1.3.0");
                        assert_eq!(api.str("last_deployment.outcome"), "candidate_ready");
                    }),
            )
            .step(
                Step::new(canary)
                    .check(|state| {
                        let s = state.resource(SPLIT);
                        assert_eq!(s.str("canary_color"), "green");
                        assert_eq!(s.attr("satisfied").as_bool(), Some(false));
                    })
                    .after(move |_| {
                        let front = fx2.front_door();
                        front.assert_all(50, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                        front.assert_all(50, Some(("X-Tenant-ID", "tenant-7")), "1.2.0", "blue");
                        // The load (no tenant header) reaches the canary too.
                        fx2.wait_for_requests("green", now_ms(), 50, Duration::from_secs(60));
                    })
                    .import_verify(
                        ImportVerify::new(SPLIT)
                            .id(&fx.name)
                            .ignore(SPLIT_IMPORT_IGNORES),
                    ),
            )
            .step(
                Step::new(promoted)
                    .plan_check(|plan| {
                        crate::assert_plan_shows(
                            plan,
                            &[
                                r#"~ version\s+= "1\.2\.0" -> "1\.3\.0""#,
                                r"Plan: 0 to add, 1 to change, 0 to destroy\.",
                            ],
                        );
                    })
                    .check(|state| {
                        let api = state.resource(ENV);
                        assert_eq!(api.str("version"), "1.3.0");
                        assert_eq!(api.str("live_color"), "green");
                        assert_eq!(api.str("last_deployment.outcome"), "switched");
                    })
                    .after(move |ws| {
                        // After refresh: the split is satisfied, and plans are empty.
                        let state = ws.show();
                        let s = state.resource(SPLIT);
                        assert_eq!(s.attr("satisfied").as_bool(), Some(true), "{}", s.values);
                        assert!(s.is_null("canary_color"), "{}", s.values);
                        fx3.assert_no_canary("green");
                        let front = fx3.front_door();
                        front.assert_all(50, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                        front.assert_all(50, None, "1.3.0", "green");
                    }),
            )
            .step(
                Step::new(done)
                    .plan_check(|plan| {
                        crate::assert_plan_shows(
                            plan,
                            &[
                                r"# bluegreen_traffic_split\.api will be destroyed",
                                r#"- candidate_version\s+= "1\.3\.0" -> null"#,
                                r"Plan: 0 to add, 1 to change, 1 to destroy\.",
                            ],
                        );
                    })
                    .check(|state| {
                        assert!(state.get(SPLIT).is_none(), "{:?}", state.addresses());
                        let api = state.resource(ENV);
                        assert_eq!(api.str("version"), "1.3.0");
                        assert!(api.is_null("candidate_version"));
                    })
                    .after(move |_| {
                        let (run, started) = load_stop.borrow_mut().take().expect("load started");
                        // Some answers after the last apply, then stop.
                        fx4.wait_for_requests("green", now_ms(), 200, Duration::from_secs(60));
                        let summary = run.stop();
                        let green = fx4.daemon.api().requests_to(&fx4.name, "green", started, now_ms());
                        announce(&format!(
                            "acceptance: promote_flow_under_load on Terraform v{version}: load: {summary}; front door sent {green} to green"
                        ));
                        assert_eq!(summary.failed(), 0, "failed requests during the promote flow: {summary}");
                        let versions = summary.versions();
                        assert!(
                            versions.len() == 2
                                && versions.get("1.2.0").is_some_and(|n| *n > 0)
                                && versions.get("1.3.0").is_some_and(|n| *n > 0),
                            "1.2.0 and 1.3.0, and nothing else, answered the load: {summary}"
                        );
                        assert_eq!(summary.last_version(), Some("1.3.0"), "{summary}");
                        let front = fx4.front_door();
                        front.assert_all(100, None, "1.3.0", "green");
                        front.assert_all(50, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                    }),
            )
            .run_on(tf);
    });
}
