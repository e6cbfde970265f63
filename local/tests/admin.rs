//! The admin API and CLI as a user meets them.

mod common;

use std::process::Command;

use bluegreen_local::api::{
    AuditAction, Color, DeployRequest, LockRequest, Outcome, RoutingUpdate, StopRequest,
};
use bluegreen_local::client::{Client, ClientError};
use common::{free_port, Daemon};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_requires_the_token() {
    let d = Daemon::start().await;
    let token_file = d.state_dir().join("token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file)
            .expect("token file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "token file is private");

    let anon = Client::new(&d.endpoint(), None).expect("client");
    assert_eq!(
        anon.health().await.expect("health needs no token").service,
        "bluegreen-local"
    );
    match anon.list_environments().await {
        Err(ClientError::Unauthorized { message, .. }) => {
            assert!(message.contains("missing bearer token"), "{message}")
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let wrong = Client::new(&d.endpoint(), Some("0".repeat(64))).expect("client");
    assert!(matches!(
        wrong.list_environments().await,
        Err(ClientError::Unauthorized { .. })
    ));
    assert!(d
        .client()
        .list_environments()
        .await
        .expect("authorised")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_lock_holder_is_told_who_holds_it() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    let c = d.client();
    let lock = |owner: &str| LockRequest::new(owner, 60);
    let held = c
        .acquire_lock("api", &lock("terraform:ci-1"))
        .await
        .expect("acquire");
    match c.acquire_lock("api", &lock("terraform:ci-2")).await {
        Err(ClientError::Locked {
            owner,
            since,
            message,
            ..
        }) => {
            assert_eq!(owner, "terraform:ci-1");
            assert_eq!(since, held.since);
            assert!(message.contains("locked by terraform:ci-1"), "{message}");
            // When it lapses, absolute and relative, and how to break it.
            assert!(
                message.contains(&format!("the lock expires at {} (in ", held.expires_at)),
                "{message}"
            );
            let unlock = format!(
                "`bluegreen-local unlock api --state-dir {}`",
                d.state_dir().canonicalize().expect("state dir").display()
            );
            assert!(message.contains(&unlock), "{message}");
            assert!(
                message.contains("unsafe while that run is still going"),
                "{message}"
            );
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // Mutations by someone else are refused while the lock is held...
    let deploy = c
        .deploy(
            "api",
            Color::Blue,
            &DeployRequest {
                version: "1.0.0".into(),
                lock_owner: Some("terraform:ci-2".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(deploy, Err(ClientError::Locked { ref owner, .. }) if owner == "terraform:ci-1"),
        "{deploy:?}"
    );
    // ...and the raw answer carries the documented fields.
    let raw = raw_request(
        &d,
        "POST",
        "/v1/environments/api/lock",
        r#"{"owner":"x","ttl_secs":5}"#,
    )
    .await;
    assert_eq!(raw.0, 409);
    let body: serde_json::Value = serde_json::from_str(&raw.1).expect("json");
    assert_eq!(body["error"], "locked");
    assert_eq!(body["locked_by"], "terraform:ci-1");
    assert!(body["since"].is_string() && body["expires_at"].is_string());
    let left = body["expires_in_secs"].as_u64().expect("expires_in_secs");
    assert!((1..=60).contains(&left), "{body}");

    c.renew_lock("api", &lock("terraform:ci-1"))
        .await
        .expect("renew");
    c.release_lock("api", "terraform:ci-1")
        .await
        .expect("release");
    assert!(c.lock_info("api").await.expect("lock state").is_none());
    c.acquire_lock("api", &lock("terraform:ci-2"))
        .await
        .expect("free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_of_a_process_that_is_gone_is_taken_over_at_once() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    let c = d.client();
    // A holder that named its process, which then died (a `terraform` killed with -9).
    let mut holder = Command::new("true").spawn().expect("spawn true");
    let pid = holder.id();
    holder.wait().expect("wait");
    let dead = LockRequest {
        pid: Some(pid),
        pid_space: bluegreen_local::process::procfs::pid_space(),
        ..LockRequest::new("terraform (pid 1) on ci in /gone", 60)
    };
    c.acquire_lock("api", &dead).await.expect("acquire");
    assert!(
        c.lock_info("api").await.expect("lock state").is_none(),
        "a lock whose holder is gone is not reported as held"
    );
    let next = LockRequest::new("terraform:next", 60).held_by_this_process();
    let held = c
        .acquire_lock("api", &next)
        .await
        .expect("taken over without waiting for expiry");
    assert_eq!(held.pid, Some(std::process::id()));
    let audit = c.audit(Some("api"), Some(5)).await.expect("audit");
    assert!(
        audit.iter().any(|e| e.action == AuditAction::Unlock
            && e.message.contains("terraform (pid 1) on ci in /gone")
            && e.message
                .contains(&format!("its process {pid} on this machine is gone"))),
        "{audit:?}"
    );
    // A live holder keeps its lock.
    let other = LockRequest::new("terraform:other", 60).held_by_this_process();
    assert!(matches!(
        c.acquire_lock("api", &other).await,
        Err(ClientError::Locked { ref owner, .. }) if owner == "terraform:next"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_unlock_breaks_the_lock_under_the_operators_name() {
    let d = Daemon::start().await;
    d.define("web", &[]).await;
    d.client()
        .acquire_lock(
            "web",
            &LockRequest::new("terraform (pid 4242) on ci in /w", 60).held_by_this_process(),
        )
        .await
        .expect("lock");
    let out = cli(&d, &["unlock", "web"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("web: broke the lock of terraform (pid 4242) on ci in /w (held since "),
        "{text}"
    );
    assert!(d
        .client()
        .lock_info("web")
        .await
        .expect("lock state")
        .is_none());
    let audit = d.client().audit(Some("web"), Some(1)).await.expect("audit");
    assert_eq!(audit[0].actor, "cli:oncall");
    assert_eq!(audit[0].action, AuditAction::Unlock);
    assert!(
        audit[0]
            .message
            .contains("lock of terraform (pid 4242) on ci in /w"),
        "{:?}",
        audit[0]
    );
    // Another run can take it now; a second unlock has nothing to break.
    d.client()
        .acquire_lock("web", &LockRequest::new("terraform:next", 60))
        .await
        .expect("free after unlock");
    d.client()
        .release_lock("web", "terraform:next")
        .await
        .expect("release");
    let out = cli(&d, &["unlock", "web"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "web: not locked; nothing changed"
    );
    let out = cli(&d, &["unlock", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("environment \"nosuch\" does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn raw_request(d: &Daemon, method: &str, path: &str, body: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let token = std::fs::read_to_string(d.state_dir().join("token")).expect("token");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{path}", d.endpoint()))
        .header("authorization", format!("Bearer {}", token.trim()))
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let resp = client.request(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_colour_cannot_be_redeployed_or_stopped_and_stale_revisions_are_refused() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.0.0").await;
    let rev = d.route("api", Color::Blue).await;
    let c = d.client();
    let redeploy = c
        .deploy(
            "api",
            Color::Blue,
            &DeployRequest {
                version: "1.1.0".into(),
                ..Default::default()
            },
        )
        .await;
    match redeploy {
        Err(ClientError::Conflict { message }) => {
            assert!(message.contains("receives traffic (live)"), "{message}");
            assert!(message.contains("idle colour green"), "{message}");
        }
        other => panic!("expected 409, got {other:?}"),
    }
    assert!(matches!(
        c.stop("api", Color::Blue, &StopRequest::default()).await,
        Err(ClientError::Conflict { .. })
    ));
    // Routing to a colour that runs nothing is refused.
    let to_green = c
        .set_routing(
            "api",
            &RoutingUpdate {
                primary: Some(Color::Green),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(&to_green, Err(ClientError::Conflict { message }) if message.contains("green") && message.contains("not running")),
        "{to_green:?}"
    );
    // Optimistic concurrency.
    d.deploy("api", Color::Green, "1.1.0").await;
    let stale = c
        .set_routing(
            "api",
            &RoutingUpdate {
                primary: Some(Color::Green),
                if_revision: Some(rev - 1),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(&stale, Err(ClientError::StaleRevision { message }) if message.contains(&format!("revision {rev}"))),
        "{stale:?}"
    );
    let ok = c
        .set_routing(
            "api",
            &RoutingUpdate {
                primary: Some(Color::Green),
                if_revision: Some(rev),
                actor: Some("terraform".into()),
                ..Default::default()
            },
        )
        .await
        .expect("switch at the expected revision");
    assert!(ok.revision > rev);
    // Redeploying the same version to a running idle colour keeps its process.
    let pid = c
        .get_environment("api")
        .await
        .expect("status")
        .colors
        .blue
        .pid;
    let same = c
        .deploy(
            "api",
            Color::Blue,
            &DeployRequest {
                version: "1.0.0".into(),
                ..Default::default()
            },
        )
        .await
        .expect("idempotent deploy");
    assert_eq!(same.pid, pid);

    let audit = c.audit(Some("api"), None).await.expect("audit");
    let switch = audit
        .iter()
        .rev()
        .find(|e| e.action == AuditAction::Switch && e.outcome == Outcome::Ok)
        .expect("switch audited");
    assert_eq!(switch.actor, "terraform");
    assert_eq!(
        (switch.from_color, switch.to_color),
        (Some(Color::Blue), Some(Color::Green))
    );
    assert_eq!(
        (switch.from_version.as_deref(), switch.to_version.as_deref()),
        (Some("1.0.0"), Some("1.1.0"))
    );
    assert!(audit
        .iter()
        .any(|e| e.action == AuditAction::Deploy && e.outcome == Outcome::Refused));
    let log = std::fs::read_to_string(d.state_dir().join("audit.log")).expect("audit.log");
    assert!(log
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_shows_in_front_door_metrics() {
    let d = Daemon::start().await;
    let port = d.define("faulty", &["--error-rate", "0.05"]).await;
    d.deploy("faulty", Color::Green, "1.3.1").await;
    d.route("faulty", Color::Green).await;
    let since = bluegreen_local::time::now_ms();
    let client = common::http();
    let url = format!("http://127.0.0.1:{port}/api/orders");
    let mut errors = 0;
    for _ in 0..400 {
        if common::get(&client, &url, &[]).await.status == 500 {
            errors += 1;
        }
    }
    assert_eq!(errors, 20, "the demo app fails exactly 5%");
    let m = d
        .client()
        .metrics("faulty", Color::Green, Some(since), None)
        .await
        .expect("metrics");
    assert_eq!((m.requests, m.errors_5xx), (400, 20));
    assert!((m.error_rate - 0.05).abs() < 1e-9);
    let (p50, p99) = (m.p50_ms.expect("p50"), m.p99_ms.expect("p99"));
    assert!(p50 > 0.0 && p50 <= p99, "{m:?}");
    let blue = d
        .client()
        .metrics("faulty", Color::Blue, Some(since), None)
        .await
        .expect("metrics");
    assert_eq!(blue.requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colour_slower_than_upstream_timeout_is_a_504_in_its_metrics() {
    let d = Daemon::start().await;
    let port = d.define("slow", &["--latency-ms", "1500"]).await;
    let c = d.client();
    let mut spec = c.get_environment("slow").await.expect("status").spec;
    spec.upstream_timeout_ms = 0;
    let refused = c.put_environment("slow", &spec, Some("test")).await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("upstream_timeout_ms")),
        "{refused:?}"
    );
    spec.upstream_timeout_ms = 300;
    c.put_environment("slow", &spec, Some("test"))
        .await
        .expect("redefine");
    assert_eq!(
        c.get_environment("slow")
            .await
            .expect("status")
            .spec
            .upstream_timeout_ms,
        300
    );
    d.deploy("slow", Color::Blue, "1.0.0").await;
    d.route("slow", Color::Blue).await;
    let since = bluegreen_local::time::now_ms();
    let answer = common::get(
        &common::http(),
        &format!("http://127.0.0.1:{port}/api/orders"),
        &[],
    )
    .await;
    assert_eq!(answer.status, 504, "{answer:?}");
    assert_eq!(answer.color.as_deref(), Some("blue"));
    let m = c
        .metrics("slow", Color::Blue, Some(since), None)
        .await
        .expect("metrics");
    assert_eq!((m.requests, m.errors_5xx), (1, 1), "{m:?}");
}

fn cli(d: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .args(args)
        .env("BLUEGREEN_LOCAL_ENDPOINT", d.endpoint())
        .env("BLUEGREEN_LOCAL_STATE_DIR", d.state_dir())
        .env("USER", "oncall")
        .env_remove("BLUEGREEN_LOCAL_TOKEN")
        .output()
        .expect("running the CLI")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_status_and_emergency_switch() {
    let d = Daemon::start().await;
    let port = d.define("web", &[]).await;
    d.deploy("web", Color::Blue, "1.2.0").await;
    d.deploy("web", Color::Green, "1.3.0").await;
    d.route("web", Color::Green).await;

    let out = cli(&d, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "web  front door http://127.0.0.1:{port}  live: green 1.3.0"
        )),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("blue")
            && l.contains("1.2.0")
            && l.contains("running")
            && l.contains("idle")),
        "{text}"
    );

    let out = cli(&d, &["switch", "web", "blue", "-m", "p95 regression"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("all traffic now goes to blue (1.2.0), was green (1.3.0)"),
        "{text}"
    );
    let s = common::get(
        &common::http(),
        &format!("http://127.0.0.1:{port}/api/version"),
        &[],
    )
    .await;
    assert_eq!(s.color.as_deref(), Some("blue"));

    let out = cli(&d, &["status", "web", "--json"]);
    let env: bluegreen_local::api::EnvironmentStatus =
        serde_json::from_slice(&out.stdout).expect("status --json is an environment object");
    assert_eq!(env.routing.primary, Some(Color::Blue));
    assert_eq!(env.routing.updated_by.as_deref(), Some("cli:oncall"));

    let audit = d.client().audit(Some("web"), Some(1)).await.expect("audit");
    assert_eq!(audit[0].actor, "cli:oncall");
    assert!(audit[0].message.contains("p95 regression"));

    // A lock held by a Terraform run blocks the CLI unless forced.
    d.client()
        .acquire_lock("web", &LockRequest::new("terraform:ci", 60))
        .await
        .expect("lock");
    let out = cli(&d, &["switch", "web", "green"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: environment web is locked by terraform:ci"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    let out = cli(&d, &["switch", "web", "green", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_says_how_to_start_an_unreachable_daemon() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .args(["status", "--endpoint", &endpoint])
        .env_remove("BLUEGREEN_LOCAL_TOKEN")
        .env_remove("BLUEGREEN_LOCAL_STATE_DIR")
        .output()
        .expect("running the CLI");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("not reachable at {endpoint}")),
        "{err}"
    );
    assert!(err.contains("bluegreen-local serve"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_stops_everything_and_frees_the_front_door() {
    let d = Daemon::start().await;
    let port = d.define("gone", &[]).await;
    d.deploy("gone", Color::Blue, "1.0.0").await;
    d.route("gone", Color::Blue).await;
    let pid = d
        .client()
        .get_environment("gone")
        .await
        .expect("status")
        .colors
        .blue
        .pid
        .expect("pid");
    d.client()
        .delete_environment(
            "gone",
            &StopRequest {
                actor: Some("test".into()),
                lock_owner: None,
            },
        )
        .await
        .expect("delete");
    assert!(!bluegreen_local::process::procfs::is_alive(pid));
    assert!(matches!(
        d.client().get_environment("gone").await,
        Err(ClientError::NotFound { .. })
    ));
    assert_eq!(
        common::get(&common::http(), &format!("http://127.0.0.1:{port}/"), &[])
            .await
            .status,
        0
    );
    // The same name and address can be defined again.
    d.define("gone", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_definition_starts_the_idle_colour_afresh() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.0.0").await;
    d.route("api", Color::Blue).await;
    d.deploy("api", Color::Green, "1.1.0").await;
    let c = d.client();
    let before = c.get_environment("api").await.expect("status");
    assert!(!before.colors.green.outdated && !before.colors.blue.outdated);

    // The user corrects the env: both running colours now run an older definition.
    let mut spec = before.spec.clone();
    spec.env.insert("AGOG_ACCESS_LOG".into(), "true".into());
    c.put_environment("api", &spec, Some("test"))
        .await
        .expect("redefine");
    let redefined = c.get_environment("api").await.expect("status");
    assert!(
        redefined.colors.green.outdated,
        "{:?}",
        redefined.colors.green
    );
    assert!(
        redefined.colors.blue.outdated,
        "{:?}",
        redefined.colors.blue
    );
    assert_eq!(
        redefined.colors.blue.pid, before.colors.blue.pid,
        "the live colour was restarted by a define"
    );

    // Deploying the same version to the idle colour starts it from the new definition.
    let same_version = DeployRequest {
        version: "1.1.0".into(),
        ..Default::default()
    };
    c.deploy("api", Color::Green, &same_version)
        .await
        .expect("deploy");
    let green = c
        .wait_running("api", Color::Green, std::time::Duration::from_secs(20))
        .await
        .expect("green running");
    d.track(green.pid);
    assert_ne!(
        green.pid, before.colors.green.pid,
        "the outdated process was reused"
    );
    assert!(!green.outdated);
    // Now current, it is reused as before.
    let again = c
        .deploy("api", Color::Green, &same_version)
        .await
        .expect("deploy");
    assert_eq!(again.pid, green.pid);
    let after = c.get_environment("api").await.expect("status");
    assert_eq!(
        after.colors.blue.pid, before.colors.blue.pid,
        "the live colour was restarted"
    );
}

/// The refusals `c` finds in the audit log of `environment`, oldest first.
async fn refusals(c: &Client, environment: &str) -> Vec<bluegreen_local::api::AuditEntry> {
    c.audit(Some(environment), None)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.outcome == Outcome::Refused)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refused_change_leaves_one_audit_entry_naming_what_was_asked() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.0.0").await;
    d.route("api", Color::Blue).await;
    let c = d.client();
    c.acquire_lock("api", &LockRequest::new("ci-1", 60))
        .await
        .expect("lock");

    // Each step: a refused request, then (action, actor, colour, version, message
    // excerpt) of the one entry it must add.
    let deploy = c
        .deploy(
            "api",
            Color::Green,
            &DeployRequest {
                version: "2.0.0".into(),
                actor: Some("ci-2".into()),
                lock_owner: Some("ci-2".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(deploy, Err(ClientError::Locked { .. })),
        "{deploy:?}"
    );
    let expected_deploy = (
        AuditAction::Deploy,
        "ci-2",
        Some(Color::Green),
        Some("2.0.0"),
        "locked by ci-1",
    );
    let second_lock = c.acquire_lock("api", &LockRequest::new("ci-2", 60)).await;
    assert!(
        matches!(second_lock, Err(ClientError::Locked { .. })),
        "{second_lock:?}"
    );
    let expected_lock = (AuditAction::Lock, "ci-2", None, None, "locked by ci-1");
    let delete = c
        .delete_environment(
            "api",
            &StopRequest {
                actor: Some("ci-2".into()),
                lock_owner: Some("ci-2".into()),
            },
        )
        .await;
    assert!(
        matches!(delete, Err(ClientError::Locked { .. })),
        "{delete:?}"
    );
    let expected_delete = (AuditAction::Delete, "ci-2", None, None, "locked by ci-1");
    c.release_lock("api", "ci-1").await.expect("release");

    let stop = c
        .stop(
            "api",
            Color::Blue,
            &StopRequest {
                actor: Some("ops".into()),
                lock_owner: None,
            },
        )
        .await;
    assert!(
        matches!(stop, Err(ClientError::Conflict { .. })),
        "{stop:?}"
    );
    let expected_stop = (
        AuditAction::Stop,
        "ops",
        Some(Color::Blue),
        None,
        "receives traffic (live)",
    );
    // Refused before the environment is looked at, and still audited as what it asked.
    let rollback = c
        .set_routing(
            "api",
            &RoutingUpdate {
                primary: Some(Color::Blue),
                canary: Some(bluegreen_local::api::Canary {
                    color: Color::Green,
                    weight: 101,
                    tenants: Vec::new(),
                }),
                action: Some(bluegreen_local::api::RoutingAction::Rollback),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(rollback, Err(ClientError::Invalid { .. })),
        "{rollback:?}"
    );
    let expected_rollback = (
        AuditAction::Rollback,
        "api",
        Some(Color::Blue),
        None,
        "canary weight must be 0-100",
    );

    let entries = refusals(&c, "api").await;
    let seen: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.action,
                e.actor.as_str(),
                e.to_color,
                e.to_version.as_deref(),
                e.message.as_str(),
            )
        })
        .collect();
    let expected = [
        expected_deploy,
        expected_lock,
        expected_delete,
        expected_stop,
        expected_rollback,
    ];
    assert_eq!(seen.len(), expected.len(), "{seen:#?}");
    for (got, want) in seen.iter().zip(expected) {
        assert_eq!(
            (got.0, got.1, got.2, got.3),
            (want.0, want.1, want.2, want.3)
        );
        assert!(got.4.contains(want.4), "{:?}: {}", got.0, got.4);
    }
    for e in &entries {
        assert_eq!(
            (e.from_color, e.from_version.as_deref(), e.revision),
            (None, None, None),
            "a refusal changed nothing: {e:?}"
        );
    }

    // Requests about an environment that does not exist leave nothing: there is
    // nothing to attach an entry to.
    let ghost = c
        .deploy(
            "ghost",
            Color::Blue,
            &DeployRequest {
                version: "1.0.0".into(),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(ghost, Err(ClientError::NotFound { .. })),
        "{ghost:?}"
    );
    let ghost_route = c
        .set_routing(
            "ghost",
            &RoutingUpdate {
                primary: Some(Color::Blue),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(ghost_route, Err(ClientError::NotFound { .. })),
        "{ghost_route:?}"
    );
    assert!(c
        .audit(Some("ghost"), None)
        .await
        .expect("audit")
        .is_empty());
    assert_eq!(refusals(&c, "api").await.len(), expected.len());
}
