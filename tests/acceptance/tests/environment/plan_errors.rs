//! Settings that can never work are refused at plan, at their attribute,
//! with the fix; nothing reaches the platform.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{bluegreen, expect_match, Fixture};

#[test]
fn zero_deadline_is_a_plan_error() {
    on_every_cli("zero_deadline_is_a_plan_error", |tf| {
        let test = "zero_deadline_is_a_plan_error";
        let fx = Fixture::new("zerodeadline", tf, "zero");
        let mut env = fx.env("1.2.0");
        env.health_deadline = "0s".into();
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        let plan = ws.run(&["plan"]);
        if plan.code != Some(1) {
            ws.fail(
                Some(&plan),
                &format!(
                    "plan with deadline = \"0s\" exited {:?}, expected 1",
                    plan.code
                ),
            );
        }
        // The summary, the line it points at, and the fix.
        expect_match(
            &ws,
            &plan,
            r#"(?s)Error: Invalid deadline.*in resource "bluegreen_environment" "api":\s*\d+:\s+deadline\s+=\s+"0s".*A 0s deadline fails every release before its first probe: set how long the new colour has to start and become healthy, e\.g\. "2m", or remove deadline for the default\."#,
        );
        let listed = fx.daemon.api().get("/v1/environments").expect("list");
        assert_eq!(
            listed["environments"].as_array().map(Vec::len),
            Some(0),
            "a refused plan defined something: {listed}"
        );
    });
}
