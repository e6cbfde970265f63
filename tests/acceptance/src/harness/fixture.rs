//! One test's local platform on one CLI: its own `bluegreen-local` daemon, a
//! free front-door port and the name of the environment behind it, and the
//! configuration that points `terraform-provider-bluegreen` at that daemon.

use std::time::Duration;

use serde_json::Value as Json;

use super::load;
use super::local_platform::{free_port, LocalDaemon};
use super::provider::bluegreen;
use super::terraform::Terraform;

/// A daemon, a front-door port and an environment name for one test on one CLI.
pub struct LocalFixture {
    /// The daemon (stopped when the fixture drops).
    pub daemon: LocalDaemon,
    /// Environment name.
    pub name: String,
    /// Front-door port.
    pub front_port: u16,
}

impl LocalFixture {
    /// A fresh daemon `<label>-tf<version>` for `tf`; the environment is called `name`.
    pub fn new(label: &str, tf: &Terraform, name: &str) -> LocalFixture {
        let daemon = LocalDaemon::start(&format!("{label}-tf{}", tf.version_string()));
        LocalFixture {
            daemon,
            name: name.to_string(),
            front_port: free_port(),
        }
    }

    /// The front door's base URL: `http://127.0.0.1:PORT`.
    pub fn front_door_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.front_port)
    }

    /// The whole configuration: the provider pointed at this fixture's daemon, then `body`.
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

    /// Waits until the front door has sent at least `n` requests to `color`
    /// since `since_ms` (the daemon's metrics), panicking after `limit`.
    pub fn wait_for_requests(&self, color: &str, since_ms: u64, n: u64, limit: Duration) -> u64 {
        load::wait_for_requests(&self.daemon.api(), &self.name, color, since_ms, n, limit)
    }
}
