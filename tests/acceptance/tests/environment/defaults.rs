//! Gate blocks that leave their thresholds to the provider's defaults (the
//! seed's 1% error rate, 50% p95 increase, ...): create and update converge
//! to an empty plan on every CLI.

use bluegreen_acceptance::harness::{on_every_cli, ImportVerify, Step, TestCase};

use crate::update_under_load::IMPORT_IGNORES;
use crate::{bluegreen, Fixture, ADDRESS};

/// Only what keeps the test short; every threshold is the provider's default.
const GATES: &str = r#"
  health_check {
    interval = "200ms"
    deadline = "10s"
  }

  post_switch {
    window = "3s"
  }
"#;

#[test]
fn default_thresholds_converge() {
    on_every_cli("default_thresholds_converge", |tf| {
        let fx = Fixture::new("defaults", tf, "shop");
        let config = |version: &str| {
            let hcl = fx.env(version).minimal().hcl();
            let open = hcl.trim_end().strip_suffix('}').expect("a resource block");
            fx.config(&format!("{open}{GATES}}}\n"))
        };
        TestCase::new("default_thresholds_converge", bluegreen())
            .step(Step::new(config("1.2.0")).check(|state| {
                let api = state.resource(ADDRESS);
                assert_eq!(api.attr("post_switch.max_error_rate"), 0.01);
                assert_eq!(api.attr("post_switch.max_p95_increase"), 0.5);
                assert_eq!(api.attr("post_switch.min_requests"), 20);
                assert_eq!(api.attr("post_switch.auto_rollback"), true);
                assert_eq!(api.str("health_check.path"), "/api/health");
                assert_eq!(api.attr("health_check.healthy_threshold"), 2);
            }))
            .step(
                Step::new(config("1.3.0"))
                    .check(|state| assert_eq!(state.resource(ADDRESS).str("version"), "1.3.0"))
                    .import_verify(ImportVerify::new(ADDRESS).id("shop").ignore(IMPORT_IGNORES)),
            )
            .run_on(tf);
    });
}
