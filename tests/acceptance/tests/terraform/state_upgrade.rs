//! State written with schema version 0 (where `value` was `old_value`) is
//! upgraded by the provider: plans read the moved value, and refresh writes
//! version 1.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};
use serde_json::Value as Json;

use crate::{bgtest, config, store_is_empty};

fn thing(value: &str) -> String {
    config(&format!(
        r#"
resource "bgtest_thing" "old" {{
  name  = "legacy"
  value = "{value}"
}}
"#
    ))
}

fn read_state(ws: &Workspace) -> Json {
    serde_json::from_slice(&std::fs::read(ws.state_file()).expect("read the state"))
        .expect("state is JSON")
}

/// Rewrites the state file as schema version 0 wrote it: `value` was called
/// `old_value`. Everything else stays as this CLI writes it (state format 4,
/// and its own way of recording sensitive paths, which differs between CLI
/// versions and would otherwise show as a change of its own).
fn downgrade_state_to_v0(ws: &Workspace) {
    let mut state = read_state(ws);
    assert_eq!(state["version"], 4, "state format 4");
    let instance = &mut state["resources"][0]["instances"][0];
    assert_eq!(
        instance["schema_version"], 1,
        "the provider writes version 1: {instance}"
    );
    instance["schema_version"] = 0.into();
    let attrs = instance["attributes"]
        .as_object_mut()
        .expect("attributes object");
    let value = attrs.remove("value").expect("value attribute");
    attrs.insert("old_value".into(), value);
    std::fs::write(
        ws.state_file(),
        serde_json::to_vec_pretty(&state).expect("json"),
    )
    .expect("write the state");
}

#[test]
fn state_upgrade() {
    on_every_cli("state_upgrade", |tf| {
        let ws = Workspace::new("state_upgrade", tf, &bgtest());
        ws.write_config(&thing("hello"));
        ws.init();
        ws.apply();
        let id = ws.show().resource("bgtest_thing.old").str("id").to_string();
        downgrade_state_to_v0(&ws);

        // Without refresh, only UpgradeResourceState can have put "hello" back
        // into `value`: the plan is empty only if it did.
        let plan = ws.run(&["plan", "-refresh=false", "-detailed-exitcode"]);
        if plan.code != Some(0) {
            ws.fail(
                Some(&plan),
                "the upgraded state should match the configuration",
            );
        }
        // And a different configured value is a change from the moved one.
        ws.write_config(&thing("world"));
        let plan = ws.run(&["plan", "-refresh=false", "-detailed-exitcode"]);
        let moved = regex::Regex::new(r#"~ value\s+= "hello" -> "world""#).expect("regex");
        if plan.code != Some(2) || !moved.is_match(&plan.stdout) {
            ws.fail(
                Some(&plan),
                "the plan should change the upgraded value \"hello\" to \"world\"",
            );
        }

        // Refresh rewrites the state with schema version 1.
        ws.write_config(&thing("hello"));
        ws.refresh();
        let state = read_state(&ws);
        let instance = &state["resources"][0]["instances"][0];
        assert_eq!(
            instance["schema_version"], 1,
            "refresh wrote the current schema version: {instance}"
        );
        assert_eq!(instance["attributes"]["value"], "hello", "{instance}");
        assert!(
            instance["attributes"].get("old_value").is_none(),
            "old_value is gone: {instance}"
        );
        ws.assert_plan_empty("after refresh of the upgraded state");

        // The upgraded resource is managed as usual and converges.
        ws.write_config(&thing("world"));
        ws.apply();
        let shown = ws.show();
        let old = shown.resource("bgtest_thing.old");
        assert_eq!(old.str("value"), "world");
        assert_eq!(old.str("id"), id, "updated in place, not replaced");
        assert_eq!(old.attr("length"), 5);
        ws.assert_plan_empty("after apply of the upgraded resource");
        ws.destroy();
        store_is_empty(&ws);
    });
}
