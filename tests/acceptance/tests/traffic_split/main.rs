//! Acceptance tests of `bluegreen_traffic_split` (issue 5) on the real
//! Terraform CLIs, against a real `bluegreen-local` daemon per test and CLI,
//! the demo application as the colours, and requests through the real front
//! door counted by the version and colour that answered them.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod destroy;
mod drift;
mod not_deployed;
mod plan_errors;
mod progressive;
mod promote;
mod quiet_ramp;
mod same_run;
mod shares;
mod tenants_example;
mod websocket;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::process::Command;
use std::time::Duration;

use bluegreen_acceptance::harness::http;
use bluegreen_acceptance::harness::local_platform::{now_ms, workspace_binary};
use bluegreen_acceptance::harness::output::{expect_match, unwrapped};
pub use bluegreen_acceptance::harness::provider::bluegreen;
use bluegreen_acceptance::harness::{Answer, EnvConfig, Load, LoadBounds, LocalFixture};
use bluegreen_acceptance::harness::{Output, Terraform};
use regex::Regex;
use serde_json::Value as Json;

/// The environment every test manages.
pub const ENV: &str = "bluegreen_environment.api";
/// The split every test manages.
pub const SPLIT: &str = "bluegreen_traffic_split.api";
/// The pilot tenant of the seed.
pub const PILOT: &str = "pilot-tenant-id";

/// Attributes an import of a split cannot know: configuration-only blocks.
pub const SPLIT_IMPORT_IGNORES: &[&str] = &["progressive", "timeouts"];

/// One test on one CLI: the harness's [`LocalFixture`] (its own daemon,
/// front-door port and environment name), with this suite's front door,
/// environment block and routing table.
pub struct Fixture(LocalFixture);

impl Fixture {
    /// A fresh daemon for `test` on `tf`; the environment is called `name`.
    pub fn new(test: &str, tf: &Terraform, name: &str) -> Fixture {
        Fixture(LocalFixture::new(&format!("split-{test}"), tf, name))
    }

    /// The front door, as a user reaches it.
    pub fn front_door(&self) -> FrontDoor {
        FrontDoor {
            base: self.front_door_base(),
        }
    }

    /// The environment `bluegreen_environment.api` with `version` live:
    /// a 10 s health deadline, a 2 s post-switch window and the provider's
    /// default error rate.
    pub fn env(&self, version: &str) -> EnvConfig {
        EnvConfig {
            health_deadline: "10s".into(),
            window: "2s".into(),
            max_error_rate: None,
            ..EnvConfig::new(&self.name, version, self.front_port)
        }
    }

    /// The whole configuration: the provider pointed at this fixture's
    /// daemon, then each block.
    pub fn config(&self, blocks: &[&str]) -> String {
        self.0.config(&blocks.join("\n"))
    }

    /// The front door's routing table, as the daemon reports it.
    pub fn routing(&self) -> Json {
        self.daemon
            .api()
            .get(&format!("/v1/environments/{}/routing", self.name))
            .unwrap_or_else(|e| panic!("reading the routing of {}: {e}", self.name))
    }

    /// `PUT /v1/environments/{name}/routing` with the daemon's token, the
    /// way an operator with curl changes the routing behind Terraform's back.
    pub fn put_routing(&self, body: &Json) -> Json {
        let api = self.daemon.api();
        let token = api.token().expect("the daemon's token");
        let auth = format!("Bearer {token}");
        let reply = http::request(
            "PUT",
            &format!("{}/v1/environments/{}/routing", api.endpoint, self.name),
            &[("Authorization", &auth)],
            Some(&body.to_string()),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("PUT routing: {e}"));
        assert!(
            (200..300).contains(&reply.status),
            "PUT routing: HTTP {}: {}",
            reply.status,
            reply.body
        );
        reply.json().expect("the new routing table")
    }

    /// Fails unless the front door routes everything to `primary` with no canary
    /// (or a canary that receives nothing: weight 0 and no tenant).
    pub fn assert_no_canary(&self, primary: &str) {
        let routing = self.routing();
        assert_eq!(
            routing["primary"], primary,
            "all traffic must go to {primary}: {routing}"
        );
        let canary = &routing["canary"];
        let idle = canary.is_null()
            || (canary["weight"].as_u64() == Some(0)
                && canary["tenants"].as_array().is_none_or(Vec::is_empty));
        assert!(idle, "the canary must receive nothing: {routing}");
    }
}

// The shared part (daemon, name, port) reads as the fixture's own, so the
// tests need not say `fx.0`; `config` above takes this suite's list of blocks.
impl Deref for Fixture {
    type Target = LocalFixture;

    fn deref(&self) -> &LocalFixture {
        &self.0
    }
}

/// A `progressive` block.
#[derive(Debug, Clone)]
pub struct Ramp {
    /// `steps`.
    pub steps: Vec<u8>,
    /// `interval`.
    pub interval: String,
    /// `max_error_rate`.
    pub max_error_rate: f64,
    /// `min_requests`.
    pub min_requests: u64,
}

/// A `bluegreen_traffic_split.api` block on `bluegreen_environment.api`.
#[derive(Debug, Clone)]
pub struct SplitConfig {
    /// `canary.version`.
    pub version: String,
    /// `canary.weight` (omitted when `None`).
    pub weight: Option<u8>,
    /// `canary.tenants` (omitted when `None`).
    pub tenants: Option<Vec<String>>,
    /// `tenant_header` (omitted when `None`).
    pub tenant_header: Option<String>,
    /// `progressive`.
    pub progressive: Option<Ramp>,
}

impl SplitConfig {
    /// A canary of `version` at `weight` percent for the listed `tenants`.
    pub fn new(version: &str, weight: u8, tenants: &[&str]) -> Self {
        Self {
            version: version.to_string(),
            weight: Some(weight),
            tenants: Some(tenants.iter().map(|t| (*t).to_string()).collect()),
            tenant_header: None,
            progressive: None,
        }
    }

    /// With a `tenant_header`.
    #[must_use]
    pub fn header(mut self, header: &str) -> Self {
        self.tenant_header = Some(header.to_string());
        self
    }

    /// With a `progressive` block.
    #[must_use]
    pub fn ramp(mut self, ramp: Ramp) -> Self {
        self.progressive = Some(ramp);
        self
    }

    /// The HCL.
    pub fn hcl(&self) -> String {
        let mut out = String::from(
            "resource \"bluegreen_traffic_split\" \"api\" {\n  environment = bluegreen_environment.api.name\n",
        );
        if let Some(h) = &self.tenant_header {
            out.push_str(&format!("  tenant_header = \"{h}\"\n"));
        }
        out.push_str(&format!(
            "\n  canary {{\n    version = \"{}\"\n",
            self.version
        ));
        if let Some(w) = self.weight {
            out.push_str(&format!("    weight  = {w}\n"));
        }
        if let Some(t) = &self.tenants {
            let list: Vec<String> = t.iter().map(|t| format!("\"{t}\"")).collect();
            out.push_str(&format!("    tenants = [{}]\n", list.join(", ")));
        }
        out.push_str("  }\n");
        if let Some(r) = &self.progressive {
            let steps: Vec<String> = r.steps.iter().map(u8::to_string).collect();
            out.push_str(&format!(
                "\n  progressive {{\n    steps          = [{}]\n    interval       = \"{}\"\n    max_error_rate = {}\n    min_requests   = {}\n  }}\n",
                steps.join(", "),
                r.interval,
                r.max_error_rate,
                r.min_requests
            ));
        }
        out.push_str("}\n");
        out
    }
}

/// Answers counted by what answered (a transport error counts under its message).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// `HTTP 200 1.3.0 on green` → count.
    pub counts: BTreeMap<String, u64>,
}

impl Tally {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Answers that were exactly `HTTP 200 <version> on <color>`.
    pub fn served(&self, version: &str, color: &str) -> u64 {
        self.counts
            .get(&format!("HTTP 200 {version} on {color}"))
            .copied()
            .unwrap_or(0)
    }

    fn merge(&mut self, other: Tally) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} requests: {:?}", self.total(), self.counts)
    }
}

/// Threads sending requests at once when counting shares.
pub const SENDERS: usize = 4;

/// An environment's front door, as a user reaches it.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl FrontDoor {
    /// A URL on the front door.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /api/version` once, with an optional `(header, tenant)`.
    pub fn answer(&self, tenant: Option<(&str, &str)>) -> Result<Answer, String> {
        let headers: Vec<(&str, &str)> = tenant.into_iter().collect();
        Answer::get(&self.url("/api/version"), &headers, Duration::from_secs(10))
    }

    /// Sends `n` requests from [`SENDERS`] threads, each with the tenant
    /// header `tenant(i)` returns for request `i` (none for `None`), and
    /// counts what answered.
    pub fn tally(&self, n: u64, tenant: impl Fn(u64) -> Option<(String, String)> + Sync) -> Tally {
        let mut total = Tally::default();
        let senders = SENDERS as u64;
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..senders)
                .map(|s| {
                    let tenant = &tenant;
                    scope.spawn(move || {
                        let mut tally = Tally::default();
                        for i in (s..n).step_by(SENDERS) {
                            let header = tenant(i);
                            let key = match self
                                .answer(header.as_ref().map(|(h, t)| (h.as_str(), t.as_str())))
                            {
                                Ok(a) => a.to_string(),
                                Err(e) => format!("error: {e}"),
                            };
                            *tally.counts.entry(key).or_default() += 1;
                        }
                        tally
                    })
                })
                .collect();
            for h in handles {
                total.merge(h.join().expect("a sender thread panicked"));
            }
        });
        total
    }

    /// Fails unless each of `n` requests with `tenant` (header, id) answers
    /// 200 from `version` on `color`.
    pub fn assert_all(&self, n: u64, tenant: Option<(&str, &str)>, version: &str, color: &str) {
        let owned = tenant.map(|(h, t)| (h.to_string(), t.to_string()));
        let tally = self.tally(n, |_| owned.clone());
        let want = format!("HTTP 200 {version} on {color}");
        assert!(
            tally.counts.len() == 1 && tally.served(version, color) == n,
            "{n} requests through the front door {} with tenant {tenant:?}: expected every one to be {want:?}, got {tally}",
            self.base
        );
    }
}

/// `(X-Tenant-ID, id)`.
pub fn tenant(id: &str) -> Option<(String, String)> {
    Some(("X-Tenant-ID".to_string(), id.to_string()))
}

/// The bounds of every load run, whatever happens: at most 600,000 requests
/// and 300 s; a run that reached them did not span what it should, and fails.
pub const LOAD_BOUNDS: LoadBounds = LoadBounds {
    max_requests: 600_000,
    max_seconds: 300,
    must_outlast: true,
};

/// A regex for the sentence `text` however Terraform wrapped it: its words
/// in order, separated by any whitespace.
pub fn wrapped(text: &str) -> String {
    let words: Vec<String> = text.split_whitespace().map(regex::escape).collect();
    words.join(r"\s+")
}

/// Fails unless the plan text (paragraphs unwrapped) matches every pattern.
pub fn assert_plan_shows(plan: &Output, patterns: &[&str]) {
    let text = unwrapped(&plan.stdout);
    for pattern in patterns {
        assert!(
            Regex::new(pattern).expect("regex").is_match(&text),
            "the plan lacks /{pattern}/:\n{}",
            plan.stdout
        );
    }
}

/// Runs `bluegreen-local` against the fixture's daemon; panics when it fails.
pub fn bluegreen_local(fx: &Fixture, args: &[&str]) -> String {
    let out = Command::new(workspace_binary("bluegreen-local"))
        .args(args)
        .arg("--endpoint")
        .arg(fx.daemon.endpoint())
        .arg("--state-dir")
        .arg(fx.daemon.state_dir())
        .output()
        .expect("run bluegreen-local");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "bluegreen-local {args:?} failed: {text}"
    );
    text
}
