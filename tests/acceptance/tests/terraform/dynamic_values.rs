//! Dynamically typed attributes (`bgtest_data`, terraform_data's schema): values of any
//! type round-trip with their type, `output` is known at plan when `input` is and
//! unknown when it comes from another resource's computed id, and a change of a
//! dynamic `triggers_replace` forces replacement.

use std::cell::RefCell;
use std::rc::Rc;

use bluegreen_acceptance::harness::{Step, TestCase};
use regex::Regex;
use serde_json::json;

use crate::{bgtest, config};

const VALUES: &str = r#"
resource "bgtest_data" "object" {
  input = {
    name    = "alpha"
    weights = [1, 2.5, -3]
    enabled = true
    nested  = { tags = ["x", "y"] }
  }
  triggers_replace = ["v1"]
}

resource "bgtest_data" "chained" {
  input = bgtest_data.object.id
}

resource "bgtest_data" "number" {
  input = 0.1
}
"#;

fn assert_matches(text: &str, pattern: &str) {
    let re = Regex::new(pattern).expect("valid regex");
    assert!(re.is_match(text), "expected /{pattern}/ in:\n{text}");
}

#[test]
fn dynamic_values() {
    let first_id = Rc::new(RefCell::new(String::new()));
    let (id_set, id_check) = (first_id.clone(), first_id.clone());
    TestCase::new("dynamic_values", bgtest())
        .step(
            Step::new(config(VALUES))
                .plan_check(|plan| {
                    let out = &plan.stdout;
                    // Known input: the output is planned from it, with its type.
                    assert_matches(out, r#"\+ name\s+= "alpha""#);
                    assert_matches(out, r"\+ enabled\s+= true");
                    assert_matches(out, r"\+ output\s+= 0\.1");
                    // Input from another resource's id: unknown until apply.
                    assert_matches(out, r"\+ input\s+= \(known after apply\)");
                    assert!(
                        out.contains("Plan: 3 to add, 0 to change, 0 to destroy."),
                        "{out}"
                    );
                })
                .check(move |state| {
                    let object = state.resource("bgtest_data.object");
                    let expected = json!({
                        "name": "alpha",
                        "weights": [1, 2.5, -3],
                        "enabled": true,
                        "nested": {"tags": ["x", "y"]}
                    });
                    assert_eq!(object.attr("input"), &expected);
                    assert_eq!(object.attr("output"), &expected);
                    let chained = state.resource("bgtest_data.chained");
                    assert_eq!(chained.str("output"), object.str("id"));
                    // 0.1 is not a double: it must survive as the decimal Terraform wrote.
                    assert_eq!(
                        state.resource("bgtest_data.number").attr("output"),
                        &json!(0.1)
                    );
                    *id_set.borrow_mut() = object.str("id").to_string();
                }),
        )
        .step(
            Step::new(config(&VALUES.replace(r#"["v1"]"#, r#"["v2"]"#)))
                .plan_check(|plan| {
                    let out = &plan.stdout;
                    assert!(
                        out.contains("# bgtest_data.object must be replaced"),
                        "{out}"
                    );
                    // 1.0 and 1.11 render the list change differently; both show "v2".
                    assert!(out.contains(r#""v2""#), "{out}");
                    // The chained resource's input follows the new id.
                    assert!(
                        out.contains("# bgtest_data.chained will be updated in-place"),
                        "{out}"
                    );
                    assert!(
                        out.contains("Plan: 1 to add, 1 to change, 1 to destroy."),
                        "{out}"
                    );
                })
                .check(move |state| {
                    let object = state.resource("bgtest_data.object");
                    assert_ne!(object.str("id"), id_check.borrow().as_str());
                    assert_eq!(
                        state.resource("bgtest_data.chained").str("output"),
                        object.str("id")
                    );
                }),
        )
        .run();
}
