//! Create with nested blocks, sets, maps and a sensitive value; update in
//! place; a change that forces replacement; import; destroy.

use std::cell::RefCell;
use std::rc::Rc;

use bluegreen_acceptance::harness::{ImportVerify, Step, TestCase};
use regex::Regex;

use crate::{bgtest, config, store_is_empty};

const CREATE: &str = r#"
resource "bgtest_thing" "a" {
  name   = "alpha"
  value  = "hello"
  secret = "lifecycle-secret"
  tags   = { env = "test", team = "core" }
  labels = ["x", "y"]

  rule {
    key = "k1"
    val = "v1"
  }
  rule {
    key = "k2"
  }

  settings {}

  timeouts {
    create = "2m"
  }
}
"#;

fn assert_matches(text: &str, pattern: &str) {
    let re = Regex::new(pattern).expect("valid regex");
    assert!(re.is_match(text), "expected /{pattern}/ in:\n{text}");
}

#[test]
fn lifecycle() {
    let id = Rc::new(RefCell::new(String::new()));
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    TestCase::new("lifecycle", bgtest())
        .step(
            Step::new(config(CREATE))
                .plan_check(|plan| {
                    let out = &plan.stdout;
                    assert!(out.contains("# bgtest_thing.a will be created"), "{out}");
                    assert_matches(out, r"\+ id\s+= \(known after apply\)");
                    assert_matches(out, r"\+ length\s+= \(known after apply\)");
                    assert_matches(out, r"\+ secret\s+= \(sensitive value\)");
                    assert_matches(out, r#"\+ out\s+= "k1=v1""#);
                    assert_matches(out, r#"\+ mode\s+= "fast""#);
                    assert!(
                        !out.contains("lifecycle-secret"),
                        "the secret shows in the plan:\n{out}"
                    );
                    assert!(
                        out.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
                        "{out}"
                    );
                })
                .check(move |state| {
                    let a = state.resource("bgtest_thing.a");
                    assert!(a.str("id").starts_with("thing-"), "id {}", a.str("id"));
                    assert_eq!(a.attr("length"), 5);
                    assert_eq!(a.str("secret"), "lifecycle-secret");
                    assert_eq!(a.str("tags.env"), "test");
                    assert_eq!(a.str("tags.team"), "core");
                    let mut labels: Vec<&str> = a
                        .attr("labels")
                        .as_array()
                        .expect("labels is a list")
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect();
                    labels.sort_unstable();
                    assert_eq!(labels, ["x", "y"]);
                    assert_eq!(a.str("rule.0.out"), "k1=v1");
                    assert_eq!(a.str("rule.1.out"), "k2=");
                    assert!(a.is_null("rule.1.val"));
                    assert_eq!(a.str("settings.mode"), "fast");
                    assert_eq!(a.str("timeouts.create"), "2m");
                    *id1.borrow_mut() = a.str("id").to_string();
                })
                // `timeouts` is configuration only: an import cannot know it.
                .import_verify(ImportVerify::new("bgtest_thing.a").ignore(&["timeouts"])),
        )
        .step(
            Step::new(config(
                &CREATE
                    .replace(r#"value  = "hello""#, r#"value  = "hello, world""#)
                    .replace("settings {}", "settings {\n    mode = \"slow\"\n  }")
                    .replace(r#"labels = ["x", "y"]"#, r#"labels = ["y", "z"]"#),
            ))
            .plan_check(|plan| {
                let out = &plan.stdout;
                assert!(
                    out.contains("# bgtest_thing.a will be updated in-place"),
                    "{out}"
                );
                assert_matches(out, r"~ length\s+= 5 -> \(known after apply\)");
                assert_matches(out, r#"~ value\s+= "hello" -> "hello, world""#);
                assert_matches(out, r#"~ mode\s+= "fast" -> "slow""#);
                assert!(
                    out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
                    "{out}"
                );
            })
            .check(move |state| {
                let a = state.resource("bgtest_thing.a");
                assert_eq!(
                    a.str("id"),
                    id2.borrow().as_str(),
                    "an in-place update kept the id"
                );
                assert_eq!(a.attr("length"), 12);
                assert_eq!(a.str("settings.mode"), "slow");
            })
            .import_verify(ImportVerify::new("bgtest_thing.a").ignore(&["timeouts"])),
        )
        .step(
            Step::new(config(
                &CREATE.replace(r#"name   = "alpha""#, r#"name   = "beta""#),
            ))
            .plan_check(|plan| {
                let out = &plan.stdout;
                assert!(out.contains("# bgtest_thing.a must be replaced"), "{out}");
                assert_matches(out, r#"~ name\s+= "alpha" -> "beta" # forces replacement"#);
                assert!(
                    out.contains("Plan: 1 to add, 0 to change, 1 to destroy."),
                    "{out}"
                );
            })
            .check(move |state| {
                let a = state.resource("bgtest_thing.a");
                assert_ne!(
                    a.str("id"),
                    id3.borrow().as_str(),
                    "replacement assigns a new id"
                );
                assert_eq!(a.str("name"), "beta");
                assert_eq!(a.attr("length"), 5);
            }),
        )
        .check_destroy(store_is_empty)
        .run();
}
