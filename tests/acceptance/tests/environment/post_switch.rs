//! A release that passes its gates but answers 5% errors under real traffic:
//! the post-switch watch measures it, switches back by itself, and the
//! diagnostic gives the measured error rate against the 1% threshold.

use std::time::Duration;

use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{
    apply_rolled_back_under_load, assert_plan_proposes, bluegreen, destroy_and_check, expect_match,
    first_error, now_ms, Fixture, Load, ADDRESS, LOAD_BOUNDS,
};

#[test]
fn post_switch_breach_rolls_back() {
    on_every_cli("post_switch_breach_rolls_back", |tf| {
        let test = "post_switch_breach_rolls_back";
        let fx = Fixture::new("breach", tf, "shop");
        let env = fx
            .env("1.2.0")
            .var("AGOG_FAULTY_VERSION", "1.3.1")
            .var("AGOG_ERROR_RATE", "0.05");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        ws.apply();
        let front = fx.front_door();
        front.assert_serves(5, "1.2.0", "blue");

        ws.write_config(&fx.config(&env.clone().version("1.3.1").hcl()));
        let started = now_ms();
        let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
        // A baseline on blue before the switch, as in production.
        fx.wait_for_requests("blue", started, 200, Duration::from_secs(60));
        let apply = ws.run(&["apply", "-auto-approve"]);
        let summary = load.stop();
        announce(&format!(
            "acceptance: {test} on Terraform v{}: apply failed after {:.1}s; load: {summary}",
            tf.version_string(),
            apply.elapsed.as_secs_f64()
        ));
        if apply.code != Some(1) {
            ws.fail(
                Some(&apply),
                &format!(
                    "the apply of a faulty 1.3.1 exited {:?}, expected 1",
                    apply.code
                ),
            );
        }
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {}",
            tf.version_string(),
            first_error(&apply)
        ));
        expect_match(&ws, &apply, r"Error: Release of 1\.3\.1 rolled back");
        let figures = expect_match(
            &ws,
            &apply,
            r"error rate (\d+\.\d+)% \((\d+) of (\d+) requests answered 5xx\) is above max_error_rate 1\.00%",
        );
        expect_match(
            &ws,
            &apply,
            r"Traffic was switched back to blue \(1\.2\.0\) automatically",
        );
        let rate: f64 = figures[1].parse().expect("a rate");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: measured error rate {rate}% ({} of {} requests) against 1.00%",
            tf.version_string(),
            figures[2],
            figures[3]
        ));
        assert!(
            (2.0..=10.0).contains(&rate),
            "the measured error rate {rate}% is far from the injected 5%"
        );

        // Users reached 1.3.1 (that is how the breach was measured), and are back on 1.2.0.
        let versions = summary.versions();
        assert!(
            versions.get("1.3.1").copied().unwrap_or(0) > 0,
            "no answer came from 1.3.1, so the watch judged nothing: {summary}"
        );
        assert!(
            summary.failures().keys().all(|k| k == "HTTP 500"),
            "failures other than the injected 500s: {summary}"
        );
        front.assert_serves(50, "1.2.0", "blue");

        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("version"), "1.2.0", "state after the rollback");
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("last_deployment.outcome"), "rolled_back");
        assert_plan_proposes(&ws, "1.2.0", "1.3.1");

        destroy_and_check(&ws, &fx);
    });
}

/// After an automatic rollback the idle colour runs the rolled-back release,
/// not the version live before: `previous_version` must not offer that one
/// as an instant rollback, before or after a refresh.
#[test]
fn previous_version_after_a_rollback() {
    on_every_cli("previous_version_after_a_rollback", |tf| {
        let test = "previous_version_after_a_rollback";
        let fx = Fixture::new("previous", tf, "shop");
        let env = fx
            .env("1.2.0")
            .var("AGOG_FAULTY_VERSION", "1.3.1")
            .var("AGOG_ERROR_RATE", "0.05");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        ws.apply();
        ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
        ws.apply();
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("live_color"), "green");
        assert_eq!(
            api.str("previous_version"),
            "1.2.0",
            "blue keeps 1.2.0 for instant rollback"
        );

        ws.write_config(&fx.config(&env.clone().version("1.3.1").hcl()));
        let front = fx.front_door();
        let (apply, summary) = apply_rolled_back_under_load(&ws, &fx, "green");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: apply exit {:?} after {:.1}s; load: {summary}",
            tf.version_string(),
            apply.code,
            apply.elapsed.as_secs_f64()
        ));
        expect_match(&ws, &apply, r"Error: Release of 1\.3\.1 rolled back");
        front.assert_serves(20, "1.3.0", "green");

        for when in ["after the rollback", "after a refresh"] {
            let state = ws.show();
            let api = state.resource(ADDRESS);
            assert_eq!(api.str("version"), "1.3.0", "{when}");
            assert_eq!(api.str("colors.blue.version"), "1.3.1", "{when}");
            assert!(
                api.is_null("previous_version"),
                "{when}: previous_version is {:?}, but blue runs the rolled-back 1.3.1: no version is kept for an instant rollback",
                api.attr("previous_version")
            );
            ws.refresh();
        }
        assert_plan_proposes(&ws, "1.3.0", "1.3.1");
        destroy_and_check(&ws, &fx);
    });
}

/// A release whose new colour hangs (answers after 1.2 s, health included, so its
/// gate still passes within a 3 s probe timeout) behind `upstream_timeout = "400ms"`:
/// users get 504s from the front door, counted against the new colour, and the
/// watch switches back by itself (issue 15, item 4).
#[test]
fn a_new_colour_that_hangs_is_rolled_back_by_the_watch() {
    on_every_cli(
        "a_new_colour_that_hangs_is_rolled_back_by_the_watch",
        |tf| {
            let test = "a_new_colour_that_hangs_is_rolled_back_by_the_watch";
            let fx = Fixture::new("hang", tf, "shop");
            let mut env = fx
                .env("1.2.0")
                .var("AGOG_FAULTY_VERSION", "1.3.1")
                .var("AGOG_LATENCY_MS", "1200")
                .without_smoke_test();
            env.upstream_timeout = Some("400ms".into());
            env.health_timeout = "3s".into();
            env.health_deadline = "20s".into();
            let ws = Workspace::new(test, tf, &bluegreen());
            ws.write_config(&fx.config(&env.hcl()));
            ws.init();
            ws.apply();
            let front = fx.front_door();
            front.assert_serves(5, "1.2.0", "blue");

            ws.write_config(&fx.config(&env.clone().version("1.3.1").hcl()));
            let started = now_ms();
            // Eight closed-loop clients, ~12,000 requests/s, for as long as the apply takes.
            let load = Load::start(&front.url("/api/version"), 8, LOAD_BOUNDS);
            fx.wait_for_requests("blue", started, 200, Duration::from_secs(60));
            let apply = ws.run(&["apply", "-auto-approve"]);
            let summary = load.stop();
            announce(&format!(
            "acceptance: {test} on Terraform v{}: apply exit {:?} after {:.1}s; load: {summary}",
            tf.version_string(),
            apply.code,
            apply.elapsed.as_secs_f64()
        ));
            if apply.code != Some(1) {
                ws.fail(
                    Some(&apply),
                    &format!(
                        "the apply of a hanging 1.3.1 exited {:?}, expected 1",
                        apply.code
                    ),
                );
            }
            expect_match(&ws, &apply, r"Error: Release of 1\.3\.1 rolled back");
            let figures = expect_match(
                &ws,
                &apply,
                r"error rate (\d+\.\d+)% \((\d+) of (\d+) requests answered 5xx\) is above max_error_rate 1\.00%",
            );
            announce(&format!(
                "acceptance: {test} on Terraform v{}: measured error rate {}% ({} of {} requests)",
                tf.version_string(),
                figures[1],
                figures[2],
                figures[3]
            ));
            let rate: f64 = figures[1].parse().expect("a rate");
            assert!(
                rate >= 90.0,
                "every request to the hanging colour should be a 504, measured {rate}%"
            );
            expect_match(
                &ws,
                &apply,
                r"Traffic was switched back to blue \(1\.2\.0\) automatically",
            );
            // What users saw of 1.3.1 was the front door's 504, and nothing else failed.
            let failures = summary.failures();
            assert!(
                failures.get("HTTP 504").copied().unwrap_or(0) > 0,
                "no 504 reached a user, so the timeout judged nothing: {summary}"
            );
            assert!(
                failures.keys().all(|k| k == "HTTP 504"),
                "failures other than the front door's 504s: {summary}"
            );
            front.assert_serves(20, "1.2.0", "blue");

            let state = ws.show();
            let api = state.resource(ADDRESS);
            assert_eq!(api.str("version"), "1.2.0", "state after the rollback");
            assert_eq!(api.str("local.upstream_timeout"), "400ms");
            assert_eq!(api.str("last_deployment.outcome"), "rolled_back");
            // The timeout as written stays in state: only the version is proposed again.
            assert_plan_proposes(&ws, "1.2.0", "1.3.1");

            destroy_and_check(&ws, &fx);
        },
    );
}
