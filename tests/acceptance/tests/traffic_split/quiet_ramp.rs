//! A progressive ramp that nobody sends traffic to: each step sees fewer
//! than `min_requests` canary requests, so none is judged. The ramp still
//! reaches its final weight and the apply succeeds, but it says so: one
//! warning on `progressive` naming the steps with their request counts and
//! the fix, and one `warning` alert to the provider's `notification` blocks.

use bluegreen_acceptance::harness::alert_receiver::{with_blocks, Receiver, Reply};
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, expect_match, Fixture, Ramp, SplitConfig, PILOT, SPLIT};

#[test]
fn a_ramp_without_traffic_warns_that_its_steps_were_not_judged() {
    on_every_cli(
        "a_ramp_without_traffic_warns_that_its_steps_were_not_judged",
        |tf| {
            let fx = Fixture::new("quiet-ramp", tf, "quiet");
            let ws = Workspace::new(
                "a_ramp_without_traffic_warns_that_its_steps_were_not_judged",
                tf,
                &bluegreen(),
            );
            let alerts = Receiver::start(Reply::Status(200));
            let provider = with_blocks(
                &fx.daemon.provider_block(),
                &format!(
                    "  notification {{\n    format = \"webhook\"\n    url    = \"{}\"\n    events = [\"warning\", \"rolled_back\", \"failed\"]\n  }}\n",
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
            let env = fx.env("1.3.0").candidate("1.3.1").hcl();
            ws.write_config(&config(&[&env]));
            ws.init();
            ws.apply();
            assert!(
                alerts.take().is_empty(),
                "a first release is not watched: no warning"
            );

            // No load: only what the daemon itself sends reaches green.
            let split = SplitConfig::new("1.3.1", 20, &[PILOT])
                .ramp(Ramp {
                    steps: vec![5, 10],
                    interval: "2s".into(),
                    max_error_rate: 0.01,
                    min_requests: 20,
                })
                .hcl();
            ws.write_config(&config(&[&env, &split]));
            let apply = ws.run(&["apply", "-auto-approve"]);
            announce(&format!(
                "acceptance: a_ramp_without_traffic_warns_that_its_steps_were_not_judged on Terraform v{}: apply took {:.1}s",
                tf.version_string(),
                apply.elapsed.as_secs_f64()
            ));
            if !apply.success() {
                ws.fail(
                    Some(&apply),
                    "steps too quiet to judge must not fail the apply",
                );
            }
            expect_match(
                &ws,
                &apply,
                r"Warning: Canary 1\.3\.1 in quiet: ramp steps not judged by their traffic",
            );
            expect_match(&ws, &apply, r"with bluegreen_traffic_split\.api");
            let caps = expect_match(
                &ws,
                &apply,
                r"progressive: 2 of 2 ramp steps of the canary 1\.3\.1 on green had fewer than min_requests = 20 requests \(or no figures from the platform\) in their 2s interval and were not judged by its traffic: 5% \((\d+) requests?\), 10% \((\d+) requests?\)\. The ramp went on to 20%",
            );
            for (step, n) in [(5, &caps[1]), (10, &caps[2])] {
                let n: u64 = n.parse().expect("a request count");
                assert!(n < 20, "step {step}% saw {n} requests, yet was not judged");
            }
            expect_match(
                &ws,
                &apply,
                r"send traffic during the ramp, lengthen progressive\.interval, or lower progressive\.min_requests",
            );

            // Once per apply, not per step.
            let got = alerts.take();
            let bodies: Vec<_> = got.iter().map(|r| &r.body).collect();
            assert_eq!(bodies.len(), 1, "one warning alert: {bodies:?}");
            let alert = bodies[0];
            assert_eq!(alert["event"], "warning");
            assert_eq!(alert["severity"], "warning");
            assert_eq!(
                alert["summary"],
                "quiet: canary 1.3.1 is at 20% but 2 of 2 ramp steps not judged (min_requests 20)"
            );
            assert_eq!(alert["to_version"], "1.3.1");
            assert_eq!(alert["from_version"], "1.3.0");
            assert_eq!(alert["from_color"], "blue");
            assert_eq!(alert["to_color"], "green");

            // The ramp went on: the canary has its final weight, and the split is in state.
            let routing = fx.routing();
            assert_eq!(routing["canary"]["color"], "green", "{routing}");
            assert_eq!(routing["canary"]["weight"], 20, "{routing}");
            assert!(ws.show().get(SPLIT).is_some(), "the split is in state");

            ws.write_config(&fx.config(&[&env]));
            ws.destroy();
        },
    );
}
