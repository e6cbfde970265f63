//! What the daemon keeps on disk in its state directory.

pub mod instance;
pub mod private;
pub mod releases;
pub mod store;
pub mod token;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::api::{EnvironmentSpec, Routing};
use crate::lock::LeaseSlot;

/// Current on-disk format.
pub const FORMAT: u32 = 1;

/// The whole persisted state (`DIR/state.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistedState {
    /// Format version.
    pub format: u32,
    /// Next routing revision; global so revisions never repeat, even across re-creation.
    pub next_revision: u64,
    /// Environments by name.
    pub environments: BTreeMap<String, PersistedEnvironment>,
}

/// One persisted environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedEnvironment {
    /// Definition.
    pub spec: EnvironmentSpec,
    /// Routing table installed at restart before the front door accepts.
    pub routing: Routing,
    /// Lease lock.
    #[serde(default)]
    pub lock: LeaseSlot,
    /// Blue then green.
    pub colors: [PersistedColor; 2],
}

/// One persisted colour: enough to adopt its process or start it again identically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedColor {
    /// Deployed version; None when stopped.
    pub version: Option<String>,
    /// Expanded command line.
    #[serde(default)]
    pub argv: Vec<String>,
    /// Expanded extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Allocated port.
    pub port: Option<u16>,
    /// Last known pid, for adoption by the next daemon (restart, upgrade or crash).
    pub pid: Option<u32>,
    /// Start time of that pid (clock ticks after boot), so a recycled pid is not adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start_time: Option<u64>,
    /// Log file.
    pub log_path: Option<PathBuf>,
    /// Deployment time, unix ms.
    pub deployed_at_ms: Option<u64>,
    /// Crash restarts so far.
    #[serde(default)]
    pub restarts: u32,
    /// Last exit of a colour given up after a crash loop; such a colour is not started
    /// again until it is redeployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<String>,
}
