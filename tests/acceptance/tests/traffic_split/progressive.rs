//! A progressive ramp of a canary that answers 5% of requests with 500: the
//! first step's gate stops it, the canary goes back to 0% and every tenant to
//! the live colour, apply fails with the measured rate, and the next plan
//! proposes the split again. The rollback is a critical alert to the
//! provider's `notification` blocks.

use std::time::Duration;

use bluegreen_acceptance::harness::alert_receiver::{with_blocks, Receiver, Reply};
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{
    bluegreen, expect_match, now_ms, Fixture, Load, Ramp, SplitConfig, ENV, LOAD_BOUNDS, PILOT,
    SPLIT,
};

/// The gate's `max_error_rate`: 1%, as the documentation's example writes it.
const MAX_ERROR_RATE: f64 = 0.01;

#[test]
fn progressive_ramp_stops_on_error_rate() {
    on_every_cli("progressive_ramp_stops_on_error_rate", |tf| {
        let fx = Fixture::new("ramp", tf, "ramp");
        let ws = Workspace::new("progressive_ramp_stops_on_error_rate", tf, &bluegreen());
        let alerts = Receiver::start(Reply::Status(200));
        let provider = with_blocks(
            &fx.daemon.provider_block(),
            &format!(
                "  notification {{\n    format = \"webhook\"\n    url    = \"{}\"\n    events = [\"rolled_back\", \"failed\"]\n  }}\n",
                alerts.url
            ),
        );
        let config = |blocks: &[&str]| {
            format!(
                "{}\n{provider}\n{}",
                bluegreen().required_providers_block(),
                blocks.join("\n")
            )
        };
        // Only 1.3.1 is faulty; no smoke test, which the fault could fail.
        let env = fx
            .env("1.3.0")
            .candidate("1.3.1")
            .var("AGOG_FAULTY_VERSION", "1.3.1")
            .var("AGOG_ERROR_RATE", "0.05")
            .without_smoke_test()
            .hcl();
        ws.write_config(&config(&[&env]));
        ws.init();
        ws.apply();
        let state = ws.show();
        let api = state.resource(ENV);
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("colors.green.version"), "1.3.1");

        let split = SplitConfig::new("1.3.1", 20, &[PILOT])
            .ramp(Ramp {
                steps: vec![5, 10],
                interval: "5s".into(),
                max_error_rate: MAX_ERROR_RATE,
                min_requests: 20,
            })
            .hcl();
        ws.write_config(&config(&[&env, &split]));
        let front = fx.front_door();
        let started = now_ms();
        let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
        fx.wait_for_requests("blue", started, 200, Duration::from_secs(60));
        let apply = ws.run(&["apply", "-auto-approve"]);
        let summary = load.stop();
        announce(&format!(
            "acceptance: progressive_ramp_stops_on_error_rate on Terraform v{}: apply took {:.1}s; load: {summary}",
            tf.version_string(),
            apply.elapsed.as_secs_f64()
        ));
        if apply.success() {
            ws.fail(
                Some(&apply),
                "the ramp of a canary failing 5% of requests must fail the apply",
            );
        }
        expect_match(&ws, &apply, r"Canary 1\.3\.1 rolled back");
        let caps = expect_match(
            &ws,
            &apply,
            &format!(
                r"canary ramp: 1\.3\.1 at (\d+)%: error rate (\d+\.\d+)% \((\d+) of (\d+) requests answered 5xx\) is above max_error_rate {}%",
                regex::escape(&format!("{:.2}", MAX_ERROR_RATE * 100.0))
            ),
        );
        let (step, rate, errors, requests): (u64, f64, u64, u64) = (
            caps[1].parse().expect("step"),
            caps[2].parse().expect("rate"),
            caps[3].parse().expect("errors"),
            caps[4].parse().expect("requests"),
        );
        announce(&format!(
            "acceptance: progressive_ramp_stops_on_error_rate on Terraform v{}: stopped at {step}% with error rate {rate}% ({errors} of {requests})",
            tf.version_string()
        ));
        assert_eq!(step, 5, "the first step's gate must stop the ramp");
        assert!(
            requests >= 20,
            "judged on fewer than min_requests: {requests}"
        );
        assert!(
            rate > MAX_ERROR_RATE * 100.0 && rate <= 5.0 + 1e-9,
            "the measured rate of a 5% fault must be above max_error_rate and at most 5%: {rate}%"
        );
        let computed = errors as f64 * 100.0 / requests as f64;
        assert!(
            (computed - rate).abs() < 0.006,
            "{errors} of {requests} is {computed:.3}%, not the reported {rate}%"
        );
        expect_match(
            &ws,
            &apply,
            r"The canary was set back to 0% and every tenant to blue \(1\.3\.0\)",
        );
        assert!(
            summary.failed() > 0,
            "users saw the canary's 500s during the step: {summary}"
        );

        // The on-call engineer hears of it: one critical alert, with what serves now.
        let got = alerts.take();
        assert_eq!(
            got.len(),
            1,
            "one alert: the rollback; got {:?}",
            got.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        let alert = &got[0].body;
        assert_eq!(alert["event"], "rolled_back");
        assert_eq!(alert["severity"], "critical");
        assert_eq!(alert["to_version"], "1.3.1");
        assert_eq!(alert["from_version"], "1.3.0");
        assert_eq!(alert["from_color"], "blue");
        assert!(
            alert["reason"]
                .as_str()
                .unwrap_or("")
                .starts_with("canary ramp: 1.3.1 at 5%"),
            "{alert}"
        );

        // What users get now: the live colour only, tenants included.
        fx.assert_no_canary("blue");
        front.assert_all(300, None, "1.3.0", "blue");
        front.assert_all(100, Some(("X-Tenant-ID", PILOT)), "1.3.0", "blue");

        // The split is not in state, and the next plan proposes it again.
        let state = ws.show();
        assert!(
            state.get(SPLIT).is_none(),
            "a split whose ramp failed must not be in state: {:?}",
            state.addresses()
        );
        let plan = ws.plan();
        if plan.code != Some(2) {
            ws.fail(
                Some(&plan),
                "after the failed ramp, plan -detailed-exitcode must exit 2",
            );
        }
        expect_match(
            &ws,
            &plan,
            r"# bluegreen_traffic_split\.api will be created",
        );
        expect_match(&ws, &plan, r"Plan: 1 to add, 0 to change, 0 to destroy\.");

        ws.write_config(&fx.config(&[&env]));
        ws.destroy();
        let err = fx
            .daemon
            .api()
            .get(&format!("/v1/environments/{}", fx.name))
            .expect_err("the environment is gone after destroy");
        assert!(err.contains("404"), "{err}");
    });
}
