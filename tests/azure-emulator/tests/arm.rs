//! The emulator as a client sees it over TLS: AAD, ARM auth and api-version
//! enforcement, long-running operations, Container Apps rules, fault scripts,
//! throttling, the journal and the clock.

mod common;

use common::{admin, arm, https, start, token, wait_operation};
use serde_json::{json, Value};

const CDN: &str = "api-version=2025-06-01";
const APP: &str = "api-version=2025-07-01";

async fn seeded(info: &bluegreen_azure_emulator::EmulatorInfo) -> Value {
    let (status, ids) = admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    assert_eq!(status, 201, "{ids:?}");
    ids
}

#[tokio::test]
async fn arm_requires_a_valid_bearer_token() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let url = format!(
        "{}?{CDN}",
        ids["front_door_route_id"].as_str().unwrap_or("")
    );

    let missing = https(&emu.info, "GET", &url, None, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.code(), "AuthenticationFailed");
    let challenge = missing.header("www-authenticate").unwrap_or("");
    assert!(
        challenge.starts_with("Bearer authorization_uri="),
        "{challenge}"
    );
    assert!(missing.header("x-ms-request-id").is_some());
    assert!(missing.header("x-ms-correlation-request-id").is_some());

    let bogus = arm(&emu.info, "GET", &url, "not-a-token", None).await;
    assert_eq!(bogus.status, 401);
    assert_eq!(bogus.code(), "InvalidAuthenticationToken");

    let t = token(&emu.info).await;
    let ok = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(
        ok.body["type"],
        "Microsoft.Cdn/profiles/afdendpoints/routes"
    );
}

#[tokio::test]
async fn token_endpoint_refuses_wrong_secret_and_bad_assertion() {
    let emu = start().await;
    let info = &emu.info;
    let path = format!("/{}/oauth2/v2.0/token", info.tenant_id);
    let form = |extra: &str| {
        format!(
            "grant_type=client_credentials&client_id={}&scope={}&{extra}",
            info.client_id,
            common::urlencode(&info.arm_scope)
        )
        .into_bytes()
    };
    let ct = "application/x-www-form-urlencoded";
    let wrong = https(
        info,
        "POST",
        &path,
        None,
        Some((ct, form("client_secret=nope"))),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"], "invalid_client");
    let garbage = https(
        info,
        "POST",
        &path,
        None,
        Some((ct, form("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=abc"))),
    )
    .await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.body["error_description"]
        .as_str()
        .unwrap_or("")
        .contains("AADSTS700027"));

    // Secrets never reach the journal.
    let (_, journal) = admin(info, "GET", "/admin/journal", None).await;
    let text = journal.to_string();
    assert!(!text.contains("nope") && !text.contains(&info.client_secret));
    assert!(text.contains("client_credentials"));
}

#[tokio::test]
async fn api_version_is_enforced() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let route = ids["front_door_route_id"].as_str().unwrap_or("");
    for (query, code) in [
        ("", "MissingApiVersionParameter"),
        ("?api-version=2026-10-01", "NoRegisteredProviderFound"),
        ("?api-version=latest", "InvalidApiVersionParameter"),
        ("?api-version=2025-07-01", "NoRegisteredProviderFound"),
    ] {
        let answer = arm(&emu.info, "GET", &format!("{route}{query}"), &t, None).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.code(), code, "{query}: {:?}", answer.body);
        assert!(answer.body["error"]["message"].as_str().is_some());
    }
}

#[tokio::test]
async fn route_switch_is_a_long_running_operation_with_case_insensitive_ids() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    // A long operation in emulated time, completed below by speeding the clock up.
    admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"lro_ms": 600_000})),
    )
    .await;

    let route = ids["front_door_route_id"]
        .as_str()
        .unwrap_or("")
        .to_lowercase();
    let green = ids["green_origin_group_id"]
        .as_str()
        .unwrap_or("")
        .to_uppercase();
    let patch = arm(
        &emu.info,
        "PATCH",
        &format!("{route}?{CDN}"),
        &t,
        Some(json!({"properties": {"originGroup": {"id": green}}})),
    )
    .await;
    assert_eq!(patch.status, 202, "{:?}", patch.body);
    assert_eq!(patch.body["properties"]["provisioningState"], "Updating");
    let status_url = patch
        .header("azure-asyncoperation")
        .unwrap_or("")
        .to_string();
    assert!(
        status_url.contains("/providers/Microsoft.Cdn/operationresults/"),
        "{status_url}"
    );
    assert!(patch.header("location").is_some());
    assert_eq!(patch.header("retry-after"), Some("1"));

    let during = wait_status(&emu.info, &status_url, &t).await;
    assert_eq!(during["status"], "InProgress");
    admin(
        &emu.info,
        "POST",
        "/admin/clock",
        Some(json!({"scale": 100_000.0})),
    )
    .await;
    let done = wait_operation(&emu.info, &status_url, &t).await;
    assert_eq!(done["status"], "Succeeded");
    assert!(done["startTime"].is_string() && done["endTime"].is_string());

    let after = arm(&emu.info, "GET", &format!("{route}?{CDN}"), &t, None).await;
    assert_eq!(after.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(after.body["properties"]["originGroup"]["id"], json!(green));
    // Front Door spells its own ids in lower case segments.
    assert!(after.body["id"]
        .as_str()
        .unwrap_or("")
        .contains("/resourcegroups/"));
}

async fn wait_status(info: &bluegreen_azure_emulator::EmulatorInfo, url: &str, t: &str) -> Value {
    let path = url.trim_start_matches(&info.base_url).to_string();
    arm(info, "GET", &path, t, None).await.body
}

#[tokio::test]
async fn route_to_a_missing_origin_group_is_refused() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let route = ids["front_door_route_id"].as_str().unwrap_or("");
    let missing = format!(
        "{}/originGroups/nope",
        ids["profile_id"].as_str().unwrap_or("")
    );
    let answer = arm(
        &emu.info,
        "PATCH",
        &format!("{route}?{CDN}"),
        &t,
        Some(json!({"properties": {"originGroup": {"id": missing}}})),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("originGroup"));
}

#[tokio::test]
async fn scripted_faults_answer_then_clear() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let route = format!(
        "{}?{CDN}",
        ids["front_door_route_id"].as_str().unwrap_or("")
    );
    let (status, _) = admin(
        &emu.info,
        "POST",
        "/admin/faults",
        Some(json!({"method": "GET", "path": "/routes/", "count": 1, "status": 429, "retry_after": 7})),
    )
    .await;
    assert_eq!(status, 201);
    admin(
        &emu.info,
        "POST",
        "/admin/faults",
        Some(json!({"path": "/routes/", "status": 503})),
    )
    .await;

    let throttled = arm(&emu.info, "GET", &route, &t, None).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("7"));
    assert_eq!(throttled.code(), "TooManyRequests");
    let unavailable = arm(&emu.info, "GET", &route, &t, None).await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.code(), "ServiceUnavailable");
    let ok = arm(&emu.info, "GET", &route, &t, None).await;
    assert_eq!(ok.status, 200);

    let (bad, body) = admin(
        &emu.info,
        "POST",
        "/admin/faults",
        Some(json!({"path": "("})),
    )
    .await;
    assert_eq!(bad, 400, "{body:?}");
}

#[tokio::test]
async fn failed_operation_restores_the_route() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    admin(
        &emu.info,
        "POST",
        "/admin/faults",
        Some(json!({"method": "PATCH", "path": "/routes/", "lro_failed": {"code": "ConflictingOperation", "message": "Another operation is in progress."}})),
    )
    .await;
    let route = format!(
        "{}?{CDN}",
        ids["front_door_route_id"].as_str().unwrap_or("")
    );
    let patch = arm(
        &emu.info,
        "PATCH",
        &route,
        &t,
        Some(json!({"properties": {"originGroup": {"id": ids["green_origin_group_id"]}}})),
    )
    .await;
    assert_eq!(patch.status, 202);
    let status_url = patch
        .header("azure-asyncoperation")
        .unwrap_or("")
        .to_string();
    let done = wait_operation(&emu.info, &status_url, &t).await;
    assert_eq!(done["status"], "Failed");
    assert_eq!(done["error"]["code"], "ConflictingOperation");
    let after = arm(&emu.info, "GET", &route, &t, None).await;
    assert_eq!(after.body["properties"]["provisioningState"], "Failed");
    assert_eq!(
        after.body["properties"]["originGroup"]["id"], ids["blue_origin_group_id"],
        "the live colour stays blue"
    );
}

#[tokio::test]
async fn expired_tokens_get_401_until_a_new_token() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let url = format!("{}?{APP}", ids["container_app_id"].as_str().unwrap_or(""));
    let (_, expired) = admin(&emu.info, "POST", "/admin/tokens/expire", None).await;
    assert_eq!(expired["expired"], 1);
    let answer = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.code(), "ExpiredAuthenticationToken");
    let fresh = token(&emu.info).await;
    assert_eq!(arm(&emu.info, "GET", &url, &fresh, None).await.status, 200);
}

#[tokio::test]
async fn reads_beyond_the_hourly_budget_are_throttled() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"reads_per_hour": 2})),
    )
    .await;
    let url = format!("{}?{APP}", ids["container_app_id"].as_str().unwrap_or(""));
    let first = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(
        first.header("x-ms-ratelimit-remaining-subscription-reads"),
        Some("1")
    );
    arm(&emu.info, "GET", &url, &t, None).await;
    let third = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(third.status, 429);
    assert_eq!(third.code(), "SubscriptionRequestsThrottled");
    let wait: u64 = third
        .header("retry-after")
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!(
        wait > 3000,
        "Retry-After {wait} should reach the end of the hour"
    );
}

#[tokio::test]
async fn container_app_patch_polls_location_and_enforces_rules() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let app = ids["container_app_id"].as_str().unwrap_or("");
    let url = format!("{app}?{APP}");
    let image_patch = |suffix: &str, traffic: Value| {
        json!({"properties": {
            "configuration": {"ingress": {"traffic": traffic}},
            "template": {"revisionSuffix": suffix, "containers": [{"name": "orders", "image": format!("agog/orders:{suffix}")}]},
        }})
    };
    let labels = json!([
        {"revisionName": "orders--seed", "weight": 100, "label": "blue"},
        {"revisionName": "orders--v2", "weight": 0, "label": "green"},
    ]);
    let patch = arm(
        &emu.info,
        "PATCH",
        &url,
        &t,
        Some(image_patch("v2", labels.clone())),
    )
    .await;
    assert_eq!(patch.status, 202, "{:?}", patch.body);
    assert!(patch.header("azure-asyncoperation").is_none());
    let location = patch.header("location").unwrap_or("").to_string();
    assert!(
        location.contains("/containerappOperationResults/"),
        "{location}"
    );
    let path = location.trim_start_matches(&emu.info.base_url).to_string();
    let mut result = Value::Null;
    for _ in 0..100 {
        let poll = arm(&emu.info, "GET", &path, &t, None).await;
        if poll.status == 200 {
            result = poll.body;
            break;
        }
        assert_eq!(poll.status, 202);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        result["properties"]["latestReadyRevisionName"],
        "orders--v2"
    );

    let revision = arm(
        &emu.info,
        "GET",
        &format!("{app}/revisions/orders--v2?{APP}"),
        &t,
        None,
    )
    .await;
    assert_eq!(revision.body["properties"]["runningState"], "Running");
    assert_eq!(revision.body["properties"]["trafficWeight"], 0);

    let latest = json!([{"latestRevision": true, "weight": 100}]);
    let ghost = json!([{"revisionName": "orders--ghost", "weight": 100}]);
    let mut same_suffix_new_image = image_patch("v2", latest.clone());
    same_suffix_new_image["properties"]["template"]["containers"][0]["image"] =
        json!("agog/orders:other");
    for (body, code) in [
        (image_patch("v3", ghost), "ContainerAppRevisionNotFound"),
        (
            image_patch("Bad_Suffix", latest.clone()),
            "ContainerAppInvalidRevisionSuffix",
        ),
        (same_suffix_new_image, "ContainerAppRevisionAlreadyExists"),
        (
            image_patch("v4", json!([{"latestRevision": true, "weight": 90}])),
            "ContainerAppInvalidTrafficWeight",
        ),
    ] {
        let answer = arm(&emu.info, "PATCH", &url, &t, Some(body)).await;
        assert_eq!(answer.status, 400, "{code}");
        assert_eq!(answer.code(), code, "{:?}", answer.body);
    }
    // Re-sending the current template changes nothing and makes no revision.
    let same = arm(
        &emu.info,
        "PATCH",
        &url,
        &t,
        Some(image_patch("v2", labels)),
    )
    .await;
    assert_eq!(same.status, 202);
    let list = arm(
        &emu.info,
        "GET",
        &format!("{app}/revisions?{APP}"),
        &t,
        None,
    )
    .await;
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn journal_records_writes_with_api_version_and_body() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    admin(&emu.info, "DELETE", "/admin/journal", None).await;
    let body = json!({"properties": {"originGroup": {"id": ids["green_origin_group_id"]}}});
    arm(
        &emu.info,
        "PATCH",
        &format!(
            "{}?{CDN}",
            ids["front_door_route_id"].as_str().unwrap_or("")
        ),
        &t,
        Some(body.clone()),
    )
    .await;
    let (_, journal) = admin(&emu.info, "GET", "/admin/journal", None).await;
    let entries = journal.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{journal:?}");
    assert_eq!(entries[0]["method"], "PATCH");
    assert_eq!(entries[0]["api_version"], "2025-06-01");
    assert_eq!(entries[0]["body"], body);
    assert_eq!(entries[0]["status"], 202);
}

#[tokio::test]
async fn delayed_metrics_appear_after_the_ingestion_delay() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let profile = ids["profile_id"].as_str().unwrap_or("");
    let (status, _) = admin(
        &emu.info,
        "POST",
        "/admin/metrics",
        Some(json!([{"resource_id": profile, "metric": "RequestCount", "value": 1, "delayed": true}])),
    )
    .await;
    assert_eq!(status, 201);
    let url = format!(
        "{profile}/providers/Microsoft.Insights/metrics?api-version=2024-02-01&metricnames=RequestCount&aggregation=Total&interval=PT1M"
    );
    let total = |body: &Value| -> f64 {
        body["value"][0]["timeseries"][0]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["total"].as_f64())
            .sum()
    };
    let before = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!(total(&before.body), 0.0, "not ingested yet");
    // About 100 emulated seconds pass (the ingestion delay is 60 s); the sample
    // stays inside the default last-hour timespan even if the sleep takes 18 s.
    admin(
        &emu.info,
        "POST",
        "/admin/clock",
        Some(json!({"scale": 200.0})),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    admin(
        &emu.info,
        "POST",
        "/admin/clock",
        Some(json!({"scale": 1.0})),
    )
    .await;
    let after = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(total(&after.body), 1.0, "{:?}", after.body);

    let unknown = arm(
        &emu.info,
        "GET",
        &url.replace("RequestCount", "Nope"),
        &t,
        None,
    )
    .await;
    assert_eq!(unknown.status, 400);
}

#[tokio::test]
async fn zero_weight_labels_vanish_unless_the_patch_reasserts_traffic() {
    let emu = start().await;
    let ids = seeded(&emu.info).await;
    let t = token(&emu.info).await;
    let app = ids["container_app_id"].as_str().unwrap_or("").to_string();
    let url = format!("{app}?{APP}");
    let template = |suffix: &str| json!({"revisionSuffix": suffix, "containers": [{"name": "orders", "image": format!("agog/orders:{suffix}")}]});
    let labelled = json!([
        {"revisionName": "orders--seed", "weight": 100, "label": "blue"},
        {"revisionName": "orders--v2", "weight": 0, "label": "green"},
    ]);
    let first = arm(
        &emu.info,
        "PATCH",
        &url,
        &t,
        Some(json!({"properties": {
            "configuration": {"ingress": {"traffic": labelled}}, "template": template("v2"),
        }})),
    )
    .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let labels = |body: &Value| -> Vec<String> {
        body["properties"]["configuration"]["ingress"]["traffic"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["label"].as_str().map(str::to_string))
            .collect()
    };

    // Template only: the 0% label "green" is dropped, as Azure does.
    let bare = arm(
        &emu.info,
        "PATCH",
        &url,
        &t,
        Some(json!({"properties": {"template": template("v3")}})),
    )
    .await;
    assert_eq!(bare.status, 202, "{:?}", bare.body);
    let after = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(labels(&after.body), vec!["blue"]);

    // Re-asserting both labels keeps them.
    let kept = arm(
        &emu.info,
        "PATCH",
        &url,
        &t,
        Some(json!({"properties": {
            "configuration": {"ingress": {"traffic": [
                {"revisionName": "orders--seed", "weight": 100, "label": "blue"},
                {"revisionName": "orders--v4", "weight": 0, "label": "green"},
            ]}},
            "template": template("v4"),
        }})),
    )
    .await;
    assert_eq!(kept.status, 202, "{:?}", kept.body);
    let after = arm(&emu.info, "GET", &url, &t, None).await;
    assert_eq!(labels(&after.body), vec!["blue", "green"]);
}
