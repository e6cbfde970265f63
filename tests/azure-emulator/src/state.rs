//! Everything the emulator remembers: resources, operations, tokens, the
//! journal, fault scripts, throttling counters and metric samples.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::faults::Fault;
use crate::metrics::MetricSample;

/// Tunables a test can change through the admin API.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Emulated milliseconds an ARM write takes before its operation completes.
    pub lro_ms: u64,
    /// Lifetime of issued access tokens, in real seconds.
    pub token_lifetime_s: u64,
    /// ARM reads per subscription per emulated hour before 429 (ARM's budget is 12,000).
    pub reads_per_hour: u32,
    /// ARM writes per subscription per emulated hour before 429 (ARM's budget is 1,200).
    pub writes_per_hour: u32,
    /// Emulated milliseconds between a request at the edge and its metrics being queryable.
    pub metrics_ingestion_delay_ms: u64,
    /// Emulated milliseconds each edge location takes to apply a Front Door
    /// change (location i uses entry i, or the last one).
    pub edge_propagation_ms: Vec<u64>,
    /// Whether the `az` stand-in is logged in (false: "Please run 'az login'").
    pub cli_logged_in: bool,
    /// Items per page of a list answer (`nextLink` to the rest); `None` (the
    /// default) answers every item in one page.
    pub page_size: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lro_ms: 1_000,
            token_lifetime_s: 3_600,
            reads_per_hour: 12_000,
            writes_per_hour: 1_200,
            metrics_ingestion_delay_ms: 60_000,
            edge_propagation_ms: vec![5_000, 15_000],
            cli_logged_in: true,
            page_size: None,
        }
    }
}

/// The identity the emulator's AAD accepts and the subscription its ARM serves.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    /// AAD tenant id.
    pub tenant_id: String,
    /// Service principal (application) id.
    pub client_id: String,
    /// Client secret for the client-credentials grant.
    pub client_secret: String,
    /// The one subscription ARM serves.
    pub subscription_id: String,
    /// Secret header value of the App Service managed-identity endpoint (`IDENTITY_HEADER`).
    pub identity_header: String,
}

/// Status of an ARM asynchronous operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OpStatus {
    /// Still running.
    InProgress,
    /// Completed.
    Succeeded,
    /// Ended with an error.
    Failed,
}

impl OpStatus {
    /// ARM's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::InProgress => "InProgress",
            OpStatus::Succeeded => "Succeeded",
            OpStatus::Failed => "Failed",
        }
    }
}

/// An ARM long-running operation behind `Azure-AsyncOperation` / `Location`.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Operation id (last path segment of its status URL).
    pub id: String,
    /// Key of the resource it writes.
    pub resource_key: String,
    /// Document to restore if the operation fails (None for a create).
    pub previous: Option<Value>,
    /// The resource's tags as the write left them: tags changed after it
    /// (through the tags API) survive its failure.
    pub tags_written: Option<Value>,
    /// Key of the Container Apps revision it provisions, if any.
    pub revision_key: Option<String>,
    /// Emulated start time.
    pub started_ms: u64,
    /// Emulated time at which it completes.
    pub completes_ms: u64,
    /// Emulated end time once completed.
    pub ended_ms: Option<u64>,
    /// Current status.
    pub status: OpStatus,
    /// Scripted failure `(code, message)`.
    pub failure: Option<(String, String)>,
    /// Canonical path of the azure-async-operation status resource.
    pub status_path: String,
}

/// One request in the journal.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// Emulated time, RFC 3339.
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Request path, as sent.
    pub path: String,
    /// The `api-version` query parameter, if any.
    pub api_version: Option<String>,
    /// Every query parameter.
    pub query: BTreeMap<String, String>,
    /// The request body as JSON (null when empty; a string when not JSON; never
    /// recorded for token requests, which carry secrets).
    pub body: Value,
    /// Status code answered.
    pub status: u16,
    /// The `x-ms-request-id` answered.
    pub request_id: String,
}

/// ARM request counters for the current emulated hour.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    /// Start of the current window (emulated ms).
    pub window_start_ms: u64,
    /// Reads counted in the window.
    pub reads: u32,
    /// Writes counted in the window.
    pub writes: u32,
}

/// The emulator's whole mutable state, behind one mutex.
#[derive(Debug, Default)]
pub struct State {
    /// ARM resources keyed by lower-cased id.
    pub resources: BTreeMap<String, Value>,
    /// Resource groups that exist: lower-cased `/subscriptions/{s}/resourcegroups/{rg}`
    /// to the group's name as created.
    pub resource_groups: BTreeMap<String, String>,
    /// Long-running operations by id.
    pub operations: HashMap<String, Operation>,
    /// Issued access tokens and their real expiry (unix ms).
    pub tokens: HashMap<String, u64>,
    /// Requests seen.
    pub journal: Vec<JournalEntry>,
    /// Active fault scripts.
    pub faults: Vec<Fault>,
    /// Next fault id.
    pub next_fault_id: u64,
    /// Tunables.
    pub settings: Settings,
    /// Throttling counters.
    pub throttle: Throttle,
    /// Metric samples for Azure Monitor.
    pub metrics: Vec<MetricSample>,
    /// Front Door configurations as published, oldest first (the edge follows them).
    pub edge_snapshots: Vec<EdgeSnapshot>,
    /// Running revisions and label addresses, when revisions run as processes.
    pub runtime: RuntimeState,
}

/// The Front Door resources at one moment, as the edge applies them.
#[derive(Debug, Clone)]
pub struct EdgeSnapshot {
    /// Publication number, from 1.
    pub seq: u64,
    /// Emulated time of publication (ms).
    pub published_ms: u64,
    /// Every Microsoft.Cdn document by key.
    pub cdn: Arc<BTreeMap<String, Value>>,
}

/// What the process runner knows about revisions.
#[derive(Debug, Clone, Default)]
pub struct RuntimeState {
    /// Whether revisions run as processes at all.
    pub enabled: bool,
    /// Revision key to its process.
    pub revisions: HashMap<String, RevisionProcess>,
    /// Host name (label or app FQDN) to its loopback listener port.
    pub hosts: BTreeMap<String, u16>,
    /// Edge locations: name and loopback port.
    pub edge: Vec<(String, u16)>,
    /// Per edge location, the publication it serves (never goes back, even
    /// when its propagation delay is raised).
    pub edge_applied: HashMap<usize, u64>,
}

/// A revision's process.
#[derive(Debug, Clone)]
pub struct RevisionProcess {
    /// Revision name.
    pub name: String,
    /// Its FQDN.
    pub fqdn: String,
    /// Loopback port it listens on.
    pub port: u16,
    /// Version passed to the command (the image tag).
    pub version: String,
    /// Colour passed to the command (its label when started).
    pub color: String,
    /// Last health answer: None before the first, Some(true) for 200.
    pub healthy: Option<bool>,
    /// The process has exited.
    pub exited: bool,
}

impl State {
    /// Forgets everything but the settings.
    pub fn reset(&mut self) {
        let settings = self.settings.clone();
        let runtime = RuntimeState {
            enabled: self.runtime.enabled,
            edge: self.runtime.edge.clone(),
            ..RuntimeState::default()
        };
        *self = State {
            settings,
            runtime,
            ..State::default()
        };
    }

    /// Publishes the current Front Door configuration for the edge to follow.
    pub fn publish_edge(&mut self, now: u64) {
        let cdn: BTreeMap<String, Value> = self
            .resources
            .iter()
            .filter(|(k, _)| k.contains("/providers/microsoft.cdn/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let seq = self.edge_snapshots.last().map(|s| s.seq + 1).unwrap_or(1);
        self.edge_snapshots.push(EdgeSnapshot {
            seq,
            published_ms: now,
            cdn: Arc::new(cdn),
        });
        // The edge only needs the newest configuration each location may still show.
        if self.edge_snapshots.len() > 200 {
            self.edge_snapshots.remove(0);
        }
    }

    /// Appends to the journal and returns the entry's sequence number.
    pub fn record(&mut self, mut entry: JournalEntry) -> u64 {
        let seq = self.journal.last().map(|e| e.seq + 1).unwrap_or(1);
        entry.seq = seq;
        self.journal.push(entry);
        seq
    }
}
