//! A front door whose `listen` port is held by another process when the daemon
//! restarts is reported down (status, API, audit), keeps retrying with backoff, and
//! serves again once the port is free; a redefinition binds it at once (issue 12, item 4).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bluegreen_local::api::{AuditAction, Color, EnvironmentStatus, Outcome};
use bluegreen_local::client::ClientError;
use common::{get, http, Daemon};

async fn wait_for_status(
    d: &Daemon,
    what: &str,
    ok: impl Fn(&EnvironmentStatus) -> bool,
) -> EnvironmentStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = d.client().get_environment("api").await.expect("status");
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "waited 60 s for {what}; last status {:?}\n{}",
            s.front_door,
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_listen_port_at_restart_is_reported_down_and_retried_until_free() {
    let mut d = Daemon::start().await;
    let port = d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.2.0").await;
    d.route("api", Color::Blue).await;
    let url = format!("http://127.0.0.1:{port}/api/version");
    assert_eq!(get(&http(), &url, &[]).await.status, 200);
    let up = d.client().get_environment("api").await.expect("status");
    let front = up.front_door.expect("front door status");
    assert!(front.listening, "{front:?}");
    assert_eq!(front.address, format!("127.0.0.1:{port}"));

    d.kill9();
    // Another process takes the port while the daemon is down.
    let squatter = TcpListener::bind(("127.0.0.1", port)).expect("occupy the front door port");
    d.spawn().await;

    let down = wait_for_status(&d, "the front door reported down", |s| {
        s.front_door.as_ref().is_some_and(|f| !f.listening)
    })
    .await;
    let front = down.front_door.expect("front door status");
    let error = front.error.clone().unwrap_or_default();
    assert!(
        error.contains(&format!("127.0.0.1:{port}")) && error.contains("in use"),
        "the outage names the address and the reason: {front:?}"
    );
    assert!(front.down_since.is_some(), "{front:?}");
    assert!(front.bind_attempts >= 1, "{front:?}");
    // The colour behind it is healthy: only the front door is down.
    assert_eq!(down.live_version.as_deref(), Some("1.2.0"));

    // `bluegreen-local status` says so too.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .args(["status", "api", "--endpoint", &d.endpoint(), "--state-dir"])
        .arg(d.state_dir())
        .output()
        .expect("run bluegreen-local status");
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!(
            "FRONT DOOR DOWN: not listening on 127.0.0.1:{port}"
        )),
        "status shows the outage: {shown}{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // It keeps retrying while the port stays busy.
    let retried = wait_for_status(&d, "a second bind attempt", |s| {
        s.front_door.as_ref().is_some_and(|f| f.bind_attempts >= 2)
    })
    .await;
    assert!(!retried.front_door.expect("front door").listening);

    // A redefinition with the same spec tries at once and says why it cannot listen.
    let spec = down.spec.clone();
    match d.client().put_environment("api", &spec, Some("test")).await {
        Err(ClientError::ListenFailed { message }) => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}")
        }
        other => panic!("expected a listen failure while the port is busy, got {other:?}"),
    }

    let audit = d
        .client()
        .audit(Some("api"), Some(100))
        .await
        .expect("audit log");
    let failed: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Listen && e.outcome == Outcome::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one audit entry for the outage, not one per retry: {audit:#?}"
    );

    drop(squatter);
    let back = wait_for_status(&d, "the front door listening again", |s| {
        s.front_door.as_ref().is_some_and(|f| f.listening)
    })
    .await;
    let front = back.front_door.expect("front door status");
    assert_eq!(front.error, None, "{front:?}");
    let served = get(&http(), &url, &[]).await;
    assert_eq!(served.status, 200, "{served:?}");
    assert!(served.body.contains("1.2.0"), "{served:?}");
    let audit = d
        .client()
        .audit(Some("api"), Some(100))
        .await
        .expect("audit log");
    assert!(
        audit
            .iter()
            .any(|e| e.action == AuditAction::Listen && e.outcome == Outcome::Ok),
        "the recovery is audited: {audit:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redefining_an_environment_whose_front_door_is_down_binds_it_again() {
    let mut d = Daemon::start().await;
    let port = d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.2.0").await;
    d.route("api", Color::Blue).await;
    d.kill9();
    let squatter = TcpListener::bind(("127.0.0.1", port)).expect("occupy the front door port");
    d.spawn().await;
    let down = wait_for_status(&d, "the front door reported down", |s| {
        s.front_door.as_ref().is_some_and(|f| !f.listening)
    })
    .await;
    drop(squatter);
    // The same definition again (what `terraform apply` sends) repairs it at once.
    let repaired = match d
        .client()
        .put_environment("api", &down.spec, Some("test"))
        .await
    {
        Ok(r) => r,
        Err(e) => panic!(
            "redefining did not bind the freed port 127.0.0.1:{port}: {e}\n{}",
            d.log()
        ),
    };
    assert!(
        repaired.front_door.as_ref().is_some_and(|f| f.listening),
        "{:?}",
        repaired.front_door
    );
    let url = format!("http://127.0.0.1:{port}/api/version");
    let served = get(&http(), &url, &[]).await;
    assert_eq!(served.status, 200, "{served:?}");
}
