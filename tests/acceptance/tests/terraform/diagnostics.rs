//! Diagnostics with attribute paths: Terraform shows our summary and points
//! at the offending line of the configuration.

use bluegreen_acceptance::harness::{Expect, Step, TestCase};

use crate::{bgtest, config, line_of, store_is_empty};

const VALID: &str = r#"
resource "bgtest_thing" "a" {
  name  = "checked"
  value = "fine"

  rule {
    key = "ok"
  }
}
"#;

/// Our summary, then Terraform's source reference to `line` showing `code`.
fn points_at(summary: &str, line: usize, code: &str) -> Expect {
    Expect::regex(&format!(
        r#"Error: {}\n\n\s*with bgtest_thing\.a,\n\s*on main\.tf line {line}, in resource "bgtest_thing" "a":\n\s*{line}:\s+{}"#,
        regex::escape(summary),
        code
    ))
}

#[test]
fn diagnostics_with_paths() {
    let invalid_value = config(&VALID.replace(r#"value = "fine""#, r#"value = "invalid""#));
    let value_line = line_of(&invalid_value, r#"value = "invalid""#);
    let empty_key = config(&VALID.replace(r#"key = "ok""#, r#"key = """#));
    let key_line = line_of(&empty_key, r#"key = """#);
    let bad_delay = config(&VALID.replace(r#"value = "fine""#, r#"delay = "10""#));
    let delay_line = line_of(&bad_delay, r#"delay = "10""#);
    TestCase::new("diagnostics_with_paths", bgtest())
        .step(Step::new(config(VALID)))
        .step(Step::new(invalid_value).expect_error(points_at(
            r#"value must not be "invalid""#,
            value_line,
            r#"value = "invalid""#,
        )))
        .step(Step::new(empty_key).expect_error(points_at(
            "rule key must not be empty",
            key_line,
            r#"key = """#,
        )))
        .step(Step::new(bad_delay).expect_error(points_at(
            "Invalid delay",
            delay_line,
            r#"delay = "10""#,
        )))
        .check_destroy(store_is_empty)
        .run();
}
