//! Every field Microsoft's examples show is in the emulator's answers (values
//! aside). Fields that exist only when a client configures them (identity
//! details, Dapr, cache settings, ...) are listed as such.

mod common;

use std::collections::BTreeSet;

use common::{admin, arm, start, token, wait_operation};
use serde_json::{json, Value};

fn example(name: &str, status: &str) -> Value {
    let path = format!("{}/tests/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["responses"][status]["body"].clone()
}

/// Key paths to depth 4; the elements of an array of objects all contribute, as `[]`.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if prefix.matches('/').count() >= 4 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = format!("{prefix}/{k}");
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|i| i.is_object()) {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn missing(example: &Value, ours: &Value, configured_only: &[&str]) -> Vec<String> {
    let (mut want, mut have) = (BTreeSet::new(), BTreeSet::new());
    paths(example, "", &mut want);
    paths(ours, "", &mut have);
    want.difference(&have)
        .filter(|p| !configured_only.iter().any(|c| p.starts_with(c)))
        .cloned()
        .collect()
}

#[tokio::test]
async fn answers_carry_every_field_of_microsofts_examples() {
    let emu = start().await;
    let info = &emu.info;
    let (_, ids) = admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    let t = token(info).await;
    let id = |k: &str| ids[k].as_str().unwrap_or("").to_string();
    let get = |url: String, version: &'static str| {
        let t = t.clone();
        async move {
            arm(
                info,
                "GET",
                &format!("{url}?api-version={version}"),
                &t,
                None,
            )
            .await
            .body
        }
    };
    let cdn = "2025-06-01";
    let app = "2025-07-01";
    let rule_url = format!("{}/rules/r1", id("rule_set_id"));
    let put = arm(info, "PUT", &format!("{rule_url}?api-version={cdn}"), &t, Some(json!({"properties": {
        "order": 1,
        "conditions": [{"name": "RequestMethod", "parameters": {"typeName": "DeliveryRuleRequestMethodConditionParameters", "operator": "Equal", "matchValues": ["GET"], "negateCondition": false, "transforms": []}}],
        "actions": [{"name": "ModifyResponseHeader", "parameters": {"typeName": "DeliveryRuleHeaderActionParameters", "headerAction": "Overwrite", "headerName": "X-CDN", "value": "MSFT"}}],
    }}))).await;
    assert_eq!(put.status, 202, "{:?}", put.body);
    let operation =
        wait_operation(info, put.header("azure-asyncoperation").unwrap_or(""), &t).await;

    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "Profiles_Get.json",
            get(id("profile_id"), cdn).await,
            vec![],
        ),
        (
            "AFDEndpoints_Get.json",
            get(id("endpoint_id"), cdn).await,
            vec![],
        ),
        (
            "Routes_Get.json",
            get(id("front_door_route_id"), cdn).await,
            vec![
                "/properties/cacheConfiguration/",
                "/properties/customDomains[]",
                "/properties/ruleSets[]",
            ],
        ),
        (
            "AFDOriginGroups_Get.json",
            get(id("blue_origin_group_id"), cdn).await,
            vec!["/properties/authentication/"],
        ),
        (
            "AFDOrigins_Get.json",
            get(format!("{}/origins/blue", id("blue_origin_group_id")), cdn).await,
            vec![],
        ),
        (
            "RuleSets_Create.json",
            get(id("rule_set_id"), cdn).await,
            vec![],
        ),
        ("Rules_Get.json", get(rule_url.clone(), cdn).await, vec![]),
        (
            "Revisions_Get.json",
            get(
                format!("{}/revisions/orders--seed", id("container_app_id")),
                app,
            )
            .await,
            vec!["/properties/template/scale/rules"],
        ),
        (
            "ContainerApps_Get.json",
            get(id("container_app_id"), app).await,
            vec![
                "/identity/",
                "/properties/configuration/dapr",
                "/properties/configuration/identitySettings",
                "/properties/configuration/runtime",
                "/properties/configuration/service",
                "/properties/configuration/ingress/customDomains",
                "/properties/configuration/ingress/ipSecurityRestrictions",
                "/properties/configuration/ingress/stickySessions",
                "/properties/template/initContainers",
                "/properties/template/serviceBinds",
                "/properties/template/volumes",
                "/properties/template/containers[]/volumeMounts",
                "/properties/template/scale/rules",
                "/properties/template/scale/cooldownPeriod",
                "/properties/template/scale/pollingInterval",
                "/properties/workloadProfileName",
            ],
        ),
        ("privateLinkScopeOperationStatuses.json", operation, vec![]),
    ];
    let mut failures = Vec::new();
    for (file, ours, configured_only) in cases {
        let gaps = missing(&example(file, "200"), &ours, &configured_only);
        if !gaps.is_empty() {
            failures.push(format!("{file}: missing {gaps:?} in {ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn metrics_answer_in_get_metric_shape() {
    let emu = start().await;
    let info = &emu.info;
    let (_, ids) = admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    let t = token(info).await;
    let profile = ids["profile_id"].as_str().unwrap_or("");
    admin(
        info,
        "POST",
        "/admin/metrics",
        Some(json!([
            {"resource_id": profile, "metric": "OriginLatency", "dimensions": {"Origin": "blue"}, "value": 12.0},
            {"resource_id": profile, "metric": "OriginLatency", "dimensions": {"Origin": "green"}, "value": 30.0},
        ])),
    )
    .await;
    let ours = arm(
        info,
        "GET",
        &format!("{profile}/providers/Microsoft.Insights/metrics?api-version=2024-02-01&metricnames=OriginLatency&aggregation=average,minimum,maximum&interval=PT1H&$filter=Origin%20eq%20%27*%27"),
        &t,
        None,
    )
    .await;
    assert_eq!(ours.status, 200, "{:?}", ours.body);
    let gaps = missing(&example("GetMetric.json", "200"), &ours.body, &[]);
    assert!(gaps.is_empty(), "missing {gaps:?} in {}", ours.body);
    let latency: Vec<f64> = ours.body["value"][0]["timeseries"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["data"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d["average"].as_f64())
        .collect();
    assert_eq!(latency.len(), 2, "one bucket per origin: {}", ours.body);
}
