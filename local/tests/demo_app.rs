//! The demo app's contract: health in the seed's shape and its fault flags.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, get, http};

struct App {
    child: Child,
    port: u16,
}

impl App {
    async fn start(args: &[&str], env: &[(&str, &str)]) -> App {
        let port = free_port();
        let child = Command::new(common::demo_app())
            .args([
                "--port",
                &port.to_string(),
                "--version",
                "1.3.0",
                "--color",
                "green",
            ])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn agog-demo-app");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "demo app did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        App { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_has_the_seed_shape() {
    let app = App::start(&[], &[]).await;
    let s = get(&http(), &app.url("/api/health"), &[]).await;
    assert_eq!(s.status, 200);
    let v: serde_json::Value = serde_json::from_str(&s.body).expect("json");
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["environment"], "green");
    assert_eq!(v["version"], "1.3.0");
    assert_eq!(v["checks"]["database"], "ok");
    let ts = v["timestamp"].as_str().expect("timestamp");
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    let orders = get(&http(), &app.url("/api/orders"), &[]).await;
    assert!(orders.body.contains("\"orders\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_flags_break_health_and_requests() {
    let app = App::start(&["--unhealthy", "--report-version", "9.9.9"], &[]).await;
    let s = get(&http(), &app.url("/api/health"), &[]).await;
    assert_eq!(s.status, 503);
    let v: serde_json::Value = serde_json::from_str(&s.body).expect("json");
    assert_eq!(
        (v["status"].as_str(), v["version"].as_str()),
        (Some("unhealthy"), Some("9.9.9"))
    );

    // Environment variables work like flags; 10% of 100 requests fail, health never does.
    let app = App::start(
        &[],
        &[("AGOG_ERROR_RATE", "0.1"), ("AGOG_LATENCY_MS", "30")],
    )
    .await;
    let client = http();
    let started = Instant::now();
    let mut failed = 0;
    for _ in 0..100 {
        if get(&client, &app.url("/api/orders"), &[]).await.status == 500 {
            failed += 1;
        }
    }
    assert_eq!(failed, 10);
    assert!(
        started.elapsed() >= Duration::from_millis(3000),
        "latency added"
    );
    assert_eq!(get(&client, &app.url("/api/health"), &[]).await.status, 200);

    // Faults can be limited to one version of a shared command template.
    let app = App::start(&["--unhealthy", "--faulty-version", "1.3.1"], &[]).await;
    assert_eq!(get(&http(), &app.url("/api/health"), &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_exits_with_status_1() {
    let mut app = App::start(&["--crash-after", "0.3"], &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = app.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "did not crash");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(1));
}
