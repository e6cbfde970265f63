//! Destroying a split returns all traffic to the live colour: untagged
//! requests and the listed tenants alike, while the environment stays.

use std::rc::Rc;

use bluegreen_acceptance::harness::{on_every_cli, Step, TestCase};

use crate::{assert_plan_shows, bluegreen, Fixture, SplitConfig, PILOT, SPLIT};

#[test]
fn destroying_the_split_returns_traffic_to_the_live_colour() {
    on_every_cli(
        "destroying_the_split_returns_traffic_to_the_live_colour",
        |tf| {
            let fx = Rc::new(Fixture::new("destroy", tf, "destroy"));
            let env = fx.env("1.2.0").candidate("1.3.0").hcl();
            let split = SplitConfig::new("1.3.0", 30, &[PILOT]).hcl();
            let (fx1, fx2, fx3) = (fx.clone(), fx.clone(), fx.clone());
            TestCase::new(
                "destroying_the_split_returns_traffic_to_the_live_colour",
                bluegreen(),
            )
            .step(Step::new(fx.config(&[&env])))
            .step(Step::new(fx.config(&[&env, &split])).after(move |_| {
                // The split is in effect before it is destroyed.
                let front = fx1.front_door();
                front.assert_all(30, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                let untagged = front.tally(200, |_| None);
                assert!(
                    untagged.served("1.3.0", "green") > 0 && untagged.served("1.2.0", "blue") > 0,
                    "at weight 30 both colours answer untagged requests: {untagged}"
                );
            }))
            .step(
                Step::new(fx.config(&[&env]))
                    .plan_check(|plan| {
                        assert_plan_shows(
                            plan,
                            &[
                                r"# bluegreen_traffic_split\.api will be destroyed",
                                r"Plan: 0 to add, 0 to change, 1 to destroy\.",
                            ],
                        );
                    })
                    .check(|state| {
                        assert!(state.get(SPLIT).is_none(), "{:?}", state.addresses());
                    })
                    .after(move |_| {
                        fx2.assert_no_canary("blue");
                        let front = fx2.front_door();
                        front.assert_all(300, None, "1.2.0", "blue");
                        front.assert_all(100, Some(("X-Tenant-ID", PILOT)), "1.2.0", "blue");
                        // The candidate still runs on the idle colour, ready for the next split.
                        let env = fx2.daemon.api().environment(&fx2.name);
                        assert_eq!(env["colors"]["green"]["version"], "1.3.0", "{env}");
                        assert_eq!(env["colors"]["green"]["status"], "running", "{env}");
                    }),
            )
            .check_destroy(move |_| {
                let err = fx3
                    .daemon
                    .api()
                    .get(&format!("/v1/environments/{}", fx3.name))
                    .expect_err("the environment is gone after destroy");
                assert!(err.contains("404"), "{err}");
            })
            .run_on(tf);
        },
    );
}
