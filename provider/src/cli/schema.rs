//! `terraform-provider-bluegreen schema`: the provider schema as JSON.

use serde_json::{json, Map, Value as Json};
use tfplugin::provider::Provider;

/// The schema in the shape `terraform providers schema -json` prints.
pub fn provider_schema_json(provider: &dyn Provider, address: &str) -> Json {
    let resources: Map<String, Json> = provider
        .resources()
        .iter()
        .map(|r| (r.type_name().to_string(), r.schema().to_json()))
        .collect();
    let data_sources: Map<String, Json> = provider
        .data_sources()
        .iter()
        .map(|d| (d.type_name().to_string(), d.schema().to_json()))
        .collect();
    json!({
        "format_version": "1.0",
        "provider_schemas": {
            address: {
                "provider": provider.schema().to_json(),
                "resource_schemas": resources,
                "data_source_schemas": data_sources,
            }
        }
    })
}
