//! Routing changed behind Terraform's back shows as drift of the split:
//! `plan -detailed-exitcode` exits 2 with the canary change, and apply puts
//! the declared routing back on the front door.

use std::rc::Rc;

use bluegreen_acceptance::harness::{on_every_cli, Step, TestCase};
use serde_json::json;

use crate::{assert_plan_shows, bluegreen, bluegreen_local, Fixture, SplitConfig, PILOT, SPLIT};

/// Fails unless the front door routes the declared canary again.
fn assert_declared(fx: &Fixture) {
    let routing = fx.routing();
    assert_eq!(routing["primary"], "blue", "{routing}");
    assert_eq!(
        routing["canary"],
        json!({"color": "green", "weight": 10, "tenants": [PILOT]}),
        "the declared canary must be back: {routing}"
    );
    let front = fx.front_door();
    front.assert_all(50, Some(("X-Tenant-ID", PILOT)), "1.3.0", "green");
    front.assert_all(50, Some(("X-Tenant-ID", "intruder")), "1.2.0", "blue");
}

fn check_split(state: &bluegreen_acceptance::harness::State) {
    let s = state.resource(SPLIT);
    assert_eq!(s.attr("canary.weight").as_f64(), Some(10.0));
    assert_eq!(s.attr("canary.tenants"), &json!([PILOT]));
}

#[test]
fn routing_changed_outside_terraform_shows_as_drift() {
    on_every_cli("routing_changed_outside_terraform_shows_as_drift", |tf| {
        let fx = Rc::new(Fixture::new("drift", tf, "drift"));
        let env = fx.env("1.2.0").candidate("1.3.0").hcl();
        let with_split = fx.config(&[&env, &SplitConfig::new("1.3.0", 10, &[PILOT]).hcl()]);
        let (fx1, fx2, fx3, fx4) = (fx.clone(), fx.clone(), fx.clone(), fx.clone());
        TestCase::new(
            "routing_changed_outside_terraform_shows_as_drift",
            bluegreen(),
        )
        .step(Step::new(fx.config(&[&env])))
        .step(Step::new(with_split.clone()).check(check_split))
        .step(
            // The on-call switch sends everything to the live colour.
            Step::new(with_split.clone())
                .before(move |_| {
                    let said = bluegreen_local(
                        &fx1,
                        &["switch", &fx1.name, "blue", "-m", "acceptance: drill"],
                    );
                    assert!(said.contains("all traffic now goes to blue"), "{said}");
                    fx1.assert_no_canary("blue");
                    fx1.front_door()
                        .assert_all(20, Some(("X-Tenant-ID", PILOT)), "1.2.0", "blue");
                })
                .plan_check(|plan| {
                    assert_eq!(plan.code, Some(2), "the switch must show as a change");
                    assert_plan_shows(
                        plan,
                        &[
                            r"# bluegreen_traffic_split\.api will be updated in-place",
                            r"~ weight\s+= 0 -> 10",
                            r#"\+ "pilot-tenant-id""#,
                            r"Plan: 0 to add, 1 to change, 0 to destroy\.",
                        ],
                    );
                })
                .check(check_split)
                .after(move |_| assert_declared(&fx2)),
        )
        .step(
            // An operator's PUT with the token: another weight, another tenant.
            Step::new(with_split)
                .before(move |_| {
                    fx3.put_routing(&json!({
                        "primary": "blue",
                        "canary": {"color": "green", "weight": 50, "tenants": ["intruder"]},
                        "actor": "acceptance",
                        "message": "hand-made change",
                    }));
                    fx3.front_door().assert_all(
                        20,
                        Some(("X-Tenant-ID", "intruder")),
                        "1.3.0",
                        "green",
                    );
                })
                .plan_check(|plan| {
                    assert_eq!(
                        plan.code,
                        Some(2),
                        "the hand-made routing must show as a change"
                    );
                    assert_plan_shows(
                        plan,
                        &[
                            r"# bluegreen_traffic_split\.api will be updated in-place",
                            r"~ weight\s+= 50 -> 10",
                            // 1.11 pairs list items up; 1.0 lists removals, then additions.
                            r#"(~ "intruder" -> "pilot-tenant-id"|- "intruder",?\s+\+ "pilot-tenant-id")"#,
                            r"Plan: 0 to add, 1 to change, 0 to destroy\.",
                        ],
                    );
                })
                .check(check_split)
                .after(move |_| assert_declared(&fx4)),
        )
        .run_on(tf);
    });
}
