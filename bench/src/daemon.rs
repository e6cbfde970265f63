//! The local platform under test: a `bluegreen-local serve` of our own, on free loopback
//! ports with a temporary state directory, and an environment whose two colours run the
//! demo app. Everything is stopped when the [`Platform`] drops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_local::api::{
    Canary, Color, ColorStatus, DeployRequest, EnvironmentSpec, RoutingUpdate,
};
use bluegreen_local::client::Client;

use crate::process::{command, free_port, signal, ProcessGuard};
use crate::tools::workspace_bin;

/// Versions the two colours run.
pub const BLUE_VERSION: &str = "1.0.0";
/// See [`BLUE_VERSION`].
pub const GREEN_VERSION: &str = "2.0.0";

/// A running daemon of our own.
pub struct Platform {
    daemon: ProcessGuard,
    /// Its admin API.
    pub client: Client,
    /// Colour processes seen, killed by process group if the daemon leaves them behind.
    colour_pids: Vec<u32>,
    state_dir: tempfile::TempDir,
}

/// An environment with both colours running.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// Front door port on 127.0.0.1.
    pub front_port: u16,
    /// Loopback port of each colour's process (blue, green).
    pub colour_ports: [u16; 2],
    /// Process id of each colour (blue, green).
    pub colour_pids: [u32; 2],
}

impl Environment {
    /// `http://127.0.0.1:PORT{path}` on the front door.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.front_port)
    }
}

impl Platform {
    /// Starts `bluegreen-local serve` (from the benchmark's target directory) and waits
    /// until its admin API answers.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_env(&[]).await
    }

    /// [`Platform::start`] with extra environment variables for the daemon (e.g.
    /// `TOKIO_WORKER_THREADS`, to compare runtime sizes).
    pub async fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let bin = workspace_bin("bluegreen-local")?;
        let state_dir = tempfile::Builder::new()
            .prefix("bluegreen-bench-")
            .tempdir()
            .context("creating the daemon's state directory")?;
        let port = free_port()?;
        let log = std::fs::File::create(state_dir.path().join("daemon.stderr"))
            .context("creating the daemon log")?;
        let mut cmd = serve_command(&bin, state_dir.path(), port, log);
        cmd.envs(env.iter().copied());
        // SIGTERM drains (short, see below) and leaves the colours running: Drop stops them.
        let mut daemon = ProcessGuard::spawn("bluegreen-local", &mut cmd, Duration::from_secs(20))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let probe = Client::new(&endpoint, None)?.with_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if probe.health().await.is_ok() {
                break;
            }
            if let Some(status) = daemon.try_wait() {
                anyhow::bail!(
                    "bluegreen-local exited ({status}) before answering; its log:\n{}",
                    std::fs::read_to_string(state_dir.path().join("daemon.stderr"))
                        .unwrap_or_default()
                );
            }
            if Instant::now() >= deadline {
                anyhow::bail!("bluegreen-local did not answer on {endpoint} within 15 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let client = Client::from_state_dir(&endpoint, state_dir.path())?
            .with_timeout(Duration::from_secs(60));
        Ok(Self {
            daemon,
            client,
            colour_pids: Vec::new(),
            state_dir,
        })
    }

    /// The daemon's state directory (logs, audit).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.path().to_path_buf()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Defines `name` with a front door on a free port, deploys the demo app as blue
    /// ([`BLUE_VERSION`]) and green ([`GREEN_VERSION`]), waits until both run and routes
    /// everything to blue. `app_args` are appended to the demo app's command line.
    pub async fn two_colours(
        &mut self,
        name: &str,
        app_args: &[&str],
    ) -> anyhow::Result<Environment> {
        let app = workspace_bin("agog-demo-app")?;
        let front_port = free_port()?;
        let spec = demo_app_spec(&app, front_port, app_args);
        self.client
            .put_environment(name, &spec, Some("bench"))
            .await
            .with_context(|| format!("defining environment {name}"))?;
        let mut ports = [0u16; 2];
        let mut pids = [0u32; 2];
        for (color, version) in [(Color::Blue, BLUE_VERSION), (Color::Green, GREEN_VERSION)] {
            let status = deploy_running(&self.client, name, color, version).await?;
            ports[color.index()] = status
                .port
                .ok_or_else(|| anyhow::anyhow!("{color} runs but has no port"))?;
            pids[color.index()] = status
                .pid
                .ok_or_else(|| anyhow::anyhow!("{color} runs but has no pid"))?;
            self.colour_pids.push(pids[color.index()]);
        }
        self.route(name, Color::Blue).await?;
        Ok(Environment {
            name: name.to_owned(),
            front_port,
            colour_ports: ports,
            colour_pids: pids,
        })
    }

    /// Routes all of `name`'s traffic to `color`; returns the new revision.
    pub async fn route(&self, name: &str, color: Color) -> anyhow::Result<u64> {
        self.route_split(name, color, None).await
    }

    /// Installs `name`'s routing table: `primary`, and `canary` if given (replacing any
    /// previous one); returns the new revision.
    pub async fn route_split(
        &self,
        name: &str,
        primary: Color,
        canary: Option<Canary>,
    ) -> anyhow::Result<u64> {
        let with_canary = canary.is_some();
        let update = RoutingUpdate {
            primary: Some(primary),
            canary,
            actor: Some("bench".into()),
            ..RoutingUpdate::default()
        };
        let routing = self
            .client
            .set_routing(name, &update)
            .await
            .with_context(|| {
                format!(
                    "routing {name} to {primary}{}",
                    if with_canary { " with a canary" } else { "" }
                )
            })?;
        Ok(routing.revision)
    }

    /// Requests the front door of `name` proxied to each colour (blue, green) in the
    /// seconds overlapping `[since_ms, until_ms]` (unix ms; the daemon keeps one-second
    /// buckets), from its metrics endpoint.
    pub async fn colour_requests(
        &self,
        name: &str,
        since_ms: u64,
        until_ms: u64,
    ) -> anyhow::Result<[u64; 2]> {
        let mut out = [0u64; 2];
        for color in [Color::Blue, Color::Green] {
            let m = self
                .client
                .metrics(name, color, Some(since_ms), Some(until_ms))
                .await
                .with_context(|| format!("reading {name}'s metrics of {color}"))?;
            out[color.index()] = m.requests;
        }
        Ok(out)
    }

    /// Fails if the daemon has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        self.daemon.ensure_running()
    }
}

/// `bluegreen-local serve` of `bin` on 127.0.0.1:`port`, its state in `state_dir`, its
/// warnings and errors to `log`; it dies with this process.
pub fn serve_command(bin: &Path, state_dir: &Path, port: u16, log: std::fs::File) -> Command {
    let mut cmd = command(bin);
    cmd.arg("serve")
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("BLUEGREEN_LOCAL_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    cmd
}

/// An environment whose colours run the demo app `app` (with `app_args` appended to its
/// command line), its front door on 127.0.0.1:`front_port`.
pub fn demo_app_spec(app: &Path, front_port: u16, app_args: &[&str]) -> EnvironmentSpec {
    let mut command: Vec<String> = [
        app.to_string_lossy().as_ref(),
        "--port",
        "{port}",
        "--version",
        "{version}",
        "--color",
        "{color}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    command.extend(app_args.iter().map(|s| (*s).to_owned()));
    EnvironmentSpec {
        command,
        env: BTreeMap::new(),
        listen: format!("127.0.0.1:{front_port}"),
        // Short, so the benchmark's own shutdown is quick.
        drain_timeout_ms: 2000,
        upstream_timeout_ms: bluegreen_local::api::DEFAULT_UPSTREAM_TIMEOUT_MS,
        tenant_header: "X-Tenant-ID".into(),
        trust_forwarded_headers: false,
        health_path: None,
    }
}

/// Deploys `version` to `color` of `name` as `bench` and waits until it runs.
pub async fn deploy_running(
    client: &Client,
    name: &str,
    color: Color,
    version: &str,
) -> anyhow::Result<ColorStatus> {
    let req = DeployRequest {
        version: version.into(),
        actor: Some("bench".into()),
        lock_owner: None,
        restart: false,
    };
    client
        .deploy(name, color, &req)
        .await
        .with_context(|| format!("deploying {version} to {color} of {name}"))?;
    client
        .wait_running(name, color, Duration::from_secs(20))
        .await
        .with_context(|| format!("waiting for {color} of {name} to run"))
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.daemon.stop();
        // SIGTERM (or a kill) leaves the colours running for a next daemon: stop them by
        // process group, but only if the pid still is the demo app we saw.
        for pid in &self.colour_pids {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("agog-demo-app") {
                signal(*pid, libc::SIGKILL);
            }
        }
    }
}
