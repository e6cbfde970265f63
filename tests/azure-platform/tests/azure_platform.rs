//! The Azure platform against the Azure emulator on loopback, with revisions
//! running as real `agog-demo-app` processes behind their label addresses
//! and a Front Door edge of two locations: define's checks, status, deploy's
//! labels, full engine releases counted in the request journal, propagation,
//! metrics through the ingestion delay, locate from tags, tenant canary, and
//! every body we sent judged by Microsoft's SDK models.

#[path = "../../azure-emulator/tests/common/mod.rs"]
mod emulator;
mod private_cloud;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bluegreen_azure_emulator::EmulatorInfo;
use private_cloud::settings_for;
use serde_json::{json, Value};
use terraform_provider_bluegreen::http::Http;
use terraform_provider_bluegreen::platform::azure::auth::CredentialOptions;
use terraform_provider_bluegreen::platform::azure::client::{ArmClient, ArmOptions};
use terraform_provider_bluegreen::platform::azure::resource_id::ResourceId;
use terraform_provider_bluegreen::platform::azure::{recent, AzurePlatform, AzureTarget};
use terraform_provider_bluegreen::platform::{
    CanaryRoute, Color, EnvironmentRef, Lease, Platform, PlatformError, Propagation, RouteChange,
    RouteReason, TargetSpec,
};
use terraform_provider_bluegreen::rollout::{
    Engine, HealthCheck, Outcome, PostSwitch, ReleaseError, ReleaseSpec,
};
use tokio_util::sync::CancellationToken;

const ENV: &str = "orders";

fn platform(info: &EmulatorInfo) -> AzurePlatform {
    let settings = settings_for(info);
    let options = ArmOptions {
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        request_timeout: Duration::from_secs(20),
        operation_timeout: Duration::from_secs(60),
        ..ArmOptions::default()
    };
    let client =
        ArmClient::new(&settings, options, CredentialOptions::default()).expect("ARM client");
    AzurePlatform::with_client(client, &settings)
        .expect("platform")
        .with_host_map(info.hosts_file.clone().expect("emulator host map"))
}

async fn seed(info: &EmulatorInfo) -> AzureTarget {
    let (status, ids) = emulator::admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    assert_eq!(status, 201, "{ids:?}");
    let id = |k: &str| ResourceId::parse(ids[k].as_str().unwrap_or_default()).expect(k);
    // The emulator's host map follows new endpoints within its 100 ms cycle.
    let host = ids["endpoint_host_name"].as_str().expect("endpoint host");
    let file = info.hosts_file.clone().expect("host map");
    let started = Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|m| m.contains(host)) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{host} never in {}",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    AzureTarget {
        container_app_id: id("container_app_id"),
        front_door_route_id: id("front_door_route_id"),
        blue_origin_group_id: id("blue_origin_group_id"),
        green_origin_group_id: id("green_origin_group_id"),
        split_origin_group_id: Some(id("split_origin_group_id")),
        rule_set_id: Some(id("rule_set_id")),
    }
}

fn spec_of(target: &AzureTarget) -> TargetSpec {
    TargetSpec::Azure {
        target: target.clone(),
        container_name: None,
        image: "agog/orders:{version}".into(),
        probe_path: "/api/health".into(),
    }
}

fn lease() -> Lease {
    Lease {
        owner: "test@host".into(),
    }
}

/// A seeded, defined environment on an emulator whose edge locations take `edge_ms`.
async fn environment(edge_ms: Vec<u64>) -> (emulator::TestEmulator, AzurePlatform, EnvironmentRef) {
    let emu = emulator::start_with_runtime(edge_ms).await;
    let target = seed(&emu.info).await;
    let azure = platform(&emu.info);
    let spec = spec_of(&target);
    let env = EnvironmentRef::for_target(ENV, &spec);
    azure.define(&env, &spec, &lease()).await.expect("define");
    (emu, azure, env)
}

fn release_spec(env: &EnvironmentRef, version: &str) -> ReleaseSpec {
    ReleaseSpec {
        environment: env.clone(),
        version: version.into(),
        health: HealthCheck {
            path: "/api/health".into(),
            expect_status: 200,
            expect_version: true,
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(2),
            healthy_threshold: 2,
            deadline: Duration::from_secs(30),
            websocket: None,
        },
        smoke: Vec::new(),
        post_switch: PostSwitch {
            window: Duration::from_secs(1),
            max_error_rate: 0.01,
            warn_error_rate: 0.005,
            max_p95_increase: 0.5,
            min_requests: 20,
            auto_rollback: true,
        },
        keep_previous: true,
        definition_changed: false,
    }
}

async fn release(
    azure: &AzurePlatform,
    spec: &ReleaseSpec,
) -> Result<terraform_provider_bluegreen::rollout::ReleaseReport, ReleaseError> {
    let lease = lease();
    let engine = Engine {
        platform: azure,
        http: Http::new(),
        stop: CancellationToken::new(),
        lease: &lease,
        // 30 s for the switch to propagate, after the 1 s watch is kept out.
        deadline: Instant::now() + Duration::from_secs(31),
    };
    engine.release(spec).await
}

async fn journal(info: &EmulatorInfo) -> Vec<Value> {
    let (status, body) = emulator::admin(info, "GET", "/admin/journal", None).await;
    assert_eq!(status, 200);
    body.as_array()
        .cloned()
        .or_else(|| body["entries"].as_array().cloned())
        .unwrap_or_default()
}

async fn clear_journal(info: &EmulatorInfo) {
    let (status, _) = emulator::admin(info, "DELETE", "/admin/journal", None).await;
    assert!(status < 300);
}

/// Writes (PATCH/PUT/DELETE) in the journal whose path contains `part`.
fn writes(entries: &[Value], part: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["method"] != "GET" && e["method"] != "POST")
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.to_ascii_lowercase().contains(part))
        })
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .collect()
}

/// Whether each write's body uses only properties Microsoft's SDK models define.
fn body_check(entries: &[Value]) {
    let python =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/azure-sdk-venv/bin/python");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../azure-emulator/sdk/body_check.py");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("journal.json");
    std::fs::write(&file, serde_json::to_vec(entries).expect("json")).expect("write");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", python.display()));
    assert!(
        out.status.success(),
        "body_check.py flagged our bodies:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls propagation at the platform's cadence until Complete (bounded).
async fn until_propagated(azure: &AzurePlatform, env: &EnvironmentRef) {
    let state = azure.status(env).await.expect("status").expect("exists");
    let started = Instant::now();
    loop {
        match azure
            .propagation(env, &state.routing.revision)
            .await
            .expect("propagation")
        {
            Propagation::Complete => return,
            pending => assert!(
                started.elapsed() < Duration::from_secs(30),
                "not propagated after 30 s: {pending:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn define_names_a_missing_resource_and_status_reads_a_seeded_environment() {
    let emu = emulator::start_with_runtime(vec![200, 400]).await;
    let target = seed(&emu.info).await;
    let azure = platform(&emu.info);

    let mut missing = target.clone();
    missing.front_door_route_id = missing
        .front_door_route_id
        .parent()
        .expect("endpoint")
        .child("routes", "nope");
    let spec = spec_of(&missing);
    let err = azure
        .define(&EnvironmentRef::for_target(ENV, &spec), &spec, &lease())
        .await
        .expect_err("missing route");
    let text = err.to_string();
    assert!(
        text.contains("azure.front_door_route_id") && text.contains("nope"),
        "{text}"
    );

    let spec = spec_of(&target);
    let env = EnvironmentRef::for_target(ENV, &spec);
    azure.define(&env, &spec, &lease()).await.expect("define");
    let state = azure.status(&env).await.expect("status").expect("exists");
    // Seeded: the route names og-blue, but no revision carries a label yet.
    assert_eq!(state.routing.primary, None);
    assert!(state.colors.is_empty(), "{:?}", state.colors);
    assert!(
        state.endpoint.starts_with("http://127.0.0.1:"),
        "{}",
        state.endpoint
    );
    assert_eq!(
        state.spec,
        Some(spec.clone()),
        "the definition kept on the app"
    );
    // Defining again with the same spec writes nothing.
    clear_journal(&emu.info).await;
    azure
        .define(&env, &spec, &lease())
        .await
        .expect("define again");
    assert_eq!(writes(&journal(&emu.info).await, "/"), Vec::<String>::new());
}

#[tokio::test]
async fn deploys_make_one_revision_per_version_and_keep_both_labels() {
    let (emu, azure, env) = environment(vec![200, 400]).await;
    let app = match &env.target {
        terraform_provider_bluegreen::platform::TargetRef::Azure(t) => t.container_app_id.clone(),
        other => panic!("{other:?}"),
    };
    let (token, labels) = (emulator::token(&emu.info).await, |body: &Value| {
        let mut l: Vec<(String, String, i64)> = body["properties"]["configuration"]["ingress"]
            ["traffic"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    e["label"].as_str().unwrap_or("").to_string(),
                    e["revisionName"].as_str().unwrap_or("").to_string(),
                    e["weight"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        l.sort();
        l
    });
    let url = format!("{app}?api-version=2025-07-01");
    for (color, version) in [
        (Color::Blue, "1.0.0"),
        (Color::Green, "2.0.0"),
        (Color::Blue, "3.0.0"),
    ] {
        azure
            .deploy(&env, color, version, &lease())
            .await
            .expect("deploy");
        let body = emulator::arm(&emu.info, "GET", &url, &token, None)
            .await
            .body;
        let l = labels(&body);
        let mine = l
            .iter()
            .find(|(c, _, _)| c == color.as_str())
            .expect("label");
        assert!(mine.1.contains(&version.replace('.', "-")), "{l:?}");
        if version != "1.0.0" {
            assert_eq!(l.len(), 2, "both labels after deploying {version}: {l:?}");
            assert_eq!(mine.2, 0, "the deployed (idle) label at 0: {l:?}");
        }
        let state = azure.status(&env).await.expect("status").expect("exists");
        assert_eq!(state.color(color).version.as_deref(), Some(version));
    }
    let revisions = emulator::arm(
        &emu.info,
        "GET",
        &format!("{app}/revisions?api-version=2025-07-01"),
        &token,
        None,
    )
    .await
    .body;
    let names: Vec<&str> = revisions["value"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names.len(), 4, "seed + one per version: {names:?}");
    // The green label still leads to 2.0.0 after blue moved on.
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.color(Color::Green).version.as_deref(), Some("2.0.0"));
    body_check(&journal(&emu.info).await);
}

#[tokio::test]
async fn engine_releases_switch_with_one_route_patch_and_roll_back_without_app_writes() {
    let (emu, azure, env) = environment(vec![200, 500]).await;

    let first = release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("first release");
    assert_eq!(first.outcome, Outcome::Released, "{first:?}");
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.live_color(), Some(Color::Blue));
    assert_eq!(state.live_version().as_deref(), Some("1.0.0"));

    // Update: exactly one app PATCH and one route PATCH.
    clear_journal(&emu.info).await;
    let update = release(&azure, &release_spec(&env, "2.0.0"))
        .await
        .expect("update");
    assert_eq!(update.outcome, Outcome::Released, "{update:?}");
    let entries = journal(&emu.info).await;
    assert_eq!(
        writes(&entries, "/containerapps/").len(),
        1,
        "{:?}",
        writes(&entries, "/")
    );
    assert_eq!(
        writes(&entries, "/routes/").len(),
        1,
        "{:?}",
        writes(&entries, "/")
    );
    assert_eq!(
        writes(&entries, "/").len(),
        2,
        "{:?}",
        writes(&entries, "/")
    );
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.live_color(), Some(Color::Green));
    // The edge serves it.
    let (status, body) = emulator::get(&format!("{}/api/health", emu.info.edge_urls[0]), &[]).await;
    assert_eq!((status, body["version"].as_str()), (200, Some("2.0.0")));
    body_check(&journal(&emu.info).await);

    // Instant rollback: the route only.
    clear_journal(&emu.info).await;
    let back = release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("rollback");
    assert_eq!(back.outcome, Outcome::Switched, "{back:?}");
    let entries = journal(&emu.info).await;
    assert_eq!(writes(&entries, "/containerapps/"), Vec::<String>::new());
    assert_eq!(
        writes(&entries, "/routes/").len(),
        1,
        "{:?}",
        writes(&entries, "/")
    );

    // A failed gate never writes the route.
    clear_journal(&emu.info).await;
    let mut bad = release_spec(&env, "3.0.0");
    bad.health.path = "/no-such-health".into();
    bad.health.deadline = Duration::from_secs(6);
    let err = release(&azure, &bad).await.expect_err("gate fails");
    assert!(matches!(err, ReleaseError::GateFailed { .. }), "{err}");
    let entries = journal(&emu.info).await;
    assert_eq!(writes(&entries, "/routes/"), Vec::<String>::new());
    assert_eq!(writes(&entries, "/containerapps/").len(), 1);
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.live_version().as_deref(), Some("1.0.0"));
}

#[tokio::test]
async fn propagation_waits_for_a_lagging_location() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let first = release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    assert_eq!(first.outcome, Outcome::Released);
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy");
    // Location b lags far behind from now on.
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"edge_propagation_ms": [100, 600000]})),
    )
    .await;
    assert_eq!(status, 200);
    let state = azure.status(&env).await.expect("status").expect("exists");
    let revision = azure
        .route(
            &env,
            RouteChange::all_to(Color::Green, state.routing.revision, RouteReason::Switch),
            &lease(),
        )
        .await
        .expect("switch");
    let mut last = None;
    for _ in 0..8 {
        last = Some(
            azure
                .propagation(&env, &revision)
                .await
                .expect("propagation"),
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        last,
        Some(Propagation::Pending {
            converged: 1,
            locations: 2
        })
    );
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"edge_propagation_ms": [100, 100]})),
    )
    .await;
    assert_eq!(status, 200);
    until_propagated(&azure, &env).await;
}

#[tokio::test]
async fn metrics_are_none_during_the_ingestion_delay_then_figures() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    until_propagated(&azure, &env).await;
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"metrics_ingestion_delay_ms": 3000})),
    )
    .await;
    assert_eq!(status, 200);
    let since = terraform_provider_bluegreen::platform::now_ms() - 1000;
    for _ in 0..25 {
        let (status, _) =
            emulator::get(&format!("{}/api/orders", emu.info.edge_urls[0]), &[]).await;
        assert!(status > 0);
    }
    let until = || terraform_provider_bluegreen::platform::now_ms() + 60_000;
    assert_eq!(
        azure
            .metrics(&env, Color::Blue, since, until())
            .await
            .expect("metrics"),
        None,
        "no data during the ingestion delay"
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let m = azure
        .metrics(&env, Color::Blue, since, until())
        .await
        .expect("metrics")
        .expect("figures after the delay");
    assert_eq!(m.requests, 25, "{m:?}");
    assert_eq!(m.errors, 0);
    let latency = m.latency.expect("latency");
    assert_eq!(latency.statistic.as_str(), "average");
    // Green has no label yet: no figures.
    assert_eq!(
        azure
            .metrics(&env, Color::Green, since, until())
            .await
            .expect("metrics"),
        None
    );
}

#[tokio::test]
async fn a_fresh_platform_locates_the_environment_from_its_tags() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let fresh = platform(&emu.info);
    assert_eq!(fresh.locate(ENV).await.expect("locate"), env);
    let terraform_provider_bluegreen::platform::TargetRef::Azure(target) = &env.target else {
        panic!("azure target");
    };
    assert_eq!(
        fresh
            .locate_by_app_id(&target.container_app_id)
            .await
            .expect("by app id"),
        env
    );
    let err = fresh.locate("nobody").await.expect_err("untagged");
    assert!(err.to_string().contains("bluegreen-environment"), "{err}");
    // Destroy removes the tags (and only what the provider made).
    fresh.delete(&env, &lease()).await.expect("delete");
    assert!(matches!(
        fresh.locate(ENV).await,
        Err(PlatformError::Api(_))
    ));
    let _ = azure;
}

#[tokio::test]
async fn listed_tenants_always_reach_the_canary_and_others_never() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy candidate");
    let state = azure.status(&env).await.expect("status").expect("exists");
    let canary = CanaryRoute {
        color: Color::Green,
        weight: 0,
        tenants: vec!["acme".into()],
    };
    clear_journal(&emu.info).await;
    azure
        .route(
            &env,
            RouteChange {
                primary: Some(Color::Blue),
                canary: Some(canary.clone()),
                tenant_header: None,
                if_revision: state.routing.revision,
                reason: RouteReason::Route,
            },
            &lease(),
        )
        .await
        .expect("canary");
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.routing.primary, Some(Color::Blue));
    assert_eq!(state.routing.canary, Some(canary.clone()));
    until_propagated(&azure, &env).await;
    for edge in &emu.info.edge_urls {
        for _ in 0..10 {
            let url = format!("{edge}/api/health");
            let (_, tenant) = emulator::get(&url, &[("X-Tenant-ID", "ACME")]).await;
            assert_eq!(tenant["version"], "2.0.0");
            let (_, other) = emulator::get(&url, &[("X-Tenant-ID", "globex")]).await;
            assert_eq!(other["version"], "1.0.0");
            let (_, untagged) = emulator::get(&url, &[]).await;
            assert_eq!(untagged["version"], "1.0.0");
        }
    }
    body_check(&journal(&emu.info).await);

    // With a share of untagged traffic the route leaves the live colour's
    // group: the guard rule keeps every tenant not listed on blue.
    let state = azure.status(&env).await.expect("status").expect("exists");
    let weighted = CanaryRoute {
        weight: 50,
        ..canary
    };
    clear_journal(&emu.info).await;
    azure
        .route(
            &env,
            RouteChange {
                primary: Some(Color::Blue),
                canary: Some(weighted.clone()),
                tenant_header: None,
                if_revision: state.routing.revision,
                reason: RouteReason::Route,
            },
            &lease(),
        )
        .await
        .expect("weighted canary");
    let entries = journal(&emu.info).await;
    let rules = writes(&entries, "/rules/");
    assert_eq!(rules.len(), 1, "only the guard is new: {rules:?}");
    assert!(
        rules[0].starts_with("\"PUT\"") && rules[0].contains(&format!("/rules/bgunlisted{ENV}")),
        "{rules:?}"
    );
    body_check(&entries);
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.routing.canary, Some(weighted));
    until_propagated(&azure, &env).await;
    let mut untagged_green = 0;
    for edge in &emu.info.edge_urls {
        let url = format!("{edge}/api/health");
        for _ in 0..20 {
            let (_, tenant) = emulator::get(&url, &[("X-Tenant-ID", "acme")]).await;
            assert_eq!(tenant["version"], "2.0.0", "listed: always the canary");
            for other in ["globex", "ACME-2", ""] {
                let (_, body) = emulator::get(&url, &[("X-Tenant-ID", other)]).await;
                assert_eq!(
                    body["version"], "1.0.0",
                    "{other:?} is not listed: never the canary"
                );
            }
            let (_, untagged) = emulator::get(&url, &[]).await;
            untagged_green += usize::from(untagged["version"] == "2.0.0");
        }
    }
    // 40 untagged requests at 50 %: all 40 on one side has odds 2·2⁻⁴⁰.
    assert!(
        (1..40).contains(&untagged_green),
        "untagged requests are split: {untagged_green} of 40 on the canary"
    );

    // Removing the canary deletes both rules the provider made.
    clear_journal(&emu.info).await;
    azure
        .route(
            &env,
            RouteChange::all_to(Color::Blue, state.routing.revision, RouteReason::Route),
            &lease(),
        )
        .await
        .expect("no canary");
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.routing.canary, None);
    let deleted: Vec<String> = writes(&journal(&emu.info).await, "/rules/")
        .into_iter()
        .filter(|w| w.starts_with("\"DELETE\""))
        .collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
}

#[tokio::test]
async fn a_stale_revision_is_a_conflict() {
    let (_emu, azure, env) = environment(vec![100, 100]).await;
    release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy");
    let before = azure.status(&env).await.expect("status").expect("exists");
    azure
        .route(
            &env,
            RouteChange::all_to(
                Color::Green,
                before.routing.revision.clone(),
                RouteReason::Switch,
            ),
            &lease(),
        )
        .await
        .expect("switch");
    let err = azure
        .route(
            &env,
            RouteChange::all_to(Color::Blue, before.routing.revision, RouteReason::Rollback),
            &lease(),
        )
        .await
        .expect_err("stale");
    assert!(matches!(err, PlatformError::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn a_stop_ends_a_waited_deploy_within_two_seconds() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"lro_ms": 600000})),
    )
    .await;
    assert_eq!(status, 200);
    let stop = CancellationToken::new();
    let stoppable = azure.clone().with_stop(stop.clone());
    let deploy =
        tokio::spawn(async move { stoppable.deploy(&env, Color::Blue, "1.0.0", &lease()).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!deploy.is_finished(), "the operation takes 10 minutes");
    let stopped_at = Instant::now();
    stop.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(2), deploy)
        .await
        .expect("returns within 2 s of the stop")
        .expect("task");
    let err = outcome.expect_err("cut short");
    assert!(err.to_string().contains("interrupted"), "{err}");
    assert!(stopped_at.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_weighted_canary_uses_the_split_group_and_only_changed_origins() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy candidate");
    let state = azure.status(&env).await.expect("status").expect("exists");
    let canary = CanaryRoute {
        color: Color::Green,
        weight: 20,
        tenants: Vec::new(),
    };
    clear_journal(&emu.info).await;
    azure
        .route(
            &env,
            RouteChange {
                primary: Some(Color::Blue),
                canary: Some(canary.clone()),
                tenant_header: None,
                if_revision: state.routing.revision,
                reason: RouteReason::Route,
            },
            &lease(),
        )
        .await
        .expect("canary");
    let entries = journal(&emu.info).await;
    // Seeded at 500 each: both origins change, then the route moves to the split group.
    assert_eq!(
        writes(&entries, "/origins/").len(),
        2,
        "{:?}",
        writes(&entries, "/")
    );
    assert_eq!(writes(&entries, "/routes/").len(), 1);
    // And the guard that keeps tagged requests on blue, written before.
    assert_eq!(writes(&entries, "/rules/").len(), 1);
    let state = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.routing.primary, Some(Color::Blue));
    assert_eq!(state.routing.canary, Some(canary));
    until_propagated(&azure, &env).await;
    let mut green = 0;
    for _ in 0..300 {
        let (_, body) = emulator::get(&format!("{}/api/health", emu.info.edge_urls[0]), &[]).await;
        if body["version"] == "2.0.0" {
            green += 1;
        }
    }
    // 20 % of 300 = 60; a binomial spread of ±4 standard deviations (±28) still says 20 %.
    assert!(
        (32..=88).contains(&green),
        "{green} of 300 reached the canary"
    );
    body_check(&entries);

    // Back to blue: one route PATCH, the origins keep their weights.
    clear_journal(&emu.info).await;
    azure
        .route(
            &env,
            RouteChange::all_to(Color::Blue, state.routing.revision, RouteReason::Route),
            &lease(),
        )
        .await
        .expect("no canary");
    let entries = journal(&emu.info).await;
    assert_eq!(writes(&entries, "/origins/"), Vec::<String>::new());
    assert_eq!(writes(&entries, "/routes/").len(), 1);
    assert_eq!(
        writes(&entries, "/rules/").len(),
        1,
        "the guard goes with the split"
    );
}

#[tokio::test]
async fn a_second_run_is_refused_while_the_lock_is_held() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let ttl = Duration::from_secs(60);
    let held = azure
        .lock(&env, "pipeline-a", ttl)
        .await
        .expect("first lock");
    let other = platform(&emu.info);
    let err = other
        .lock(&env, "pipeline-b", ttl)
        .await
        .expect_err("held by a");
    match &err {
        PlatformError::Locked(held_by) => assert!(held_by.owner.contains("pipeline-a"), "{err}"),
        other => panic!("expected Locked, got {other}"),
    }
    azure.renew(&env, &held, ttl).await.expect("renew");
    azure.unlock(&env, &held).await.expect("unlock");
    let lease = other
        .lock(&env, "pipeline-b", ttl)
        .await
        .expect("free again");
    other.unlock(&env, &lease).await.expect("unlock");
    // Taking and releasing the lock never writes the app itself.
    assert!(journal(&emu.info)
        .await
        .iter()
        .filter(|e| e["method"] == "PATCH" || e["method"] == "PUT")
        .all(|e| e["path"].as_str().is_some_and(|p| p
            .to_ascii_lowercase()
            .contains("/providers/microsoft.resources/tags/"))));
}

#[tokio::test]
async fn lists_are_read_past_their_first_page() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    // Another team's app in the same subscription, listed before ours.
    let (status, other) = emulator::admin(
        &emu.info,
        "POST",
        "/admin/seed",
        Some(json!({"resource_group": "rg-aaa", "app": "aaa", "profile": "fd-aaa", "endpoint": "ep-aaa"})),
    )
    .await;
    assert_eq!(status, 201, "{other:?}");
    release(&azure, &release_spec(&env, "1.0.0"))
        .await
        .expect("release");
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy candidate");
    // ARM pages every list; one item a page is the hardest case.
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"page_size": 1})),
    )
    .await;
    assert_eq!(status, 200);
    let token = emulator::token(&emu.info).await;
    let first_page = emulator::arm(
        &emu.info,
        "GET",
        &format!(
            "/subscriptions/{}/providers/Microsoft.App/containerApps?api-version=2025-07-01",
            emu.info.subscription_id
        ),
        &token,
        None,
    )
    .await
    .body;
    assert_eq!(first_page["value"][0]["name"], "aaa", "{first_page:?}");
    assert!(first_page["nextLink"].is_string(), "{first_page:?}");

    // The subscription's apps: ours is on the second page.
    let fresh = platform(&emu.info);
    assert_eq!(fresh.locate(ENV).await.expect("locate"), env);
    // The app's revisions (seed, 1.0.0, 2.0.0): each colour's version.
    let state = fresh.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.color(Color::Blue).version.as_deref(), Some("1.0.0"));
    assert_eq!(state.color(Color::Green).version.as_deref(), Some("2.0.0"));
    // The split group's two origins, one a page: a canary finds and weighs both.
    let canary = CanaryRoute {
        color: Color::Green,
        weight: 30,
        tenants: Vec::new(),
    };
    fresh
        .route(
            &env,
            RouteChange {
                primary: Some(Color::Blue),
                canary: Some(canary.clone()),
                tenant_header: None,
                if_revision: state.routing.revision,
                reason: RouteReason::Route,
            },
            &lease(),
        )
        .await
        .expect("canary over paged origins");
    let state = fresh.status(&env).await.expect("status").expect("exists");
    assert_eq!(state.routing.canary, Some(canary));
}

#[tokio::test]
async fn the_lock_is_released_after_a_stop() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let stop = CancellationToken::new();
    let stoppable = azure.clone().with_stop(stop.clone());
    let ttl = Duration::from_secs(60);
    let held = stoppable
        .lock(&env, "pipeline-a", ttl)
        .await
        .expect("first lock");
    // Ctrl-C: every wait ends, but the lock is still given back, promptly.
    stop.cancel();
    let stopped_at = Instant::now();
    stoppable
        .unlock(&env, &held)
        .await
        .expect("unlock after a stop");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        stopped_at.elapsed()
    );
    let other = platform(&emu.info);
    let lease = other
        .lock(&env, "pipeline-b", ttl)
        .await
        .expect("the next run gets the lock at once");
    other.unlock(&env, &lease).await.expect("unlock");
}

/// bench-azure counted 15 GETs within milliseconds before every deploy: the
/// engine asks for the status several times in a row. A read of the last
/// second answers those calls; a write, or a second's age, makes the next
/// status ask Azure again (so a poll, 2 s apart, always does).
#[tokio::test]
async fn a_burst_of_status_calls_reads_azure_once_until_a_write_or_a_second_passes() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    let gets = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["method"] == "GET")
            .map(|e| e["path"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    // The endpoint's host name is read once per process: out of the way first.
    azure.status(&env).await.expect("status");
    tokio::time::sleep(recent::FRESH_FOR + Duration::from_millis(100)).await;

    clear_journal(&emu.info).await;
    for _ in 0..4 {
        azure.status(&env).await.expect("status").expect("exists");
    }
    let burst = gets(&journal(&emu.info).await);
    assert_eq!(
        burst.len(),
        3,
        "four status calls in a row: one read of the app, its revisions and the route; got {burst:#?}"
    );

    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy");
    clear_journal(&emu.info).await;
    let after_write = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(
        after_write.color(Color::Green).version.as_deref(),
        Some("2.0.0"),
        "the status after a deploy shows it"
    );
    assert_eq!(
        gets(&journal(&emu.info).await).len(),
        3,
        "a write forgets recent reads"
    );

    tokio::time::sleep(recent::FRESH_FOR + Duration::from_millis(100)).await;
    clear_journal(&emu.info).await;
    azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(
        gets(&journal(&emu.info).await).len(),
        3,
        "a read older than a second is not reused"
    );
}

/// The GETs in the journal, as paths.
fn get_paths(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["method"] == "GET")
        .map(|e| e["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// bench-azure found every 2 s poll of a wait reading the whole status (app,
/// revisions, route) where each wait needs part of it: readiness reads the
/// revision its deploy named, one GET a poll, and reports it as the status
/// does; propagation reads the route each poll and the app with its
/// revisions once (again after a write).
#[tokio::test]
async fn the_waits_read_one_resource_a_poll() {
    let (emu, azure, env) = environment(vec![100, 100]).await;
    // The endpoint's host name is read once per process: out of the way first.
    azure.status(&env).await.expect("status");
    azure
        .deploy(&env, Color::Green, "2.0.0", &lease())
        .await
        .expect("deploy");

    let started = Instant::now();
    let ready = loop {
        clear_journal(&emu.info).await;
        let state = azure
            .readiness(&env, Color::Green)
            .await
            .expect("readiness")
            .expect("exists");
        let gets = get_paths(&journal(&emu.info).await);
        assert_eq!(
            gets.len(),
            1,
            "a readiness poll reads the deployed revision alone; got {gets:#?}"
        );
        let revision = state.instance_id.clone().expect("revision name");
        assert!(
            gets[0].ends_with(&format!("/containerApps/orders/revisions/{revision}")),
            "{gets:?}"
        );
        assert_eq!(state.version.as_deref(), Some("2.0.0"));
        if state.phase == terraform_provider_bluegreen::platform::ColorPhase::Running {
            break state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "green not running after 30 s: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = azure.status(&env).await.expect("status").expect("exists");
    assert_eq!(
        ready,
        status.color(Color::Green),
        "readiness reports the colour as the status does"
    );
    assert!(
        ready.address.is_some(),
        "the label's address, for the gates"
    );

    let revision = azure
        .route(
            &env,
            RouteChange::all_to(Color::Green, status.routing.revision, RouteReason::Switch),
            &lease(),
        )
        .await
        .expect("switch");
    let mut per_poll = Vec::new();
    for _ in 0..3 {
        clear_journal(&emu.info).await;
        azure
            .propagation(&env, &revision)
            .await
            .expect("propagation");
        per_poll.push(get_paths(&journal(&emu.info).await));
        // Older than a status's reuse: each poll here asks Azure.
        tokio::time::sleep(recent::FRESH_FOR + Duration::from_millis(100)).await;
    }
    let route_only = |gets: &[String]| gets.len() == 1 && gets[0].contains("/routes/");
    assert_eq!(
        per_poll[0].len(),
        3,
        "the first poll after the switch reads the app, its revisions and the route; got {per_poll:#?}"
    );
    assert!(
        per_poll[1..].iter().all(|gets| route_only(gets)),
        "later polls read the route alone; got {per_poll:#?}"
    );

    azure
        .deploy(&env, Color::Blue, "3.0.0", &lease())
        .await
        .expect("deploy");
    clear_journal(&emu.info).await;
    azure
        .propagation(&env, &revision)
        .await
        .expect("propagation");
    assert_eq!(
        get_paths(&journal(&emu.info).await).len(),
        3,
        "a write makes propagation read the app and its revisions again"
    );
}
