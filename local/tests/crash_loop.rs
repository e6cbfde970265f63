//! A colour that receives no traffic and keeps crashing (the idle colour of a failed
//! release) backs off and is given up after a few crashes in a row, with a bounded
//! number of audit entries, instead of being restarted and audited every 30 s
//! forever (issue 12, item 11).

mod common;

use std::time::{Duration, Instant};

use bluegreen_local::api::{AuditAction, Color, DeployRequest, ProcessStatus};
use common::Daemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_looping_idle_colour_is_given_up_and_audited_a_bounded_number_of_times() {
    let mut d = Daemon::start().await;
    d.define("crashy", &["--crash-after", "0.1"]).await;
    let client = d.client();
    client
        .deploy(
            "crashy",
            Color::Green,
            &DeployRequest {
                version: "9.9.9".into(),
                ..Default::default()
            },
        )
        .await
        .expect("deploy");

    // Backoff 0.5 + 1 + 2 + 4 s between the crashes: well within a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    let given_up = loop {
        let green = client
            .get_environment("crashy")
            .await
            .expect("status")
            .colors
            .green;
        d.track(green.pid);
        if green
            .last_exit
            .as_deref()
            .is_some_and(|e| e.contains("not restarted"))
        {
            break green;
        }
        assert!(
            Instant::now() < deadline,
            "the crash-looping idle colour is still restarted after 60 s: {green:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(given_up.status, ProcessStatus::Crashed, "{given_up:?}");
    assert_eq!(given_up.pid, None, "{given_up:?}");
    let last_exit = given_up.last_exit.clone().unwrap_or_default();
    assert!(
        last_exit.contains("exit status 1") && last_exit.contains("deploy it again"),
        "says how it exited and what to do: {last_exit}"
    );
    assert!(
        given_up
            .log_tail
            .iter()
            .any(|l| l.contains("crashing on purpose")),
        "the log tail stays for the diagnosis: {:?}",
        given_up.log_tail
    );

    // Longer than the next backoff (8 s) would have been: nothing restarts it.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = client
        .get_environment("crashy")
        .await
        .expect("status")
        .colors
        .green;
    assert_eq!(
        later.restarts, given_up.restarts,
        "restarted after giving up: {later:?}"
    );
    assert_eq!(later.status, ProcessStatus::Crashed);

    let audit = client.audit(Some("crashy"), None).await.expect("audit");
    let crashes: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Crash)
        .collect();
    assert!(
        crashes.len() < given_up.restarts as usize + 1,
        "{} crashes but {} crash entries: not one per crash: {crashes:#?}",
        given_up.restarts + 1,
        crashes.len()
    );
    assert!(
        crashes
            .last()
            .is_some_and(|e| e.message.contains("not restarted")),
        "the last entry says it is given up: {crashes:#?}"
    );

    // A daemon restart does not start the crash loop again.
    d.terminate();
    d.spawn().await;
    let client = d.client();
    let restored = client
        .get_environment("crashy")
        .await
        .expect("status")
        .colors
        .green;
    assert_eq!(restored.status, ProcessStatus::Crashed, "{restored:?}");
    assert_eq!(restored.last_exit, given_up.last_exit, "{restored:?}");
    // Longer than a respawn, its crash and the audit of that crash would take.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_restart = client
        .get_environment("crashy")
        .await
        .expect("status")
        .colors
        .green;
    assert_eq!(
        after_restart.restarts, given_up.restarts,
        "{after_restart:?}"
    );
    assert_eq!(after_restart.pid, None, "{after_restart:?}");
    let audit = client.audit(Some("crashy"), None).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::Crash)
            .count(),
        crashes.len(),
        "no crash after the daemon restart: {audit:#?}"
    );

    // Deploying again starts it afresh.
    client
        .deploy(
            "crashy",
            Color::Green,
            &DeployRequest {
                version: "9.9.9".into(),
                restart: true,
                ..Default::default()
            },
        )
        .await
        .expect("deploy again");
    let again = client
        .get_environment("crashy")
        .await
        .expect("status")
        .colors
        .green;
    d.track(again.pid);
    assert!(
        !again
            .last_exit
            .as_deref()
            .is_some_and(|e| e.contains("not restarted")),
        "{again:?}"
    );
}
