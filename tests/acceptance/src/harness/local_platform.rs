//! A `bluegreen-local` daemon for one test: a free loopback port, its own
//! state directory, stopped by its pid when dropped (together with any
//! colour process it leaves behind), and a client of its admin API.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::http;
use super::provider::{target_dir, target_profile_dir};

/// How long a daemon may take to answer its health endpoint after starting.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a daemon may take to exit after SIGTERM (it drains its front doors and leaves
/// its colours running for the next daemon).
pub const STOP_GRACE: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1 (bound, then released for the caller).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// A binary of this workspace in `target/<profile>/`; panics, saying how to
/// build it, when it is missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = target_profile_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace binaries first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after
/// `limit` saying what was awaited and what the last probe saw.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {limit:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Sends `signal` to one process; false when it does not exist.
pub fn signal_pid(pid: u32, signal: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with a pid we recorded; no memory is involved.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// True while a process with this pid exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// `argv[0]` of a running process.
fn program_of(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let first = raw.split(|b| *b == 0).next()?;
    Some(String::from_utf8_lossy(first).into_owned())
}

/// Stops a process that is not our child: SIGTERM, up to `grace`, then SIGKILL.
pub fn stop_pid(pid: u32, grace: Duration) {
    if !signal_pid(pid, libc::SIGTERM) {
        return;
    }
    let deadline = Instant::now() + grace;
    while pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if pid_alive(pid) {
        signal_pid(pid, libc::SIGKILL);
    }
}

/// The admin API of a daemon: cheap to clone into test hooks.
#[derive(Debug, Clone)]
pub struct AdminApi {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The daemon's state directory (holds the token).
    pub state_dir: PathBuf,
}

impl AdminApi {
    /// The bearer token from `state_dir/token`.
    pub fn token(&self) -> Result<String, String> {
        let path = self.state_dir.join("token");
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `GET path` with the token; the JSON body of a 2xx answer.
    pub fn get(&self, path: &str) -> Result<Json, String> {
        let token = self.token()?;
        let auth = format!("Bearer {token}");
        let reply = http::request(
            "GET",
            &format!("{}{path}", self.endpoint),
            &[("Authorization", &auth)],
            None,
            Duration::from_secs(10),
        )?;
        if !(200..300).contains(&reply.status) {
            return Err(format!("GET {path}: HTTP {}: {}", reply.status, reply.body));
        }
        reply.json()
    }

    /// `GET /v1/health` (no token): `pid`, `state_dir`, ...
    pub fn health(&self) -> Result<Json, String> {
        let reply = http::get(
            &format!("{}/v1/health", self.endpoint),
            Duration::from_secs(5),
        )?;
        if reply.status != 200 {
            return Err(format!(
                "GET /v1/health: HTTP {}: {}",
                reply.status, reply.body
            ));
        }
        reply.json()
    }

    /// `GET /v1/environments/{name}`; panics when it fails.
    pub fn environment(&self, name: &str) -> Json {
        self.get(&format!("/v1/environments/{name}"))
            .unwrap_or_else(|e| panic!("reading environment {name} from the daemon: {e}"))
    }

    /// The pid of one colour's process, if it runs.
    pub fn color_pid(&self, name: &str, color: &str) -> Option<u64> {
        self.environment(name)["colors"][color]["pid"].as_u64()
    }

    /// Front-door metrics of a colour between two unix-ms instants.
    pub fn metrics(&self, name: &str, color: &str, since_ms: u64, until_ms: u64) -> Json {
        self.get(&format!(
            "/v1/environments/{name}/metrics?color={color}&since={since_ms}&until={until_ms}"
        ))
        .unwrap_or_else(|e| panic!("reading metrics of {name}/{color}: {e}"))
    }

    /// Requests the front door sent to a colour between two unix-ms instants.
    pub fn requests_to(&self, name: &str, color: &str, since_ms: u64, until_ms: u64) -> u64 {
        self.metrics(name, color, since_ms, until_ms)["requests"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Stops a daemon that this test did not spawn itself (one a provider
    /// started with `autostart`): by the pid its health endpoint reports,
    /// only when it serves this state directory, then any colour process
    /// it left behind. Returns the pid it stopped.
    pub fn stop_daemon(&self) -> Option<u32> {
        let health = self.health().ok()?;
        let pid = health["pid"].as_u64().and_then(|p| u32::try_from(p).ok())?;
        let serves = health["state_dir"].as_str().map(Path::new);
        let ours = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if serves.map(ours) != Some(ours(&self.state_dir)) {
            return None;
        }
        let leftovers = self.recorded_colour_processes();
        stop_pid(pid, STOP_GRACE);
        stop_colour_processes(leftovers);
        Some(pid)
    }

    /// Pids of every colour process recorded in the state file, with the
    /// program each was started as (to tell them from a reused pid).
    fn recorded_colour_processes(&self) -> Vec<(u32, String)> {
        let Ok(text) = std::fs::read_to_string(self.state_dir.join("state.json")) else {
            return Vec::new();
        };
        let Ok(json) = serde_json::from_str::<Json>(&text) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for env in json["environments"].as_object().into_iter().flatten() {
            for color in env.1["colors"].as_array().into_iter().flatten() {
                let pid = color["pid"].as_u64().and_then(|p| u32::try_from(p).ok());
                let program = color["argv"][0].as_str();
                if let (Some(pid), Some(program)) = (pid, program) {
                    out.push((pid, program.to_string()));
                }
            }
        }
        out
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A `bluegreen-local serve` of one test.
#[derive(Debug)]
pub struct LocalDaemon {
    name: String,
    child: Option<Child>,
    port: u16,
    api: AdminApi,
}

impl LocalDaemon {
    /// Starts a daemon on a free loopback port with a fresh state directory
    /// `target/acc-work/<name>-daemon-<pid>`, and waits until it answers.
    pub fn start(name: &str) -> LocalDaemon {
        let state_dir = target_dir()
            .join("acc-work")
            .join(format!("{name}-daemon-{}", std::process::id()));
        if state_dir.exists() {
            let _ = std::fs::remove_dir_all(&state_dir);
        }
        std::fs::create_dir_all(&state_dir)
            .unwrap_or_else(|e| panic!("{name}: cannot create {}: {e}", state_dir.display()));
        let port = free_port();
        let mut daemon = LocalDaemon {
            name: name.to_string(),
            child: None,
            port,
            api: AdminApi {
                endpoint: format!("http://127.0.0.1:{port}"),
                state_dir,
            },
        };
        daemon.spawn();
        daemon
    }

    fn spawn(&mut self) {
        let log_path = self.log_path();
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
        };
        let (out, err) = match (open(), open()) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => panic!("{}: {}: {e}", self.name, log_path.display()),
        };
        let mut cmd = Command::new(workspace_binary("bluegreen-local"));
        cmd.arg("serve")
            .arg("--state-dir")
            .arg(&self.api.state_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env("BLUEGREEN_LOCAL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            // If the test process dies, the daemon stops (and stops its colours).
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start bluegreen-local: {e}", self.name));
        let pid = child.id();
        self.child = Some(child);
        let api = self.api.clone();
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{}: bluegreen-local exited at start ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            match api.health() {
                Ok(h) if h["pid"].as_u64() == Some(u64::from(pid)) => break,
                Ok(h) => panic!(
                    "{}: port {} answers, but not as our daemon (pid {pid}): {h}",
                    self.name, self.port
                ),
                Err(e) if started.elapsed() > START_TIMEOUT => panic!(
                    "{}: bluegreen-local did not answer within {START_TIMEOUT:?}: {e}\n{}",
                    self.name,
                    self.log()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Its admin API.
    pub fn api(&self) -> AdminApi {
        self.api.clone()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.api.endpoint
    }

    /// Its state directory.
    pub fn state_dir(&self) -> &Path {
        &self.api.state_dir
    }

    /// The daemon's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where its stdout and stderr go.
    pub fn log_path(&self) -> PathBuf {
        self.api.state_dir.join("serve.log")
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A `provider "bluegreen"` block that uses this daemon and never starts one.
    pub fn provider_block(&self) -> String {
        format!(
            "provider \"bluegreen\" {{\n  local {{\n    endpoint  = \"{}\"\n    state_dir = \"{}\"\n    autostart = false\n  }}\n}}\n",
            self.api.endpoint,
            self.api.state_dir.display()
        )
    }

    /// `kill -9` of the daemon (its colour processes survive, as they would).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same port and state directory.
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "{}: restart of a daemon that runs",
            self.name
        );
        self.spawn();
    }

    /// Stops the daemon (SIGTERM; SIGKILL after [`STOP_GRACE`]), then the colour
    /// processes it recorded, which a SIGTERM leaves running for the next daemon.
    pub fn stop(&mut self) {
        let leftovers = self.api.recorded_colour_processes();
        if let Some(mut child) = self.child.take() {
            signal_pid(child.id(), libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        stop_colour_processes(leftovers);
    }
}

/// Stops recorded colour processes that still run the program they were started as.
fn stop_colour_processes(recorded: Vec<(u32, String)>) {
    for (pid, program) in recorded {
        if pid_alive(pid) && program_of(pid).as_deref() == Some(program.as_str()) {
            stop_pid(pid, Duration::from_secs(2));
        }
    }
}

impl Drop for LocalDaemon {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "acceptance: {}: daemon state dir kept at {} (log: serve.log, colour logs under logs/)",
                self.name,
                self.api.state_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.api.state_dir);
        }
    }
}
