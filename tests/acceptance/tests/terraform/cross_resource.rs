//! Values unknown at plan and known after apply, across resources and
//! through data sources.

use bluegreen_acceptance::harness::{Step, TestCase};

use crate::{bgtest, config, store_is_empty};

const CHAIN: &str = r#"
resource "bgtest_thing" "a" {
  name = "source"
}

resource "bgtest_thing" "b" {
  name  = "sink"
  value = bgtest_thing.a.id

  rule {
    key = "from"
    val = bgtest_thing.a.id
  }
}
"#;

#[test]
fn cross_resource_unknowns() {
    TestCase::new("cross_resource_unknowns", bgtest())
        .step(
            Step::new(config(CHAIN))
                .plan_check(|plan| {
                    let out = &plan.stdout;
                    assert!(
                        regex::Regex::new(r"\+ value\s+= \(known after apply\)")
                            .expect("regex")
                            .is_match(out),
                        "b.value should be unknown at plan:\n{out}"
                    );
                    assert!(
                        regex::Regex::new(r"\+ out\s+= \(known after apply\)")
                            .expect("regex")
                            .is_match(out),
                        "b.rule[0].out should be unknown at plan:\n{out}"
                    );
                    assert!(
                        out.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
                        "{out}"
                    );
                })
                .check(|state| {
                    let (a, b) = (
                        state.resource("bgtest_thing.a"),
                        state.resource("bgtest_thing.b"),
                    );
                    assert!(a.is_null("value"));
                    assert_eq!(a.attr("length"), 0);
                    assert_eq!(b.str("value"), a.str("id"));
                    assert_eq!(b.attr("length"), a.str("id").chars().count());
                    assert_eq!(b.str("rule.0.out"), format!("from={}", a.str("id")));
                }),
        )
        .step(
            // Replacing a gives it a new id: b's value is unknown again and
            // b is updated in place with the new id.
            Step::new(config(
                &CHAIN.replace(r#"name = "source""#, r#"name = "source2""#),
            ))
            .plan_check(|plan| {
                let out = &plan.stdout;
                assert!(out.contains("# bgtest_thing.a must be replaced"), "{out}");
                assert!(
                    out.contains("# bgtest_thing.b will be updated in-place"),
                    "{out}"
                );
                assert!(
                    regex::Regex::new(r#"~ value\s+= "thing-[^"]+" -> \(known after apply\)"#)
                        .expect("regex")
                        .is_match(out),
                    "{out}"
                );
                assert!(
                    out.contains("Plan: 1 to add, 1 to change, 1 to destroy."),
                    "{out}"
                );
            })
            .check(|state| {
                let (a, b) = (
                    state.resource("bgtest_thing.a"),
                    state.resource("bgtest_thing.b"),
                );
                assert_eq!(a.str("name"), "source2");
                assert_eq!(b.str("value"), a.str("id"));
            }),
        )
        .check_destroy(store_is_empty)
        .run();
}

const ECHO: &str = r#"
data "bgtest_echo" "static" {
  input = "hello"
}

resource "bgtest_thing" "a" {
  name  = "from-data"
  value = data.bgtest_echo.static.output
}

data "bgtest_echo" "late" {
  input = bgtest_thing.a.id
}

resource "bgtest_thing" "b" {
  name  = "from-late-data"
  value = data.bgtest_echo.late.output
}

output "echoed" {
  value = data.bgtest_echo.late.output
}
"#;

#[test]
fn data_source() {
    TestCase::new("data_source", bgtest())
        .step(
            Step::new(config(ECHO))
                .plan_check(|plan| {
                    let out = &plan.stdout;
                    // Known config: read at plan time, so a's value is known.
                    assert!(
                        regex::Regex::new(r#"\+ value\s+= "hello""#)
                            .expect("regex")
                            .is_match(out),
                        "a.value should be known at plan:\n{out}"
                    );
                    // Config unknown until a exists: read during apply.
                    assert!(
                        out.contains("data.bgtest_echo.late will be read during apply"),
                        "{out}"
                    );
                })
                .check(|state| {
                    assert_eq!(
                        state.resource("data.bgtest_echo.static").str("output"),
                        "hello"
                    );
                    let a = state.resource("bgtest_thing.a");
                    assert_eq!(a.str("value"), "hello");
                    assert_eq!(
                        state.resource("data.bgtest_echo.late").str("output"),
                        a.str("id")
                    );
                    assert_eq!(state.resource("bgtest_thing.b").str("value"), a.str("id"));
                    let outputs = &state.json()["values"]["outputs"];
                    assert_eq!(
                        outputs["echoed"]["value"].as_str(),
                        Some(a.str("id")),
                        "{outputs}"
                    );
                }),
        )
        .check_destroy(store_is_empty)
        .run();
}
