//! State files are owner-only, and refused admin requests leave a bounded trace in the
//! audit log (issue 12, items 8 and 9).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bluegreen_local::api::{AuditAction, EnvironmentSpec, Outcome};
use bluegreen_local::client::{Client, ClientError};
use common::Daemon;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn assert_private(state: &Path, when: &str) {
    assert_eq!(mode(state), 0o700, "{when}: state directory");
    for file in ["state.json", "audit.log", "token"] {
        assert_eq!(mode(&state.join(file)), 0o600, "{when}: {file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_directory_and_files_are_owner_only_and_tightened_at_start() {
    let mut d = Daemon::start().await;
    // A definition with a secret in `env`: what state.json must not show to others.
    let spec = EnvironmentSpec {
        command: vec!["sleep".into(), "600".into()],
        env: [("DATABASE_PASSWORD".to_owned(), "s3cret".to_owned())].into(),
        listen: format!("127.0.0.1:{}", common::free_port()),
        drain_timeout_ms: 1_000,
        upstream_timeout_ms: bluegreen_local::api::DEFAULT_UPSTREAM_TIMEOUT_MS,
        tenant_header: "X-Tenant-ID".into(),
        trust_forwarded_headers: false,
        health_path: None,
    };
    d.client()
        .put_environment("api", &spec, Some("test"))
        .await
        .expect("define");
    let state = d.state_dir();
    assert!(
        std::fs::read_to_string(state.join("state.json"))
            .unwrap_or_default()
            .contains("s3cret"),
        "the secret is in state.json (so its mode matters)"
    );
    assert_private(&state, "created by the daemon");

    // An operator's copy or an older daemon left them readable by everyone.
    d.terminate();
    chmod(&state, 0o755);
    chmod(&state.join("state.json"), 0o644);
    chmod(&state.join("audit.log"), 0o666);
    d.spawn().await;
    assert_private(&state, "after a start on loose modes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_audited_at_most_once_a_minute_without_the_token() {
    let d = Daemon::start().await;
    let wrong_token = "not-the-token-0123456789";
    let intruder = Client::new(&d.endpoint(), Some(wrong_token.into())).expect("client");
    let anonymous = Client::new(&d.endpoint(), None).expect("client");
    for _ in 0..10 {
        let refused = intruder.get_environment("api").await;
        assert!(
            matches!(refused, Err(ClientError::Unauthorized { .. })),
            "{refused:?}"
        );
        let refused = anonymous.list_environments().await;
        assert!(
            matches!(refused, Err(ClientError::Unauthorized { .. })),
            "{refused:?}"
        );
    }
    let audit = d.client().audit(None, None).await.expect("audit");
    let refusals: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Unauthorized)
        .collect();
    assert_eq!(
        refusals.len(),
        1,
        "20 refusals within a minute make one entry: {refusals:#?}"
    );
    let entry = refusals[0];
    assert_eq!(entry.outcome, Outcome::Refused);
    assert!(
        entry.actor.contains("127.0.0.1") && entry.message.contains("wrong bearer token"),
        "names the peer and the reason: {entry:?}"
    );
    assert_eq!(entry.environment, "api", "{entry:?}");
    let log = std::fs::read_to_string(d.state_dir().join("audit.log")).expect("audit.log");
    assert!(
        !log.contains(wrong_token),
        "a presented token never reaches the audit log"
    );
}
