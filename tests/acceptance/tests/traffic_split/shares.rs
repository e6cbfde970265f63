//! With `weight = 10`, about a tenth of the requests without a tenant header
//! reach the canary; every request of a listed tenant does; no request of any
//! other tenant ever does. With another `tenant_header`, that header alone
//! identifies tenants.

use std::rc::Rc;
use std::time::Instant;

use bluegreen_acceptance::harness::{announce, on_every_cli, ImportVerify, Step, TestCase};

use crate::{bluegreen, Fixture, SplitConfig, ENV, PILOT, SPLIT, SPLIT_IMPORT_IGNORES};

/// Requests without a tenant header.
const UNTAGGED: u64 = 10_000;
/// Requests of the listed tenant.
const LISTED: u64 = 400;
/// Requests of other tenants.
const OTHERS: u64 = 400;
/// Distinct other tenants those come from.
const OTHER_TENANTS: u64 = 40;

#[test]
fn weight_and_tenants_split_the_traffic() {
    on_every_cli("weight_and_tenants_split_the_traffic", |tf| {
        let fx = Rc::new(Fixture::new("shares", tf, "shares"));
        let env = fx.env("1.2.0").candidate("1.3.0").hcl();
        let split = SplitConfig::new("1.3.0", 10, &[PILOT]).hcl();
        let name = fx.name.clone();
        let version = tf.version_string();
        let custom_header = SplitConfig::new("1.3.0", 10, &[PILOT])
            .header("X-Org")
            .hcl();
        let (fx_after, fx_header) = (fx.clone(), fx.clone());
        TestCase::new("weight_and_tenants_split_the_traffic", bluegreen())
            .step(Step::new(fx.config(&[&env])).check(|state| {
                let api = state.resource(ENV);
                assert_eq!(api.str("live_color"), "blue");
                assert_eq!(api.str("colors.blue.version"), "1.2.0");
                assert_eq!(api.str("colors.green.version"), "1.3.0");
                assert_eq!(api.str("candidate_version"), "1.3.0");
            }))
            .step(
                Step::new(fx.config(&[&env, &split]))
                    .plan_check(|plan| {
                        crate::assert_plan_shows(
                            plan,
                            &[
                                r"# bluegreen_traffic_split\.api will be created",
                                r"Plan: 1 to add, 0 to change, 0 to destroy\.",
                            ],
                        );
                    })
                    .check(move |state| {
                        let s = state.resource(SPLIT);
                        assert_eq!(s.str("id"), name);
                        assert_eq!(s.str("environment"), name);
                        assert_eq!(s.str("tenant_header"), "X-Tenant-ID");
                        assert_eq!(s.str("canary.version"), "1.3.0");
                        assert_eq!(s.attr("canary.weight").as_f64(), Some(10.0));
                        assert_eq!(s.str("canary.tenants.0"), PILOT);
                        assert_eq!(s.str("canary_color"), "green");
                        assert_eq!(s.attr("satisfied").as_bool(), Some(false));
                    })
                    .after(move |_| measure(&fx_after, &version))
                    .import_verify(
                        ImportVerify::new(SPLIT)
                            .id(&fx.name)
                            .ignore(SPLIT_IMPORT_IGNORES),
                    ),
            )
            .step(
                // Another tenant header: only it identifies tenants now.
                Step::new(fx.config(&[&env, &custom_header]))
                    .plan_check(|plan| {
                        crate::assert_plan_shows(
                            plan,
                            &[
                                r#"~ tenant_header\s+= "X-Tenant-ID" -> "X-Org""#,
                                r"Plan: 0 to add, 1 to change, 0 to destroy\.",
                            ],
                        );
                    })
                    .check(|state| {
                        assert_eq!(state.resource(SPLIT).str("tenant_header"), "X-Org");
                    })
                    .after(move |_| {
                        let front = fx_header.front_door();
                        front.assert_all(100, Some(("X-Org", PILOT)), "1.3.0", "green");
                        front.assert_all(100, Some(("x-org", "tenant-3")), "1.2.0", "blue");
                    })
                    .import_verify(
                        ImportVerify::new(SPLIT)
                            .id(&fx.name)
                            .ignore(SPLIT_IMPORT_IGNORES),
                    ),
            )
            .run_on(tf);
    });
}

/// Counts who answers untagged, listed-tenant and other-tenant requests.
fn measure(fx: &Fixture, version: &str) {
    let front = fx.front_door();
    let routing = fx.routing();
    assert_eq!(routing["primary"], "blue", "{routing}");
    assert_eq!(routing["canary"]["color"], "green", "{routing}");
    assert_eq!(routing["canary"]["weight"], 10, "{routing}");
    assert_eq!(
        routing["canary"]["tenants"],
        serde_json::json!([PILOT]),
        "{routing}"
    );

    let started = Instant::now();
    let untagged = front.tally(UNTAGGED, |_| None);
    let canary = untagged.served("1.3.0", "green");
    let live = untagged.served("1.2.0", "blue");
    let share = canary as f64 * 100.0 / UNTAGGED as f64;
    // Header names are case-insensitive: half of them spelled in lower case.
    let listed = front.tally(LISTED, |i| {
        let header = if i % 2 == 0 {
            "X-Tenant-ID"
        } else {
            "x-tenant-id"
        };
        Some((header.to_string(), PILOT.to_string()))
    });
    let others = front.tally(OTHERS, |i| match i % OTHER_TENANTS {
        // Near misses of the listed id are other tenants too.
        0 => crate::tenant("pilot"),
        1 => crate::tenant("pilot-tenant-id-2"),
        n => crate::tenant(&format!("tenant-{n}")),
    });
    let elapsed = started.elapsed().as_secs_f64();
    announce(&format!(
        "acceptance: weight_and_tenants_split_the_traffic on Terraform v{version}: canary share of {UNTAGGED} untagged requests {share:.2}% ({canary} to 1.3.0/green, {live} to 1.2.0/blue); listed tenant {} of {LISTED} to the canary; other tenants {} of {OTHERS} to the canary; {} requests in {elapsed:.1}s",
        listed.served("1.3.0", "green"),
        others.served("1.3.0", "green"),
        untagged.total() + listed.total() + others.total(),
    ));

    assert_eq!(
        canary + live,
        UNTAGGED,
        "every untagged request must be answered 200 by 1.3.0 on green or 1.2.0 on blue: {untagged}"
    );
    assert!(
        (8.5..=11.5).contains(&share),
        "with weight 10 the canary must get 10 ± 1.5 % of untagged requests, got {share:.2}%: {untagged}"
    );
    assert_eq!(
        listed.served("1.3.0", "green"),
        LISTED,
        "every request of the listed tenant {PILOT:?} must reach the canary: {listed}"
    );
    assert_eq!(
        others.served("1.2.0", "blue"),
        OTHERS,
        "no request of another tenant may reach the canary: {others}"
    );
}
