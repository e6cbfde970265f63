//! Test harness: real `bluegreen-local` and `agog-demo-app` processes on 127.0.0.1.

#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bluegreen_local::api::{Color, DeployRequest, EnvironmentSpec, RoutingUpdate};
use bluegreen_local::client::Client;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::http::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

/// A free loopback port (the kernel's pick; released before use).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

static BUILT: OnceLock<PathBuf> = OnceLock::new();

/// Path of the `agog-demo-app` binary, (re)built once per test binary into the same
/// target directory and profile as this test, so it is never stale.
pub fn demo_app() -> PathBuf {
    BUILT
        .get_or_init(|| {
            // .../target/<profile>/deps/<test> -> .../target/<profile>/agog-demo-app
            let exe = std::env::current_exe().expect("test executable path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target profile directory");
            let target_dir = profile_dir.parent().expect("target directory");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--quiet", "-p", "agog-demo-app", "--target-dir"])
                .arg(target_dir);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("running cargo build -p agog-demo-app");
            assert!(status.success(), "cargo build -p agog-demo-app failed");
            let app = profile_dir.join("agog-demo-app");
            assert!(app.exists(), "agog-demo-app not found at {}", app.display());
            app
        })
        .clone()
}

/// A running daemon with its own state directory.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub admin_port: u16,
    pub child: Option<Child>,
    seen_pids: Mutex<Vec<u32>>,
    /// Applied to every `serve` command before it starts (flags, environment, limits).
    configure: fn(&mut Command),
}

impl Daemon {
    /// Starts a daemon on a fresh state directory.
    pub async fn start() -> Daemon {
        Daemon::start_configured(|_| {}).await
    }

    /// Starts a daemon whose `serve` command `configure` adjusts first.
    pub async fn start_configured(configure: fn(&mut Command)) -> Daemon {
        let dir = tempfile::tempdir().expect("temp state dir");
        let mut d = Daemon {
            dir,
            admin_port: free_port(),
            child: None,
            seen_pids: Mutex::new(Vec::new()),
            configure,
        };
        d.spawn().await;
        d
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    /// `bluegreen-local serve` on this state dir and admin port, logging to daemon.log.
    pub fn serve_command(&self) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .expect("daemon log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_bluegreen-local"));
        command
            .arg("serve")
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.admin_port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        (self.configure)(&mut command);
        command
    }

    /// (Re)starts the daemon process on the same state dir and admin port.
    pub async fn spawn(&mut self) {
        let child = self
            .serve_command()
            .spawn()
            .expect("spawning bluegreen-local");
        self.child = Some(child);
        let anon = Client::new(&self.endpoint(), None).expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while anon.health().await.is_err() {
            if Instant::now() > deadline {
                panic!("daemon did not come up:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// An authenticated client.
    pub fn client(&self) -> Client {
        Client::from_state_dir(&self.endpoint(), &self.state_dir()).expect("client")
    }

    /// Remembers colour pids so they are killed even if the test fails midway.
    pub fn track(&self, pid: Option<u32>) {
        if let Some(p) = pid {
            self.seen_pids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p);
        }
    }

    /// `kill -9` of the daemon.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Defines `env` running the demo app with `extra` flags, front door on a free port.
    pub async fn define(&self, env: &str, extra: &[&str]) -> u16 {
        let port = free_port();
        let mut command = vec![
            demo_app().display().to_string(),
            "--port".into(),
            "{port}".into(),
            "--version".into(),
            "{version}".into(),
            "--color".into(),
            "{color}".into(),
        ];
        command.extend(extra.iter().map(|s| s.to_string()));
        let spec = EnvironmentSpec {
            command,
            env: Default::default(),
            listen: format!("127.0.0.1:{port}"),
            drain_timeout_ms: 10_000,
            upstream_timeout_ms: bluegreen_local::api::DEFAULT_UPSTREAM_TIMEOUT_MS,
            tenant_header: "X-Tenant-ID".into(),
            trust_forwarded_headers: false,
            health_path: None,
        };
        self.client()
            .put_environment(env, &spec, Some("test"))
            .await
            .expect("define environment");
        port
    }

    /// Deploys and waits until running.
    pub async fn deploy(&self, env: &str, color: Color, version: &str) {
        let c = self.client();
        c.deploy(
            env,
            color,
            &DeployRequest {
                version: version.into(),
                actor: Some("test".into()),
                ..Default::default()
            },
        )
        .await
        .expect("deploy");
        let st = c
            .wait_running(env, color, Duration::from_secs(20))
            .await
            .expect("colour running");
        self.track(st.pid);
    }

    /// Routes all traffic to `color`.
    pub async fn route(&self, env: &str, color: Color) -> u64 {
        self.client()
            .set_routing(
                env,
                &RoutingUpdate {
                    primary: Some(color),
                    actor: Some("test".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("route")
            .revision
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM leaves the colours running for the next daemon: stop those it recorded.
        self.terminate();
        let store = bluegreen_local::state::store::Store::new(&self.state_dir());
        for env in store
            .load()
            .map(|s| s.environments)
            .unwrap_or_default()
            .values()
        {
            for c in &env.colors {
                if let Some(pid) = c.pid {
                    if bluegreen_local::process::procfs::runs_command(pid, &c.argv) {
                        self.track(Some(pid));
                    }
                }
            }
        }
        for pid in self
            .seen_pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            // Safety net for failed tests: colours run in their own process groups.
            unsafe {
                libc::kill(-(*pid as i32), libc::SIGKILL);
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// What a user of the front door sees for one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub status: u16,
    pub color: Option<String>,
    pub body: String,
}

/// A keep-alive HTTP client for the front door.
pub fn http() -> HttpClient<HttpConnector, Empty<Bytes>> {
    HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// One GET; transport errors are reported as status 0.
pub async fn get(
    client: &HttpClient<HttpConnector, Empty<Bytes>>,
    url: &str,
    headers: &[(&str, &str)],
) -> Seen {
    let mut b = Request::get(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Empty::new()).expect("request");
    let fut = async {
        let resp = client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let color = resp
            .headers()
            .get("x-bluegreen-color")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>(Seen {
            status,
            color,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    match tokio::time::timeout(Duration::from_secs(10), fut).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => Seen {
            status: 0,
            color: None,
            body: e,
        },
        Err(_) => Seen {
            status: 0,
            color: None,
            body: "timeout".into(),
        },
    }
}
