//! Changes made behind Terraform's back (in the provider's store) show in the
//! next plan, and apply puts things back.

use bluegreen_acceptance::harness::{Step, TestCase, Workspace};
use bluegreen_acceptance::testprovider::thing::STORE_KIND;

use crate::{bgtest, config, store, store_is_empty, things};

const THING: &str = r#"
resource "bgtest_thing" "a" {
  name  = "drifty"
  value = "original"
  tags  = { owner = "terraform" }
}
"#;

/// Edits the only stored thing: what someone with console access might do.
fn edit_behind_terraforms_back(ws: &Workspace) {
    let store = store(ws);
    let ids = store.ids(STORE_KIND).expect("list the store");
    assert_eq!(ids.len(), 1, "one thing in the store: {ids:?}");
    let mut json = store
        .get(STORE_KIND, &ids[0])
        .expect("read")
        .expect("exists");
    json["value"] = "drifted".into();
    json["tags"]["owner"] = "console".into();
    store.put(STORE_KIND, &ids[0], &json).expect("write");
}

fn delete_behind_terraforms_back(ws: &Workspace) {
    let store = store(ws);
    for id in store.ids(STORE_KIND).expect("list the store") {
        store.delete(STORE_KIND, &id).expect("delete");
    }
}

#[test]
fn drift() {
    TestCase::new("drift", bgtest())
        .step(Step::new(config(THING)).check(|state| {
            assert_eq!(state.resource("bgtest_thing.a").str("value"), "original");
        }))
        .step(
            Step::new(config(THING))
                .before(|ws| {
                    edit_behind_terraforms_back(ws);
                    let plan = ws.plan();
                    assert_eq!(
                        plan.code,
                        Some(2),
                        "a drifted object must show as a change:\n{}",
                        plan.stdout
                    );
                    let out = &plan.stdout;
                    assert!(
                        out.contains("# bgtest_thing.a will be updated in-place"),
                        "{out}"
                    );
                    assert!(
                        regex::Regex::new(r#"~ value\s+= "drifted" -> "original""#)
                            .expect("regex")
                            .is_match(out),
                        "{out}"
                    );
                    assert!(
                        regex::Regex::new(r#"~ "owner" = "console" -> "terraform""#)
                            .expect("regex")
                            .is_match(out),
                        "{out}"
                    );
                })
                .after(|ws| {
                    let things = things(ws);
                    assert_eq!(things.len(), 1);
                    assert_eq!(
                        things[0].value.as_deref(),
                        Some("original"),
                        "apply restored the store"
                    );
                    assert_eq!(
                        things[0]
                            .tags
                            .as_ref()
                            .and_then(|t| t.get("owner"))
                            .map(String::as_str),
                        Some("terraform")
                    );
                }),
        )
        .step(
            Step::new(config(THING))
                .before(|ws| {
                    delete_behind_terraforms_back(ws);
                    let plan = ws.plan();
                    assert_eq!(
                        plan.code,
                        Some(2),
                        "a deleted object must be planned again:\n{}",
                        plan.stdout
                    );
                    assert!(
                        plan.stdout.contains("# bgtest_thing.a will be created"),
                        "{}",
                        plan.stdout
                    );
                })
                .after(|ws| assert_eq!(things(ws).len(), 1, "apply re-created the thing")),
        )
        .check_destroy(store_is_empty)
        .run();
}
