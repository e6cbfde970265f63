//! State written with schema version 0 (where `value` was `old_value`) is
//! upgraded by the provider: plans read the moved value, and refresh writes
//! version 1.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};
use bluegreen_acceptance::testprovider::thing::{ThingRecord, STORE_KIND};
use serde_json::json;

use crate::{bgtest, config, store, store_is_empty};

const ID: &str = "thing-legacy-0";

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

/// A v4 state file holding the thing as schema version 0 wrote it, and the
/// object itself in the store.
fn write_legacy_state(ws: &Workspace) {
    let record = ThingRecord {
        id: ID.into(),
        name: "legacy".into(),
        value: Some("hello".into()),
        secret: None,
        tags: None,
        labels: None,
        rules: Vec::new(),
        settings: None,
        delay: None,
    };
    store(ws).put(STORE_KIND, ID, &record.to_json()).expect("write the store");
    let provider = format!("provider[\"{}\"]", bgtest().address());
    let state = json!({
        "version": 4,
        // Older than every CLI under test, so none refuses the file.
        "terraform_version": "1.0.0",
        "serial": 1,
        "lineage": "6b7bd5e4-3b1c-4f4e-9d7a-0b1e2c3d4e5f",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "bgtest_thing",
            "name": "old",
            "provider": provider,
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": ID,
                    "name": "legacy",
                    "old_value": "hello",
                    "secret": null,
                    "tags": null,
                    "labels": null,
                    "length": 5,
                    "delay": null,
                    "rule": [],
                    "settings": null,
                    "timeouts": null
                },
                "sensitive_attributes": []
            }]
        }]
    });
    std::fs::write(ws.state_file(), serde_json::to_vec_pretty(&state).expect("json")).expect("write the state");
}

fn stored_state(ws: &Workspace) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(ws.state_file()).expect("read the state")).expect("state is JSON")
}

#[test]
fn state_upgrade() {
    on_every_cli("state_upgrade", |tf| {
        let ws = Workspace::new("state_upgrade", tf, &bgtest());
        ws.write_config(&thing("hello"));
        ws.init();
        write_legacy_state(&ws);

        // Without refresh, only UpgradeResourceState can have put "hello" into
        // `value`: the plan is empty only if it did.
        ws.write_config(&thing("hello"));
        let plan = ws.run(&["plan", "-refresh=false", "-detailed-exitcode"]);
        if plan.code != Some(0) {
            ws.fail(Some(&plan), "the upgraded state should match the configuration");
        }
        // And a different configured value is a change from the moved one.
        ws.write_config(&thing("world"));
        let plan = ws.run(&["plan", "-refresh=false", "-detailed-exitcode"]);
        let moved = regex::Regex::new(r#"~ value\s+= "hello" -> "world""#).expect("regex");
        if plan.code != Some(2) || !moved.is_match(&plan.stdout) {
            ws.fail(Some(&plan), "the plan should change the upgraded value \"hello\" to \"world\"");
        }

        // Refresh rewrites the state with schema version 1.
        ws.write_config(&thing("hello"));
        ws.refresh();
        let state = stored_state(&ws);
        let instance = &state["resources"][0]["instances"][0];
        assert_eq!(instance["schema_version"], 1, "refresh wrote the current schema version: {instance}");
        assert_eq!(instance["attributes"]["value"], "hello", "{instance}");
        assert!(instance["attributes"].get("old_value").is_none(), "old_value is gone: {instance}");
        ws.assert_plan_empty("after refresh of the upgraded state");

        // The upgraded resource is managed as usual and converges.
        ws.write_config(&thing("world"));
        ws.apply();
        let shown = ws.show();
        let old = shown.resource("bgtest_thing.old");
        assert_eq!(old.str("value"), "world");
        assert_eq!(old.str("id"), ID, "updated in place, not replaced");
        assert_eq!(old.attr("length"), 5);
        ws.assert_plan_empty("after apply of the upgraded resource");
        ws.destroy();
        store_is_empty(&ws);
    });
}
