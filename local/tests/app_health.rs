//! The application's own health per colour (issue 16): with a `health_path` the daemon
//! asks each running colour and shows its `checks` in the status API and the CLI.

mod common;

use std::time::{Duration, Instant};

use bluegreen_local::api::{AppHealth, Color};
use bluegreen_local::client::Client;
use common::Daemon;

/// The colour's health once the daemon has asked its current process.
async fn health_of(c: &Client, env: &str, color: Color) -> AppHealth {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = c.get_environment(env).await.expect("status");
        if let Some(h) = st.colors.get(color).health.clone() {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "no health for {color} within 10 s: {:?}",
            st.colors.get(color)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn checks(h: &AppHealth) -> Vec<(String, String, bool)> {
    h.checks
        .iter()
        .map(|c| (c.name.clone(), c.status.clone(), c.ok))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_colours_checks_healthy_and_failing() {
    let d = Daemon::start().await;
    // One command: 1.0.0 healthy, 2.0.0 answers 503 with a failing database.
    d.define("shop", &["--unhealthy", "--faulty-version", "2.0.0"])
        .await;
    let c = d.client();
    d.deploy("shop", Color::Blue, "1.0.0").await;
    let before = c.get_environment("shop").await.expect("status");
    assert_eq!(before.colors.blue.health, None, "no path, no checks");

    // Setting the path only: the colour keeps running as it was.
    let mut spec = before.spec.clone();
    spec.health_path = Some("/api/health".into());
    let after = c
        .put_environment("shop", &spec, Some("test"))
        .await
        .expect("define with a health path");
    assert_eq!(after.spec.health_path.as_deref(), Some("/api/health"));
    assert_eq!(after.colors.blue.pid, before.colors.blue.pid);
    assert!(!after.colors.blue.outdated);

    let blue = health_of(&c, "shop", Color::Blue).await;
    assert!(blue.ok, "{blue:?}");
    assert_eq!(
        (
            blue.http_status,
            blue.status.as_deref(),
            blue.error.as_deref()
        ),
        (Some(200), Some("healthy"), None)
    );
    let ok = |n: &str, s: &str| (n.to_string(), s.to_string(), true);
    assert_eq!(
        checks(&blue),
        [
            ok("database", "ok"),
            ok("cache", "ok"),
            ok("storage", "ok"),
            ok("equipment", "ok (23/23 connected)"),
        ]
    );

    d.deploy("shop", Color::Green, "2.0.0").await;
    let green = health_of(&c, "shop", Color::Green).await;
    assert!(!green.ok, "{green:?}");
    assert_eq!(
        (green.http_status, green.status.as_deref()),
        (Some(503), Some("unhealthy"))
    );
    assert_eq!(
        checks(&green)[0],
        ("database".to_string(), "failing".to_string(), false)
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .args(["status", "shop"])
        .env("BLUEGREEN_LOCAL_ENDPOINT", d.endpoint())
        .env("BLUEGREEN_LOCAL_STATE_DIR", d.state_dir())
        .env_remove("BLUEGREEN_LOCAL_TOKEN")
        .output()
        .expect("running the CLI");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("blue   health ok: healthy (HTTP 200): database ok · cache ok · storage ok · equipment ok (23/23 connected) (checked "),
        "{text}"
    );
    assert!(
        text.contains("green  health FAILING: unhealthy (HTTP 503): database failing · cache ok"),
        "{text}"
    );

    // Without a path the daemon stops showing (and asking).
    spec.health_path = None;
    let cleared = c
        .put_environment("shop", &spec, Some("test"))
        .await
        .expect("define without a health path");
    assert_eq!(cleared.colors.blue.health, None);
    assert_eq!(cleared.colors.blue.pid, before.colors.blue.pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_path_that_is_not_a_path_is_refused() {
    let d = Daemon::start().await;
    d.define("shop", &[]).await;
    let c = d.client();
    let mut spec = c.get_environment("shop").await.expect("status").spec;
    spec.health_path = Some("api/health".into());
    let err = c
        .put_environment("shop", &spec, Some("test"))
        .await
        .expect_err("a path without a leading slash");
    assert!(
        err.to_string().contains("`health_path` must be a URL path"),
        "{err}"
    );
}
