//! Acceptance tests of `bluegreen_environment` (issue 3) on the real
//! Terraform CLIs, against a real `bluegreen-local` daemon per test and CLI,
//! the demo application as the colours, and load through the real front door.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod alerts;
mod autostart;
mod concurrent;
mod data_source;
mod defaults;
mod drift;
mod forwarded;
mod front_door_outage;
mod gates;
mod import;
mod killed_apply;
mod page_release;
mod plan_errors;
mod post_switch;
mod redefine;
mod release_progress;
mod restart;
mod rollback;
mod unimplemented_platforms;
mod update_under_load;
mod watch_progress;
mod websocket;
mod websocket_gate;
mod websocket_scale;

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use bluegreen_acceptance::harness::local_platform::now_ms;
use bluegreen_acceptance::harness::output::{expect_match, first_error, unwrapped};
pub use bluegreen_acceptance::harness::provider::bluegreen;
use bluegreen_acceptance::harness::{
    Answer, EnvConfig, Load, LoadBounds, LoadSummary, LocalFixture,
};
use bluegreen_acceptance::harness::{Output, Terraform, Workspace};

/// The resource every test manages.
pub const ADDRESS: &str = "bluegreen_environment.api";

/// One test on one CLI: the harness's [`LocalFixture`] (its own daemon,
/// front-door port and environment name), with this suite's front door and
/// environment block.
pub struct Fixture(LocalFixture);

impl Fixture {
    /// A fresh daemon for `test` on `tf`; the environment is called `name`.
    pub fn new(test: &str, tf: &Terraform, name: &str) -> Fixture {
        Fixture(LocalFixture::new(test, tf, name))
    }

    /// The front door: `http://127.0.0.1:PORT`.
    pub fn front_door(&self) -> FrontDoor {
        FrontDoor {
            base: self.front_door_base(),
        }
    }

    /// The default environment definition at `version`.
    pub fn env(&self, version: &str) -> EnvConfig {
        EnvConfig::new(&self.name, version, self.front_port)
    }
}

// The shared part (daemon, name, port, `config`, `status`) reads as the
// fixture's own, so the tests need not say `fx.0`; mutable for the tests
// that kill and restart the daemon.
impl Deref for Fixture {
    type Target = LocalFixture;

    fn deref(&self) -> &LocalFixture {
        &self.0
    }
}

impl DerefMut for Fixture {
    fn deref_mut(&mut self) -> &mut LocalFixture {
        &mut self.0
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

/// The bounds of every load run, whatever happens: 180 s (the request bound is
/// out of reach at ~12,000 requests/s). A load must outlast what it spans: a
/// request bound once ended a load before the post-switch watch when a busy
/// machine slowed the apply, and the watch then judged nothing. A run that hit
/// its bounds fails at `Load::stop`.
pub const LOAD_BOUNDS: LoadBounds = LoadBounds {
    max_requests: 5_000_000,
    max_seconds: 180,
    must_outlast: true,
};

/// Applies the workspace's configuration (a faulty release) while 4 clients load the
/// front door, started once `live` has answered 200 requests so the watch has a
/// baseline, and fails unless the apply exits 1: the release was rolled back. Answers
/// the apply's output and what the load saw.
pub fn apply_rolled_back_under_load(
    ws: &Workspace,
    fx: &Fixture,
    live: &str,
) -> (Output, LoadSummary) {
    let front = fx.front_door();
    let started = now_ms();
    let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
    fx.wait_for_requests(live, started, 200, Duration::from_secs(60));
    let apply = ws.run(&["apply", "-auto-approve"]);
    let summary = load.stop();
    if apply.code != Some(1) {
        ws.fail(
            Some(&apply),
            &format!(
                "the apply of a faulty release exited {:?}, expected 1 (rolled back); load: {summary}",
                apply.code
            ),
        );
    }
    (apply, summary)
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
