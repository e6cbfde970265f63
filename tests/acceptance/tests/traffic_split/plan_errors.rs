//! A tenant listed twice (in another case: tenant ids compare case-insensitively) is
//! refused at plan, at the repeat, with the fix.

use bluegreen_acceptance::harness::output::expect_match;
use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{bluegreen, Fixture, SplitConfig, PILOT};

#[test]
fn duplicate_tenants_are_a_plan_error() {
    on_every_cli("duplicate_tenants_are_a_plan_error", |tf| {
        let test = "duplicate_tenants_are_a_plan_error";
        let fx = Fixture::new("duplicates", tf, "dups");
        let split = SplitConfig::new("1.3.0", 10, &[PILOT, "tenant-b", "Pilot-Tenant-ID"]).hcl();
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&[&fx.env("1.2.0").candidate("1.3.0").hcl(), &split]));
        ws.init();
        let plan = ws.run(&["plan"]);
        if plan.code != Some(1) {
            ws.fail(
                Some(&plan),
                &format!(
                    "plan with a tenant listed twice exited {:?}, expected 1",
                    plan.code
                ),
            );
        }
        expect_match(
            &ws,
            &plan,
            r#"(?s)Error: Duplicate tenant.*in resource "bluegreen_traffic_split" "api":\s*\d+:\s+tenants\s+=.*"Pilot-Tenant-ID" is listed twice in tenants \(first at index 0 as "pilot-tenant-id"; tenant ids compare case-insensitively\): remove the repeat\."#,
        );
        let listed = fx.daemon.api().get("/v1/environments").expect("list");
        assert_eq!(
            listed["environments"].as_array().map(Vec::len),
            Some(0),
            "a refused plan defined something: {listed}"
        );
    });
}
