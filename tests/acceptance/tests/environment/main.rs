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
use std::time::Duration;

use bluegreen_acceptance::harness::front_door::demo_app_local_block;
use bluegreen_acceptance::harness::load;
use bluegreen_acceptance::harness::local_platform::free_port;
use bluegreen_acceptance::harness::output::{expect_match, first_error, unwrapped};
use bluegreen_acceptance::harness::{Answer, Load, LoadBounds};
use bluegreen_acceptance::harness::{LocalDaemon, Output, ProviderBinary, Terraform, Workspace};
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
        let mut out = format!(
            "resource \"bluegreen_environment\" \"api\" {{\n  name    = \"{}\"\n  version = \"{}\"\n",
            self.name, self.version
        );
        out.push_str(&demo_app_local_block(&self.listen, &self.env));
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

/// An environment's front door, as a user reaches it.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl FrontDoor {
    /// `GET /api/version` once.
    pub fn answer(&self) -> Result<Answer, String> {
        Answer::get(&self.url("/api/version"), &[], Duration::from_secs(5))
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
                Ok(a) => a.to_string(),
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

/// The bounds of every load run, whatever happens: at most 200,000 requests
/// and 180 s.
pub const LOAD_BOUNDS: LoadBounds = LoadBounds {
    max_requests: 200_000,
    max_seconds: 180,
    must_outlast: false,
};

/// Waits until the front door has sent at least `n` requests to `color`
/// since `since_ms` (metrics from the daemon), panicking after `limit`.
pub fn wait_for_requests(fx: &Fixture, color: &str, since_ms: u64, n: u64, limit: Duration) -> u64 {
    load::wait_for_requests(&fx.daemon.api(), &fx.name, color, since_ms, n, limit)
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
