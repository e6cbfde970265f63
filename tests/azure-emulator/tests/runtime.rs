//! Revisions run as the demo app behind their label addresses, and Front Door
//! edge locations follow a route switch after their own propagation delays,
//! honour tenant rules, and feed Azure Monitor metrics.

mod common;

use std::time::{Duration, Instant};

use common::{admin, arm, get, start_with_runtime, token};
use serde_json::json;

const APP: &str = "api-version=2025-07-01";
const CDN: &str = "api-version=2025-06-01";

async fn version_at(url: &str, headers: &[(&str, &str)]) -> String {
    let (_, body) = get(&format!("{url}/api/version"), headers).await;
    body["version"].as_str().unwrap_or("").to_string()
}

/// Waits (bounded) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_edge_propagation_rules_and_metrics() {
    // Both locations apply changes 300 ms after publication until the switch.
    let emu = start_with_runtime(vec![300, 300]).await;
    let info = &emu.info;
    let (_, ids) = admin(
        info,
        "POST",
        "/admin/seed",
        Some(json!({"image": "agog/orders:1.0.0"})),
    )
    .await;
    let t = token(info).await;
    let app = ids["container_app_id"].as_str().unwrap_or("").to_string();

    // Deploy 2.0.0 as green next to blue (the seed revision), green at weight 0.
    let patch = arm(info, "PATCH", &format!("{app}?{APP}"), &t, Some(json!({"properties": {
        "configuration": {"ingress": {"traffic": [
            {"revisionName": "orders--seed", "weight": 100, "label": "blue"},
            {"revisionName": "orders--v2-0-0", "weight": 0, "label": "green"},
        ]}},
        "template": {"revisionSuffix": "v2-0-0", "containers": [{"name": "orders", "image": "agog/orders:2.0.0"}]},
    }}))).await;
    assert_eq!(patch.status, 202, "{:?}", patch.body);
    let rev_url = format!("{app}/revisions/orders--v2-0-0?{APP}");
    eventually("the new revision runs and is healthy", || async {
        let r = arm(info, "GET", &rev_url, &t, None).await;
        r.body["properties"]["runningState"] == "Running"
            && r.body["properties"]["healthState"] == "Healthy"
    })
    .await;

    // Each label has its own address, reaching its own revision.
    eventually("label addresses are listening", || async {
        let (_, a) = admin(info, "GET", "/admin/addresses", None).await;
        a["hosts"]
            .as_object()
            .is_some_and(|h| h.keys().any(|k| k.starts_with("orders---green.")))
    })
    .await;
    let (_, addresses) = admin(info, "GET", "/admin/addresses", None).await;
    let hosts = addresses["hosts"].as_object().cloned().unwrap_or_default();
    let label_url = |label: &str| {
        hosts
            .iter()
            .find(|(k, _)| k.starts_with(&format!("orders---{label}.")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    eventually("blue label serves 1.0.0", || async {
        version_at(&label_url("blue"), &[]).await == "1.0.0"
    })
    .await;
    assert_eq!(version_at(&label_url("green"), &[]).await, "2.0.0");
    let (_, health) = get(&format!("{}/api/health", label_url("green")), &[]).await;
    assert_eq!(
        health["environment"], "green",
        "the colour is the revision's label"
    );

    // Both edge locations serve blue through the route's origin group.
    let edges = info.edge_urls.clone();
    assert_eq!(edges.len(), 2);
    for e in &edges {
        eventually("edge serves blue", || async {
            version_at(e, &[]).await == "1.0.0"
        })
        .await;
    }

    // Tenants: a rule on the route sends X-Tenant: acme to the green origin group.
    let profile = ids["profile_id"].as_str().unwrap_or("");
    let rule_set = ids["rule_set_id"].as_str().unwrap_or("");
    let rule = arm(info, "PUT", &format!("{rule_set}/rules/acme?{CDN}"), &t, Some(json!({"properties": {
        "order": 1,
        "matchProcessingBehavior": "Stop",
        "conditions": [{"name": "RequestHeader", "parameters": {
            "typeName": "DeliveryRuleRequestHeaderConditionParameters",
            "operator": "Equal", "selector": "X-Tenant", "matchValues": ["acme"],
            "negateCondition": false, "transforms": ["Lowercase"]}}],
        "actions": [{"name": "RouteConfigurationOverride", "parameters": {
            "typeName": "DeliveryRuleRouteConfigurationOverrideActionParameters",
            "originGroupOverride": {"originGroup": {"id": ids["green_origin_group_id"]}, "forwardingProtocol": "MatchRequest"}}}],
    }}))).await;
    assert_eq!(rule.status, 202, "{:?}", rule.body);
    let route = format!(
        "{}?{CDN}",
        ids["front_door_route_id"].as_str().unwrap_or("")
    );
    let attach = arm(
        info,
        "PATCH",
        &route,
        &t,
        Some(json!({"properties": {"ruleSets": [{"id": rule_set}]}})),
    )
    .await;
    assert_eq!(attach.status, 202, "{:?}", attach.body);
    let a = edges[0].clone();
    eventually("tenant acme reaches green at location a", || async {
        version_at(&a, &[("x-tenant", "ACME")]).await == "2.0.0"
    })
    .await;
    for _ in 0..20 {
        assert_eq!(version_at(&a, &[("x-tenant", "ACME")]).await, "2.0.0");
        assert_eq!(version_at(&a, &[("x-tenant", "globex")]).await, "1.0.0");
        assert_eq!(version_at(&a, &[]).await, "1.0.0");
    }

    // The switch: location a follows within its delay, b (slow propagation:
    // 20 s, sped up below once the test has seen it lag) later.
    let (status, _) = admin(
        info,
        "PATCH",
        "/admin/settings",
        Some(json!({"edge_propagation_ms": [300, 20_000]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        version_at(&edges[1], &[]).await,
        "1.0.0",
        "b keeps what it serves"
    );
    let switch = arm(
        info,
        "PATCH",
        &route,
        &t,
        Some(json!({"properties": {"originGroup": {"id": ids["green_origin_group_id"]}}})),
    )
    .await;
    assert_eq!(switch.status, 202);
    eventually("location a serves green", || async {
        version_at(&edges[0], &[]).await == "2.0.0"
    })
    .await;
    let b_still_blue = version_at(&edges[1], &[]).await == "1.0.0";
    assert!(
        b_still_blue,
        "location b (20 s delay) still serves blue when a has switched"
    );
    admin(info, "POST", "/admin/clock", Some(json!({"scale": 100.0}))).await;
    eventually("location b serves green", || async {
        version_at(&edges[1], &[]).await == "2.0.0"
    })
    .await;
    admin(info, "POST", "/admin/clock", Some(json!({"scale": 1.0}))).await;

    // Metrics: edge traffic appears per origin after the ingestion delay.
    // About 100 emulated seconds (ingestion delay 60 s), well inside the hour queried.
    admin(info, "POST", "/admin/clock", Some(json!({"scale": 200.0}))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin(info, "POST", "/admin/clock", Some(json!({"scale": 1.0}))).await;
    let query = format!(
        "{profile}/providers/Microsoft.Insights/metrics?api-version=2024-02-01&metricnames=OriginRequestCount,Percentage5XX&aggregation=Total,Average&interval=PT1H&$filter=Origin%20eq%20%27*%27"
    );
    let metrics = arm(info, "GET", &query, &t, None).await;
    assert_eq!(metrics.status, 200, "{:?}", metrics.body);
    let series = metrics.body["value"][0]["timeseries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total_for = |prefix: &str| -> f64 {
        series
            .iter()
            .filter(|s| {
                s["metadatavalues"][0]["value"]
                    .as_str()
                    .is_some_and(|v| v.starts_with(prefix))
            })
            .flat_map(|s| s["data"].as_array().cloned().unwrap_or_default())
            .filter_map(|d| d["total"].as_f64())
            .sum()
    };
    assert!(total_for("orders---blue.") >= 40.0, "{series:?}");
    assert!(total_for("orders---green.") >= 20.0, "{series:?}");
    let app_metrics = arm(
        info,
        "GET",
        &format!("{app}/providers/Microsoft.Insights/metrics?api-version=2024-02-01&metricnames=Requests&aggregation=Total&interval=PT1H&$filter=revisionName%20eq%20%27orders--v2-0-0%27"),
        &t,
        None,
    )
    .await;
    let green_requests: f64 = app_metrics.body["value"][0]["timeseries"][0]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["total"].as_f64())
        .sum();
    assert!(green_requests >= 20.0, "{:?}", app_metrics.body);
}
