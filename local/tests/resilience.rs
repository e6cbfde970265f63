//! Daemon crash recovery and colour crash restarts, with real processes.

mod common;

use std::time::{Duration, Instant};

use bluegreen_local::api::{Color, ProcessStatus};
use common::{get, http, Daemon};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_daemon_then_restart_restores_routing_and_colours() {
    let mut d = Daemon::start().await;
    let port = d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.2.0").await;
    d.deploy("api", Color::Green, "1.3.0").await;
    d.route("api", Color::Blue).await;
    let revision = d.route("api", Color::Green).await;
    let before = d.client().get_environment("api").await.expect("status");
    let url = format!("http://127.0.0.1:{port}/api/version");
    let s = get(&http(), &url, &[]).await;
    assert!(s.body.contains("1.3.0"), "{s:?}");

    d.kill9();
    // The front door died with the daemon; the colour processes did not.
    let down = get(&http(), &url, &[]).await;
    assert_eq!(
        down.status, 0,
        "front door is down while the daemon is dead"
    );

    d.spawn().await;
    let after = d.client().get_environment("api").await.expect("status");
    assert_eq!(after.routing.revision, revision);
    assert_eq!(after.routing.primary, Some(Color::Green));
    assert_eq!(after.live_version.as_deref(), Some("1.3.0"));
    for color in Color::ALL {
        let (b, a) = (before.colors.get(color), after.colors.get(color));
        assert_eq!(a.version, b.version, "{color} version");
        assert_eq!(a.pid, b.pid, "{color} process adopted, not restarted");
        assert_eq!(a.port, b.port);
    }
    let client = http();
    for _ in 0..50 {
        let s = get(&client, &url, &[]).await;
        assert_eq!(s.status, 200, "{s:?}");
        assert_eq!(s.color.as_deref(), Some("green"));
        assert!(s.body.contains("1.3.0"));
    }
    // Adopted processes are still managed: switching back works and so does stopping.
    d.route("api", Color::Blue).await;
    assert!(get(&client, &url, &[]).await.body.contains("1.2.0"));
    let stopped = d
        .client()
        .stop("api", Color::Green, &Default::default())
        .await
        .expect("stop adopted green");
    assert_eq!(stopped.status, ProcessStatus::Stopped);
    let gone = before.colors.green.pid.expect("green pid");
    assert!(
        !bluegreen_local::process::procfs::is_alive(gone),
        "adopted process {gone} was terminated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_colour_is_restarted_with_growing_backoff() {
    let d = Daemon::start().await;
    d.define("crashy", &["--crash-after", "0.2"]).await;
    let client = d.client();
    client
        .deploy(
            "crashy",
            Color::Blue,
            &bluegreen_local::api::DeployRequest {
                version: "9.9.9".into(),
                ..Default::default()
            },
        )
        .await
        .expect("deploy");

    // Record when each restart happens.
    let started = Instant::now();
    let mut restarts_at = Vec::new();
    let mut last = 0;
    let mut seen_crashed = None;
    while started.elapsed() < Duration::from_secs(8) && restarts_at.len() < 3 {
        let env = client.get_environment("crashy").await.expect("status");
        let blue = env.colors.blue;
        d.track(blue.pid);
        if blue.restarts > last {
            last = blue.restarts;
            restarts_at.push(started.elapsed());
        }
        if blue.status == ProcessStatus::Crashed {
            seen_crashed = Some(blue);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(restarts_at.len() >= 3, "restarts seen at {restarts_at:?}");
    let gaps: Vec<Duration> = restarts_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[1] > gaps[0] + Duration::from_millis(300),
        "backoff grows between restarts: {gaps:?}"
    );
    let crashed = seen_crashed.expect("saw the crashed state");
    assert_eq!(crashed.last_exit.as_deref(), Some("exit status 1"));
    assert!(
        crashed
            .log_tail
            .iter()
            .any(|l| l.contains("crashing on purpose")),
        "log tail shows why: {:?}",
        crashed.log_tail
    );
    let audit = client.audit(Some("crashy"), None).await.expect("audit");
    assert!(audit
        .iter()
        .any(|e| e.action == bluegreen_local::api::AuditAction::Crash
            && e.message.contains("exit status 1")));
}
