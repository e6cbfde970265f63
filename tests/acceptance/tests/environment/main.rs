//! Acceptance tests of `bluegreen_environment` (issue 3) on the real
//! Terraform CLIs, against a real `bluegreen-local` daemon per test and CLI,
//! the demo application as the colours, and load through the real front door.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod autostart;
mod concurrent;
mod data_source;
mod defaults;
mod drift;
mod gates;
mod import;
mod post_switch;
mod restart;
mod rollback;
mod update_under_load;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::http;
use bluegreen_acceptance::harness::local_platform::{free_port, signal_pid, workspace_binary};
use bluegreen_acceptance::harness::{LocalDaemon, Output, ProviderBinary, Terraform, Workspace};
use regex::Regex;
use serde_json::Value as Json;

/// The resource every test manages.
pub const ADDRESS: &str = "bluegreen_environment.api";

/// The provider under test, from `target/<profile>/`.
pub fn bluegreen() -> ProviderBinary {
    ProviderBinary::workspace_bin("bluegreen", env!("CARGO_PKG_VERSION"))
}

/// One test on one CLI: its own daemon, front-door port and environment name.
pub struct Fixture {
    /// The daemon (stopped when the fixture drops).
    pub daemon: LocalDaemon,
    /// Environment name.
    pub name: String,
    /// Front-door port.
    pub front_port: u16,
}

impl Fixture {
    /// A fresh daemon for `test` on `tf`; the environment is called `name`.
    pub fn new(test: &str, tf: &Terraform, name: &str) -> Fixture {
        let daemon = LocalDaemon::start(&format!("{test}-tf{}", tf.version_string()));
        Fixture {
            daemon,
            name: name.to_string(),
            front_port: free_port(),
        }
    }

    /// The front door: `http://127.0.0.1:PORT`.
    pub fn front_door(&self) -> FrontDoor {
        FrontDoor {
            base: format!("http://127.0.0.1:{}", self.front_port),
        }
    }

    /// The default environment definition at `version`.
    pub fn env(&self, version: &str) -> EnvConfig {
        EnvConfig::new(&self.name, version, self.front_port)
    }

    /// The whole configuration: provider pointed at this fixture's daemon, then `body`.
    pub fn config(&self, body: &str) -> String {
        format!(
            "{}\n{}\n{body}",
            bluegreen().required_providers_block(),
            self.daemon.provider_block()
        )
    }

    /// The environment as the daemon reports it.
    pub fn status(&self) -> Json {
        self.daemon.api().environment(&self.name)
    }
}

/// A `bluegreen_environment.api` block.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `local.listen`.
    pub listen: String,
    /// `local.env` (omitted when empty).
    pub env: BTreeMap<String, String>,
    /// Write `health_check`, `smoke_test` and `post_switch` blocks.
    pub gates: bool,
    /// `health_check.timeout`.
    pub health_timeout: String,
    /// `health_check.deadline`.
    pub health_deadline: String,
    /// `post_switch.window`.
    pub window: String,
    /// `post_switch.min_requests`.
    pub min_requests: u32,
    /// `post_switch.max_error_rate`, as written (the provider's default when `None`).
    pub max_error_rate: Option<String>,
}

impl EnvConfig {
    /// `name` at `version` behind a front door on 127.0.0.1:`front_port`,
    /// with short gates: probes every 200 ms, a 3 s post-switch window.
    pub fn new(name: &str, version: &str, front_port: u16) -> EnvConfig {
        EnvConfig {
            name: name.to_string(),
            version: version.to_string(),
            listen: format!("127.0.0.1:{front_port}"),
            env: BTreeMap::new(),
            gates: true,
            health_timeout: "1s".into(),
            health_deadline: "3s".into(),
            window: "3s".into(),
            min_requests: 20,
            // Written out, as the documentation's example does.
            max_error_rate: Some("0.01".into()),
        }
    }

    /// With another version.
    #[must_use]
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_string();
        self
    }

    /// With one more `local.env` variable.
    #[must_use]
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Without the gate blocks: only the required arguments (what an import can know).
    #[must_use]
    pub fn minimal(mut self) -> Self {
        self.gates = false;
        self
    }

    /// The HCL.
    pub fn hcl(&self) -> String {
        let app = workspace_binary("agog-demo-app");
        let mut out = format!(
            "resource \"bluegreen_environment\" \"api\" {{\n  name    = \"{}\"\n  version = \"{}\"\n\n  local {{\n    command       = [\"{}\", \"--port\", \"{{port}}\", \"--version\", \"{{version}}\", \"--color\", \"{{color}}\"]\n    listen        = \"{}\"\n    drain_timeout = \"1s\"\n",
            self.name,
            self.version,
            app.display(),
            self.listen
        );
        if !self.env.is_empty() {
            out.push_str("    env = {\n");
            for (k, v) in &self.env {
                out.push_str(&format!("      {k} = \"{v}\"\n"));
            }
            out.push_str("    }\n");
        }
        out.push_str("  }\n");
        if self.gates {
            out.push_str(&format!(
                "\n  health_check {{\n    interval          = \"200ms\"\n    timeout           = \"{}\"\n    healthy_threshold = 2\n    deadline          = \"{}\"\n  }}\n\n  smoke_test {{\n    name          = \"orders\"\n    path          = \"/api/orders\"\n    body_contains = \"orders\"\n  }}\n\n  post_switch {{\n    window       = \"{}\"\n    min_requests = {}\n",
                self.health_timeout, self.health_deadline, self.window, self.min_requests
            ));
            if let Some(rate) = &self.max_error_rate {
                out.push_str(&format!("    max_error_rate = {rate}\n"));
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        out
    }
}

/// What the front door answered on `/api/version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `version` of the body.
    pub version: String,
    /// `x-bluegreen-color` of the answer.
    pub color: String,
}

/// An environment's front door, as a user reaches it.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl FrontDoor {
    /// `GET /api/version` once.
    pub fn answer(&self) -> Result<Answer, String> {
        let reply = http::get(&self.url("/api/version"), Duration::from_secs(5))?;
        let version = reply
            .json()
            .ok()
            .and_then(|j| j["version"].as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(Answer {
            status: reply.status,
            version,
            color: reply.header("x-bluegreen-color").unwrap_or("").to_string(),
        })
    }

    /// A URL on the front door.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `n` sequential requests; every one must answer 200 from `version` on
    /// `color`. Panics listing what else answered.
    pub fn assert_serves(&self, n: usize, version: &str, color: &str) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..n {
            let key = match self.answer() {
                Ok(a) => format!("HTTP {} {} on {}", a.status, a.version, a.color),
                Err(e) => e,
            };
            *seen.entry(key).or_default() += 1;
        }
        let want = format!("HTTP 200 {version} on {color}");
        assert!(
            seen.len() == 1 && seen.contains_key(&want),
            "{n} requests through the front door {}: expected every one to be {want:?}, got {seen:?}",
            self.base
        );
    }
}

/// What `bluegreen-load --json` reported.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    /// The JSON document.
    pub json: Json,
}

impl LoadSummary {
    /// Requests sent.
    pub fn sent(&self) -> u64 {
        self.json["sent"].as_u64().unwrap_or(0)
    }
    /// Requests not answered with 2xx.
    pub fn failed(&self) -> u64 {
        self.json["failed"].as_u64().unwrap_or(0)
    }
    /// Successful answers by version.
    pub fn versions(&self) -> BTreeMap<String, u64> {
        self.json["versions"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Failures by kind.
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.json["failures"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Answers from an older version after the newest first answered.
    pub fn old_after_new(&self) -> u64 {
        self.json["old_after_new"].as_u64().unwrap_or(0)
    }
    /// Wall time.
    pub fn seconds(&self) -> f64 {
        self.json["seconds"].as_f64().unwrap_or(0.0)
    }
}

impl std::fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sent, {} failed {:?}, by version {:?}, {} old-after-new, {:.1}s",
            self.sent(),
            self.failed(),
            self.failures(),
            self.versions(),
            self.old_after_new(),
            self.seconds()
        )
    }
}

/// Most requests one load run may send, whatever happens.
pub const LOAD_MAX_REQUESTS: u64 = 200_000;
/// Longest one load run may take, whatever happens.
pub const LOAD_MAX_SECONDS: u64 = 180;

/// `bluegreen-load` running in the background against a front door.
pub struct Load {
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Load {
    /// Starts closed-loop load with `concurrency` connections on `url`,
    /// bounded by [`LOAD_MAX_REQUESTS`] and [`LOAD_MAX_SECONDS`]; stop it with
    /// [`Load::stop`].
    pub fn start(url: &str, concurrency: usize) -> Load {
        let mut child = Command::new(workspace_binary("bluegreen-load"))
            .arg(url)
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--seconds", &LOAD_MAX_SECONDS.to_string()])
            .args(["--max-requests", &LOAD_MAX_REQUESTS.to_string()])
            .arg("--json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start bluegreen-load: {e}"));
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = pipe.read_to_string(&mut s);
                s
            })
        };
        let stdout = child
            .stdout
            .take()
            .map(|p| drain(Box::new(p) as Box<dyn Read + Send>));
        let stderr = child
            .stderr
            .take()
            .map(|p| drain(Box::new(p) as Box<dyn Read + Send>));
        Load {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Stops the load (SIGINT) and returns what it saw.
    pub fn stop(mut self) -> LoadSummary {
        let mut child = self.child.take().expect("the load runs");
        signal_pid(child.id(), libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("bluegreen-load did not stop within 30s of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let json: Json = serde_json::from_str(out.trim()).unwrap_or_else(|e| {
            panic!("bluegreen-load ({status}) printed no JSON summary ({e}):\n{out}\n{err}")
        });
        LoadSummary { json }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until the front door has sent at least `n` requests to `color`
/// since `since_ms` (metrics from the daemon), panicking after `limit`.
pub fn wait_for_requests(fx: &Fixture, color: &str, since_ms: u64, n: u64, limit: Duration) -> u64 {
    let api = fx.daemon.api();
    bluegreen_acceptance::harness::local_platform::wait_for(
        &format!("{n} requests through the front door to {color}"),
        limit,
        || {
            let got = api.requests_to(
                &fx.name,
                color,
                since_ms,
                bluegreen_acceptance::harness::local_platform::now_ms() + 1000,
            );
            if got >= n {
                Ok(got)
            } else {
                Err(format!("{got} so far"))
            }
        },
    )
}

/// Fails the test, with the command's output and log, unless `text` of
/// `out` matches `pattern`; returns the captures.
pub fn expect_match(ws: &Workspace, out: &Output, pattern: &str) -> Vec<String> {
    let re = Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"));
    let text = unwrapped(&out.plain());
    match re.captures(&text) {
        Some(c) => c
            .iter()
            .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
            .collect(),
        None => ws.fail(Some(out), &format!("the output does not match /{pattern}/")),
    }
}

/// Terraform wraps long diagnostic lines; joins the lines of each paragraph
/// so that messages can be matched whole.
pub fn unwrapped(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push('\n');
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(line.trim_start());
        }
    }
    out
}

/// The first error diagnostic of a command's output, unwrapped to one line
/// per paragraph: what a release engineer reads.
pub fn first_error(out: &Output) -> String {
    let text = unwrapped(&out.plain());
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Error: "));
    let mut error: Vec<&str> = lines.next().into_iter().collect();
    error.extend(
        lines
            .take_while(|l| !l.starts_with("Error: "))
            .filter(|l| !l.is_empty()),
    );
    error.join(" | ")
}

/// Fails unless `plan -detailed-exitcode` exits 2 proposing `from` → `to` again.
pub fn assert_plan_proposes(ws: &Workspace, from: &str, to: &str) -> Output {
    let plan = ws.plan();
    if plan.code != Some(2) {
        ws.fail(
            Some(&plan),
            &format!(
                "plan -detailed-exitcode exited {:?}; expected 2, proposing {from} -> {to} again",
                plan.code
            ),
        );
    }
    expect_match(
        ws,
        &plan,
        &format!(
            r#"~ version\s+= "{}" -> "{}""#,
            regex::escape(from),
            regex::escape(to)
        ),
    );
    plan
}

/// The work directory's unix-ms clock.
pub fn now_ms() -> u64 {
    bluegreen_acceptance::harness::local_platform::now_ms()
}

/// Destroys and checks the environment is gone from the daemon and the
/// front door no longer answers.
pub fn destroy_and_check(ws: &Workspace, fx: &Fixture) {
    ws.destroy();
    let left = ws.show().managed_addresses();
    assert!(left.is_empty(), "after destroy, state still holds {left:?}");
    let err = fx
        .daemon
        .api()
        .get(&format!("/v1/environments/{}", fx.name))
        .expect_err("the environment is gone from the daemon after destroy");
    assert!(err.contains("404"), "after destroy: {err}");
    assert!(
        fx.front_door().answer().is_err(),
        "the front door still answers after destroy"
    );
}
