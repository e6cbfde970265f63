//! A split planned in the same run as the environment that deploys its
//! canary: on a new environment, and on an existing one that gets the
//! candidate in that run. The plan succeeds, one apply deploys the
//! candidate and then routes the pilot tenant to it; a split of a version
//! the run deploys nowhere still fails at plan, at `canary.version`.

use std::rc::Rc;

use bluegreen_acceptance::harness::{on_every_cli, Expect, Step, TestCase};

use crate::{bluegreen, wrapped, Fixture, SplitConfig, PILOT, SPLIT};

#[test]
fn split_with_its_new_environment_in_one_apply() {
    on_every_cli("split_with_its_new_environment_in_one_apply", |tf| {
        let fx = Rc::new(Fixture::new("samerun", tf, "samerun"));
        let fresh = fx.config(&[
            &fx.env("1.2.0").candidate("1.3.0").hcl(),
            &SplitConfig::new("1.3.0", 10, &[PILOT]).hcl(),
        ]);
        let alone = fx.config(&[&fx.env("1.2.0").hcl()]);
        let elsewhere = fx.config(&[
            &fx.env("1.2.0").hcl(),
            &SplitConfig::new("1.4.0", 10, &[PILOT]).hcl(),
        ]);
        let existing = fx.config(&[
            &fx.env("1.2.0").candidate("1.4.0").hcl(),
            &SplitConfig::new("1.4.0", 10, &[PILOT]).hcl(),
        ]);
        let (fx1, fx2) = (fx.clone(), fx.clone());
        TestCase::new("split_with_its_new_environment_in_one_apply", bluegreen())
            // Nothing exists yet: the environment, its candidate and the split in one apply.
            .step(Step::new(fresh).check(move |state| {
                let s = state.resource(SPLIT);
                assert_eq!(s.str("canary_color"), "green");
                assert_eq!(s.attr("satisfied").as_bool(), Some(false));
                fx1.front_door()
                    .assert_all(20, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
                fx1.front_door()
                    .assert_all(20, Some(("X-Tenant-ID", "other-tenant")), "1.2.0", "blue");
            }))
            .step(Step::new(alone))
            // The run deploys 1.4.0 nowhere: still a plan error with the fix.
            .step(Step::new(elsewhere).expect_error(Expect::regex(&format!(
                r#"(?s){}.*{}"#,
                wrapped("Error: Canary version is not deployed"),
                wrapped(r#"version 1.4.0 does not run on any colour of environment "samerun". Deploy it with candidate_version = "1.4.0" on the bluegreen_environment"#),
            ))))
            // The environment exists; this run deploys the candidate the split routes to.
            .step(Step::new(existing).check(move |state| {
                assert_eq!(state.resource(SPLIT).str("canary_color"), "green");
                fx2.front_door()
                    .assert_all(20, Some(("X-Tenant-ID", PILOT)), "1.4.0", "green");
            }))
            .run_on(tf);
    });
}
