//! Tags at scope and the environment lock against the Azure emulator: our
//! tags never rewrite the app's other tags nor PATCH the app; of two runs
//! taking the lock at once exactly one wins; a lapsed lock is taken over; a
//! release never removes another run's lock.

#[path = "../../azure-emulator/tests/common/mod.rs"]
mod emulator;
mod private_cloud;

use std::time::Duration;

use bluegreen_azure_emulator::EmulatorInfo;
use private_cloud::settings_for;
use serde_json::{json, Value};
use terraform_provider_bluegreen::platform::azure::auth::CredentialOptions;
use terraform_provider_bluegreen::platform::azure::client::{ArmClient, ArmOptions};
use terraform_provider_bluegreen::platform::azure::lock::{self, LOCK_TAG};
use terraform_provider_bluegreen::platform::azure::models::{ContainerApp, APP_API_VERSION};
use terraform_provider_bluegreen::platform::azure::resource_id::ResourceId;
use terraform_provider_bluegreen::platform::azure::tags::{
    delete_tags, merge_tags, read_tags, Tags,
};
use terraform_provider_bluegreen::platform::PlatformError;
use tokio_util::sync::CancellationToken;

fn client(info: &EmulatorInfo) -> ArmClient {
    let settings = settings_for(info);
    let options = ArmOptions {
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        request_timeout: Duration::from_secs(20),
        ..ArmOptions::default()
    };
    ArmClient::new(&settings, options, CredentialOptions::default()).expect("client")
}

async fn seeded_app(info: &EmulatorInfo) -> ResourceId {
    let (status, ids) = emulator::admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    assert_eq!(status, 201, "{ids:?}");
    ResourceId::parse(ids["container_app_id"].as_str().unwrap_or_default()).expect("app id")
}

/// Writes (PUT, PATCH, DELETE) the journal shows on `path` itself.
async fn writes_on(info: &EmulatorInfo, path: &ResourceId) -> Vec<Value> {
    let (status, body) = emulator::admin(info, "GET", "/admin/journal", None).await;
    assert_eq!(status, 200);
    body.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["method"] != "GET")
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(path.as_str()))
        })
        .collect()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lock_value(current: &Tags) -> Option<&String> {
    current.get(LOCK_TAG)
}

#[tokio::test]
async fn our_tags_keep_the_apps_other_tags_and_never_patch_the_app() {
    let emu = emulator::start().await;
    let app = seeded_app(&emu.info).await;
    let client = client(&emu.info);
    let stop = CancellationToken::new();

    merge_tags(&client, &app, &tags(&[("cost-center", "42")]), &stop)
        .await
        .expect("merge the user's tag");
    let after = merge_tags(
        &client,
        &app,
        &tags(&[("bluegreen-environment", "prod")]),
        &stop,
    )
    .await
    .expect("merge ours");
    assert_eq!(
        after,
        tags(&[("bluegreen-environment", "prod"), ("cost-center", "42")])
    );

    // A delete names a value: another value stays, the same one goes.
    let kept = delete_tags(
        &client,
        &app,
        &tags(&[("bluegreen-environment", "staging")]),
        &stop,
    )
    .await
    .expect("delete with another value");
    assert_eq!(
        kept.get("bluegreen-environment").map(String::as_str),
        Some("prod")
    );
    let gone = delete_tags(
        &client,
        &app,
        &tags(&[("bluegreen-environment", "prod")]),
        &stop,
    )
    .await
    .expect("delete ours");
    assert_eq!(gone, tags(&[("cost-center", "42")]));

    // The app's own document shows the same tags: they are the app's tags.
    let read: ContainerApp = client
        .get(&app, APP_API_VERSION, &stop)
        .await
        .expect("GET app");
    assert_eq!(read.tags, Some(tags(&[("cost-center", "42")])));
    assert_eq!(read_tags(&client, &app, &stop).await.expect("read"), gone);
    assert_eq!(writes_on(&emu.info, &app).await, Vec::<Value>::new());
}

#[tokio::test]
async fn tags_of_a_missing_resource_are_an_arm_not_found() {
    let emu = emulator::start().await;
    let app = seeded_app(&emu.info).await;
    let client = client(&emu.info);
    let missing = ResourceId::parse(&format!("{}-gone", app.as_str())).expect("id");
    let err = read_tags(&client, &missing, &CancellationToken::new())
        .await
        .expect_err("no such resource");
    assert_eq!(err.arm().map(|e| e.code.as_str()), Some("ResourceNotFound"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_runs_taking_the_lock_at_once_exactly_one_wins() {
    let emu = emulator::start().await;
    let app = seeded_app(&emu.info).await;
    let client = client(&emu.info);
    let stop = CancellationToken::new();
    let ttl = Duration::from_secs(60);
    let settle = lock::MIN_SETTLE;

    for round in 0..20 {
        let (a, b) = tokio::join!(
            lock::acquire_settling(&client, &app, "prod", "run A", ttl, settle, &stop),
            lock::acquire_settling(&client, &app, "prod", "run B", ttl, settle, &stop),
        );
        let (winner, loser) = match (a, b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (Ok(_), Ok(_)) => panic!("round {round}: both runs got the lock"),
            (Err(a), Err(b)) => panic!("round {round}: neither got the lock: {a}; {b}"),
        };
        let PlatformError::Locked(held) = &loser else {
            panic!("round {round}: the loser is not told who holds it: {loser}");
        };
        assert_eq!(held.owner, winner.owner, "round {round}");
        assert_eq!(held.environment, "prod");
        assert!(held.expires_in_secs.is_some_and(|s| s > 50), "{held:?}");
        lock::release(&client, &app, "prod", &winner, &stop)
            .await
            .expect("the winner releases");
        let left = read_tags(&client, &app, &stop).await.expect("read");
        assert_eq!(lock_value(&left), None, "round {round}: released");
    }
    assert_eq!(writes_on(&emu.info, &app).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_lapsed_lock_is_taken_over_and_the_old_holder_cannot_renew_or_release_it() {
    let emu = emulator::start().await;
    let app = seeded_app(&emu.info).await;
    let client = client(&emu.info);
    let stop = CancellationToken::new();
    let settle = lock::MIN_SETTLE;
    merge_tags(&client, &app, &tags(&[("team", "orders")]), &stop)
        .await
        .expect("the user's tag");

    let first = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run A",
        Duration::from_secs(4),
        settle,
        &stop,
    )
    .await
    .expect("A takes the free lock");
    let refused = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run B",
        Duration::from_secs(60),
        settle,
        &stop,
    )
    .await
    .expect_err("A holds it");
    let PlatformError::Locked(held) = &refused else {
        panic!("not a held lock: {refused}");
    };
    assert_eq!(held.owner, "run A");
    let command = held.unlock_command.as_deref().unwrap_or_default();
    assert!(
        command.starts_with(&format!("az tag update --resource-id {app}")),
        "{command}"
    );
    assert!(refused.to_string().contains("locked by run A"), "{refused}");

    // Renewed, A's lock outlives its first lease (4 s).
    lock::renew(&client, &app, "prod", &first, Duration::from_secs(6), &stop)
        .await
        .expect("A renews");
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let still = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run B",
        Duration::from_secs(60),
        settle,
        &stop,
    )
    .await
    .expect_err("renewed: still A's");
    assert!(
        matches!(&still, PlatformError::Locked(h) if h.owner == "run A"),
        "{still}"
    );

    // Lapsed, it is taken over.
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let second = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run B",
        Duration::from_secs(60),
        settle,
        &stop,
    )
    .await
    .expect("B takes over the lapsed lock");
    let taken = read_tags(&client, &app, &stop).await.expect("read");
    let b_value = lock_value(&taken).cloned().expect("B's lock");
    assert!(b_value.ends_with(" run B"), "{b_value}");

    let renewal = lock::renew(
        &client,
        &app,
        "prod",
        &first,
        Duration::from_secs(60),
        &stop,
    )
    .await
    .expect_err("A no longer holds it");
    assert!(
        matches!(&renewal, PlatformError::Locked(h) if h.owner == "run B"),
        "{renewal}"
    );
    let release = lock::release(&client, &app, "prod", &first, &stop).await;
    assert!(
        matches!(&release, Err(PlatformError::Locked(h)) if h.owner == "run B"),
        "{release:?}"
    );
    let after = read_tags(&client, &app, &stop).await.expect("read");
    assert_eq!(lock_value(&after), Some(&b_value), "B's lock stays");
    assert_eq!(after.get("team").map(String::as_str), Some("orders"));

    lock::release(&client, &app, "prod", &second, &stop)
        .await
        .expect("B releases");
    let end = read_tags(&client, &app, &stop).await.expect("read");
    assert_eq!(end, tags(&[("team", "orders")]), "only the lock tag went");
    assert_eq!(writes_on(&emu.info, &app).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_renewed_while_an_app_write_fails_stays_renewed() {
    let emu = emulator::start().await;
    let app = seeded_app(&emu.info).await;
    let client = client(&emu.info);
    let stop = CancellationToken::new();
    let lease = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run A",
        Duration::from_secs(60),
        lock::MIN_SETTLE,
        &stop,
    )
    .await
    .expect("lock");
    let (status, body) = emulator::admin(
        &emu.info,
        "POST",
        "/admin/faults",
        Some(json!({"method": "PATCH", "path": "/containerApps/",
                    "lro_failed": {"code": "ContainerAppOperationError", "message": "image pull failed"}})),
    )
    .await;
    assert!(status < 300, "{body:?}");
    let read: ContainerApp = client.get(&app, APP_API_VERSION, &stop).await.expect("GET");
    let mut template = read.properties.and_then(|p| p.template).expect("template");
    template.revision_suffix = Some("v9".into());
    if let Some(c) = template.containers.as_mut().and_then(|c| c.first_mut()) {
        c.image = Some("agog/orders:9.0.0".into());
    }
    let before = read_tags(&client, &app, &stop).await.expect("read");
    let body = json!({"properties": {"template": template}});
    let deploy = client.patch::<_, ContainerApp>(&app, APP_API_VERSION, &body, &stop);
    let renewal = async {
        // While the write's operation runs (it ends at the first poll, 1 s on).
        tokio::time::sleep(Duration::from_millis(100)).await;
        lock::renew(
            &client,
            &app,
            "prod",
            &lease,
            Duration::from_secs(600),
            &stop,
        )
        .await
    };
    let (deployed, renewed) = tokio::join!(deploy, renewal);
    assert!(deployed.is_err(), "the scripted failure: {deployed:?}");
    renewed.expect("renewed during the write");
    let after = read_tags(&client, &app, &stop).await.expect("read");
    assert_ne!(
        after.get(LOCK_TAG),
        before.get(LOCK_TAG),
        "the renewal survived the failed write"
    );
    let refused = lock::acquire_settling(
        &client,
        &app,
        "prod",
        "run B",
        Duration::from_secs(60),
        lock::MIN_SETTLE,
        &stop,
    )
    .await
    .expect_err("still A's");
    assert!(
        matches!(&refused, PlatformError::Locked(h) if h.owner == "run A" && h.expires_in_secs.is_some_and(|s| s > 500)),
        "{refused}"
    );
}
