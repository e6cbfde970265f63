//! Sensitive values stay out of plan output and out of the provider's logs.

use bluegreen_acceptance::harness::workspace::provider_log_lines;
use bluegreen_acceptance::harness::{Step, TestCase, Workspace};
use bluegreen_acceptance::testprovider::LOG_MODULE;

use crate::{bgtest, config, store_is_empty};

const FIRST: &str = "first-Secret-7d1f";
const SECOND: &str = "second-Secret-93ab";

fn thing(secret: &str) -> String {
    config(&format!(
        r#"
resource "bgtest_thing" "s" {{
  name   = "guarded"
  value  = "public"
  secret = "{secret}"
}}
"#
    ))
}

/// No provider log line mentions either secret, and there are provider lines
/// at all (a trace log without them would prove nothing).
fn provider_logs_are_clean(ws: &Workspace) {
    let log = ws.trace_log();
    let binary = ws.provider().plugin_name();
    let ours = provider_log_lines(&log, &binary);
    assert!(
        ours.iter().any(|l| l.contains("created bgtest_thing")),
        "no provider log lines in {} ({} lines from {binary})",
        ws.log_path().display(),
        ours.len()
    );
    assert!(
        ours.iter().any(|l| l.contains(LOG_MODULE)),
        "provider lines carry @module {LOG_MODULE}"
    );
    for secret in [FIRST, SECOND] {
        let leaks: Vec<&&str> = ours.iter().filter(|l| l.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "the provider logged the secret:\n{}",
            leaks.iter().map(|l| **l).collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn sensitive() {
    TestCase::new("sensitive", bgtest())
        .step(
            Step::new(thing(FIRST))
                .plan_check(|plan| {
                    assert!(
                        regex::Regex::new(r"\+ secret\s+= \(sensitive value\)")
                            .expect("regex")
                            .is_match(&plan.stdout),
                        "{}",
                        plan.stdout
                    );
                    assert!(
                        !plan.stdout.contains(FIRST) && !plan.stderr.contains(FIRST),
                        "{}",
                        plan.stdout
                    );
                })
                .check(|state| assert_eq!(state.resource("bgtest_thing.s").str("secret"), FIRST))
                .after(provider_logs_are_clean),
        )
        .step(
            Step::new(thing(SECOND))
                .plan_check(|plan| {
                    assert!(
                        regex::Regex::new(r"~ secret\s+= \(sensitive value\)")
                            .expect("regex")
                            .is_match(&plan.stdout),
                        "{}",
                        plan.stdout
                    );
                    assert!(
                        !plan.stdout.contains(FIRST) && !plan.stdout.contains(SECOND),
                        "{}",
                        plan.stdout
                    );
                })
                .after(provider_logs_are_clean),
        )
        .check_destroy(store_is_empty)
        .run();
}
