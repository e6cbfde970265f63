//! A split of a version no colour runs fails at plan time, at
//! `canary.version`, saying how to deploy it; doing what it says works.

use std::rc::Rc;

use bluegreen_acceptance::harness::{on_every_cli, Expect, Step, TestCase};

use crate::{bluegreen, wrapped, Fixture, SplitConfig, PILOT, SPLIT};

#[test]
fn split_of_an_undeployed_version_fails_at_plan() {
    on_every_cli("split_of_an_undeployed_version_fails_at_plan", |tf| {
        let fx = Rc::new(Fixture::new("undeployed", tf, "undeployed"));
        let env = fx.env("1.2.0").hcl();
        let candidate = fx.env("1.2.0").candidate("1.3.0").hcl();
        let split = SplitConfig::new("1.3.0", 10, &[PILOT]).hcl();
        let fx1 = fx.clone();
        TestCase::new("split_of_an_undeployed_version_fails_at_plan", bluegreen())
            .step(Step::new(fx.config(&[&env])))
            .step(
                // The summary, where it points (canary.version), and the fix it names.
                Step::new(fx.config(&[&env, &split])).expect_error(Expect::regex(&format!(
                    r#"(?s){}.*in resource "bluegreen_traffic_split" "api":\n\s*\d+:\s+version\s+=\s+"1\.3\.0"\n.*{}"#,
                    wrapped("Error: Canary version is not deployed"),
                    wrapped(r#"version 1.3.0 does not run on any colour of environment "undeployed". Deploy it with candidate_version = "1.3.0" on the bluegreen_environment"#),
                ))),
            )
            .step(Step::new(fx.config(&[&candidate])))
            .step(
                Step::new(fx.config(&[&candidate, &split])).check(move |state| {
                    let s = state.resource(SPLIT);
                    assert_eq!(s.str("canary_color"), "green");
                    fx1.front_door()
                        .assert_all(20, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                }),
            )
            .run_on(tf);
    });
}
