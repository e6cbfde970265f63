//! The admin API's JSON types, shared by the daemon and [`crate::client::Client`].
//!
//! Times meant for people are RFC 3339 strings; metric windows are unix milliseconds.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Default header that carries the tenant id.
pub const DEFAULT_TENANT_HEADER: &str = "X-Tenant-ID";
/// Default time to wait for a retired colour's in-flight requests.
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 30_000;
/// Default time a colour has to answer a request's head through the front door.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 60_000;
/// Default lease duration of an environment lock: short, because holders renew it
/// while they work and a holder that died must not block the environment for long.
pub const DEFAULT_LOCK_TTL_SECS: u64 = 60;
/// Response header naming the colour that served a proxied request.
pub const COLOR_HEADER: &str = "x-bluegreen-color";

// One definition for the engine, every platform and this wire format.
pub use bluegreen_color::{Color, ParseColorError};

// Release progress has its own module; the API's types are all named from here.
pub use crate::release::{
    ErrorThresholds, PhaseMark, RateLevel, Release, ReleaseEvent, ReleaseList, ReleasePhase,
    ReleaseStep, WatchFigures,
};

/// Definition of an environment: how to run a colour and where the front door listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSpec {
    /// Program and arguments; `{port}`, `{version}` and `{color}` are substituted.
    pub command: Vec<String>,
    /// Extra environment variables for the colour processes (placeholders substituted).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Front door address, `IP:PORT`.
    pub listen: String,
    /// How long a retired colour may take to finish in-flight requests before it stops.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// How long a colour may take to answer a request's head through the front door
    /// before the client gets a `504` (counted as an error of that colour). Tunnels
    /// (upgraded connections) are exempt once switched.
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
    /// Request header whose value identifies the tenant.
    #[serde(default = "default_tenant_header")]
    pub tenant_header: String,
    /// Pass the client's `X-Forwarded-For`/`-Proto`/`-Host` on to the colours (another
    /// proxy in front of the front door sets them); otherwise the front door replaces them.
    #[serde(default)]
    pub trust_forwarded_headers: bool,
    /// Path of the application's health endpoint, e.g. `/api/health`: the daemon asks
    /// each running colour for it (at most every 5 s) and shows the answer in
    /// [`ColorStatus::health`]. Not part of how a colour runs: changing it restarts
    /// nothing. None: no checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_path: Option<String>,
}

fn default_drain_timeout_ms() -> u64 {
    DEFAULT_DRAIN_TIMEOUT_MS
}

fn default_upstream_timeout_ms() -> u64 {
    DEFAULT_UPSTREAM_TIMEOUT_MS
}

fn default_tenant_header() -> String {
    DEFAULT_TENANT_HEADER.to_owned()
}

/// Life-cycle state of one colour's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProcessStatus {
    /// Nothing runs.
    #[default]
    Stopped,
    /// The process runs but its port does not accept connections yet.
    Starting,
    /// The process runs and its port accepts TCP connections.
    Running,
    /// The process exited unexpectedly; it is restarted after a backoff.
    Crashed,
    /// The process is being drained and terminated.
    Stopping,
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessStatus::Stopped => "stopped",
            ProcessStatus::Starting => "starting",
            ProcessStatus::Running => "running",
            ProcessStatus::Crashed => "crashed",
            ProcessStatus::Stopping => "stopping",
        })
    }
}

/// What one colour runs and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColorStatus {
    /// The colour.
    pub color: Color,
    /// Version deployed on it (null when stopped).
    pub version: Option<String>,
    /// Process state.
    pub status: ProcessStatus,
    /// Process id of the running process.
    pub pid: Option<u32>,
    /// Loopback port allocated to the colour.
    pub port: Option<u16>,
    /// Direct address of the colour, bypassing the front door (for health gates).
    pub address: Option<String>,
    /// How many times the daemon restarted it after a crash since its deployment.
    pub restarts: u32,
    /// When the current process started.
    pub started_at: Option<String>,
    /// When the version was deployed.
    pub deployed_at: Option<String>,
    /// Last unexpected exit, e.g. `exit status 1` or `killed by signal 9`.
    pub last_exit: Option<String>,
    /// Per-colour log file (stdout and stderr of the process).
    pub log_path: Option<String>,
    /// Last lines of the log, filled when the colour crashed.
    #[serde(default)]
    pub log_tail: Vec<String>,
    /// Requests being proxied to it right now.
    pub in_flight: u64,
    /// Tunnels (WebSocket or other upgraded connections) open to it right now.
    #[serde(default)]
    pub open_tunnels: u64,
    /// Client connections of the front door busy with it right now: a request being
    /// proxied to it (`in_flight`) or a tunnel to it (`open_tunnels`). An idle
    /// keep-alive connection belongs to no colour: its next request follows the table.
    #[serde(default)]
    pub open_connections: u64,
    /// Upgrade handshakes it accepted (`101`) since the daemon started.
    #[serde(default)]
    pub upgrades_accepted: u64,
    /// Upgrade handshakes it answered otherwise or failed to answer, since the daemon
    /// started.
    #[serde(default)]
    pub upgrades_refused: u64,
    /// Tunnels that ended on their own after a switch took traffic away from it,
    /// since the daemon started.
    #[serde(default)]
    pub tunnels_drained: u64,
    /// Tunnels the front door closed at the drain deadline (the environment's
    /// `drain_timeout` after the switch, or when the colour stopped), since the daemon
    /// started.
    #[serde(default)]
    pub tunnels_cut: u64,
    /// The process runs an older `command`/`env` than the current definition:
    /// the next deploy to this colour starts it afresh even at the same version.
    #[serde(default)]
    pub outdated: bool,
    /// The application's own health as its endpoint (`health_path`) last answered;
    /// None when the environment has no `health_path` or the colour does not run.
    #[serde(default)]
    pub health: Option<AppHealth>,
}

/// What a colour's health endpoint answered, in the release process's shape:
/// `{"status": "healthy", "checks": {"database": "ok", ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHealth {
    /// When it was asked (RFC 3339).
    pub checked_at: String,
    /// HTTP status of the answer; None when there was none (see `error`).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// The body's `status` word, e.g. `healthy`, `degraded`.
    #[serde(default)]
    pub status: Option<String>,
    /// The body's `checks`, in the body's order.
    #[serde(default)]
    pub checks: Vec<HealthCheckResult>,
    /// Why there is no usable answer: refused, timed out, too large, not JSON.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether all is well: a 2xx answer, a `status` of `healthy`/`ok` (or none) and
    /// every check ok.
    pub ok: bool,
}

impl AppHealth {
    /// One line for people: the status word and HTTP status, then each check, e.g.
    /// `healthy (HTTP 200): database ok · cache ok · equipment ok (23/23 connected)`,
    /// or the error.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("unreachable: {e}");
        }
        let mut s = self.status.clone().unwrap_or_else(|| "no status".into());
        if let Some(code) = self.http_status {
            s.push_str(&format!(" (HTTP {code})"));
        }
        if !self.checks.is_empty() {
            let checks: Vec<String> = self
                .checks
                .iter()
                .map(|c| format!("{} {}", c.name, c.status))
                .collect();
            s.push_str(": ");
            s.push_str(&checks.join(" · "));
        }
        s
    }
}

/// One entry of a health body's `checks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckResult {
    /// Its name, e.g. `database`.
    pub name: String,
    /// Its text, e.g. `ok`, `ok (23/23 connected)`, `failed: connection refused`.
    pub status: String,
    /// Whether it passes: the text starts with `ok` or is `healthy`.
    pub ok: bool,
}

/// Both colours of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Colors {
    /// The blue colour.
    pub blue: ColorStatus,
    /// The green colour.
    pub green: ColorStatus,
}

impl Colors {
    /// The status of `color`.
    pub fn get(&self, color: Color) -> &ColorStatus {
        match color {
            Color::Blue => &self.blue,
            Color::Green => &self.green,
        }
    }
}

/// A canary: part of the traffic goes to a second colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    /// Colour receiving canary traffic; must differ from the primary.
    pub color: Color,
    /// Percentage (0-100) of requests *without* a tenant header sent to the canary.
    #[serde(default)]
    pub weight: u8,
    /// Tenants always sent to the canary; all other tenants always go to the primary.
    #[serde(default)]
    pub tenants: Vec<String>,
}

/// The routing table of an environment's front door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Monotonically increasing revision; every change gets a new one.
    pub revision: u64,
    /// Colour receiving all traffic not sent to the canary; null routes nothing (503).
    pub primary: Option<Color>,
    /// Optional canary.
    pub canary: Option<Canary>,
    /// Header used for tenant routing.
    pub tenant_header: String,
    /// When this revision was installed.
    pub updated_at: Option<String>,
    /// Who installed it.
    pub updated_by: Option<String>,
}

impl Routing {
    /// Whether `color` receives any traffic under this table.
    pub fn routes_to(&self, color: Color) -> bool {
        self.primary == Some(color) || self.canary.as_ref().is_some_and(|c| c.color == color)
    }
}

/// A held environment lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Who holds it.
    pub owner: String,
    /// When it was first acquired (RFC 3339).
    pub since: String,
    /// When it lapses unless renewed (RFC 3339).
    pub expires_at: String,
    /// The holder's process id, when it named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Full view of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    /// Environment name.
    pub name: String,
    /// Its definition.
    pub spec: EnvironmentSpec,
    /// Front door URL, e.g. `http://127.0.0.1:8080`.
    pub endpoint: String,
    /// Current routing table.
    pub routing: Routing,
    /// Version served by the primary colour, if any.
    pub live_version: Option<String>,
    /// Both colours.
    pub colors: Colors,
    /// Current lock, if held.
    pub lock: Option<LockInfo>,
    /// Whether the front door listens; absent from daemons that predate it.
    #[serde(default)]
    pub front_door: Option<FrontDoorStatus>,
}

/// Whether an environment's front door accepts connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontDoorStatus {
    /// True while it accepts connections on `address`.
    pub listening: bool,
    /// The `listen` address it serves (or keeps trying to bind).
    pub address: String,
    /// Why it is not listening (the last bind error).
    #[serde(default)]
    pub error: Option<String>,
    /// When it went down (RFC 3339).
    #[serde(default)]
    pub down_since: Option<String>,
    /// Failed bind attempts since it went down; the daemon keeps retrying with backoff.
    #[serde(default)]
    pub bind_attempts: u32,
}

/// `GET /v1/environments` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentList {
    /// All environments, by name.
    pub environments: Vec<EnvironmentStatus>,
}

/// Body of `POST /v1/environments/{env}/colors/{color}/deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeployRequest {
    /// Version to run.
    pub version: String,
    /// Who asks, for the audit log.
    #[serde(default)]
    pub actor: Option<String>,
    /// Lock owner, required when the environment is locked.
    #[serde(default)]
    pub lock_owner: Option<String>,
    /// Restart even if the colour already runs this version.
    #[serde(default)]
    pub restart: bool,
}

/// Body of `POST /v1/environments/{env}/colors/{color}/stop` and of `DELETE` on an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StopRequest {
    /// Who asks, for the audit log.
    #[serde(default)]
    pub actor: Option<String>,
    /// Lock owner, required when the environment is locked.
    #[serde(default)]
    pub lock_owner: Option<String>,
}

/// Kind of a routing change, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingAction {
    /// Move the primary to the other colour as part of a release.
    Switch,
    /// Move the primary back after a failed release.
    Rollback,
    /// Change canary or tenant routing.
    Route,
}

/// Body of `PUT /v1/environments/{env}/routing`: the complete new table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RoutingUpdate {
    /// New primary colour (null routes nothing).
    pub primary: Option<Color>,
    /// New canary (null removes it).
    #[serde(default)]
    pub canary: Option<Canary>,
    /// Tenant header; null keeps the environment's `tenant_header`.
    #[serde(default)]
    pub tenant_header: Option<String>,
    /// Who asks, for the audit log.
    #[serde(default)]
    pub actor: Option<String>,
    /// Audit action; inferred (switch when the primary changes, else route) when null.
    #[serde(default)]
    pub action: Option<RoutingAction>,
    /// Apply only if the current revision is this one (optimistic concurrency).
    #[serde(default)]
    pub if_revision: Option<u64>,
    /// Lock owner, required when the environment is locked.
    #[serde(default)]
    pub lock_owner: Option<String>,
    /// Ignore the environment lock (on-call emergency switch).
    #[serde(default)]
    pub force: bool,
    /// Free text for the audit log.
    #[serde(default)]
    pub message: Option<String>,
}

/// Body of `POST` (acquire) and `PUT` (renew) on `/v1/environments/{env}/lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRequest {
    /// Lock owner, e.g. `terraform:host:pid`.
    pub owner: String,
    /// Lease duration in seconds.
    #[serde(default = "default_lock_ttl")]
    pub ttl_secs: u64,
    /// The holder's process id: with `pid_space`, lets the daemon free the lock as soon
    /// as that process is gone, instead of at expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The holder's pid space ([`crate::pid_space::pid_space`]); the
    /// daemon judges `pid` only when it equals its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_space: Option<String>,
}

impl LockRequest {
    /// A request for `owner` for `ttl_secs`, naming no process.
    pub fn new(owner: impl Into<String>, ttl_secs: u64) -> Self {
        Self {
            owner: owner.into(),
            ttl_secs,
            pid: None,
            pid_space: None,
        }
    }

    /// Names the calling process as the holder, so its death frees the lock at once.
    #[must_use]
    pub fn held_by_this_process(mut self) -> Self {
        self.pid = Some(std::process::id());
        self.pid_space = crate::pid_space::pid_space();
        self
    }
}

fn default_lock_ttl() -> u64 {
    DEFAULT_LOCK_TTL_SECS
}

/// `GET /v1/environments/{env}/lock` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    /// The live lock, or null when the environment is not locked.
    pub lock: Option<LockInfo>,
}

/// Body of `POST /v1/environments/{env}/lock/break`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BreakLockRequest {
    /// Who breaks it, for the audit log (e.g. `cli:alice`).
    #[serde(default)]
    pub actor: Option<String>,
}

/// `POST /v1/environments/{env}/lock/break` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLock {
    /// The lock that was broken, or null when there was none.
    pub broken: Option<LockInfo>,
}

/// Query of `GET /v1/environments/{env}/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsQuery {
    /// Colour to summarise.
    pub color: Color,
    /// Window start, unix ms (inclusive; default: 5 minutes ago).
    #[serde(default)]
    pub since: Option<u64>,
    /// Window end, unix ms (inclusive; default: now).
    #[serde(default)]
    pub until: Option<u64>,
}

/// Front-door metrics of one colour over a window, at one-second resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// The colour.
    pub color: Color,
    /// Window start, unix ms.
    pub since: u64,
    /// Window end, unix ms.
    pub until: u64,
    /// Requests proxied to the colour.
    pub requests: u64,
    /// Of which answered with a 5xx status (including 502 from the front door).
    pub errors_5xx: u64,
    /// `errors_5xx / requests` (0 when no requests).
    pub error_rate: f64,
    /// Median time to response headers, ms (null when no requests).
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Its connections at the front door now (gauges and totals, not over the window).
    #[serde(default)]
    pub connections: ConnectionCounts,
}

/// A colour's client connections at the front door: what is open now, and totals
/// since the daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCounts {
    /// Client connections busy with it now: a request being proxied, or a tunnel.
    pub open_connections: u64,
    /// Tunnels (WebSocket or other upgraded connections) open to it now.
    pub open_tunnels: u64,
    /// Upgrade handshakes it accepted (`101`).
    pub upgrades_accepted: u64,
    /// Upgrade handshakes it answered otherwise or failed to answer (502, 504).
    pub upgrades_refused: u64,
    /// Tunnels that ended on their own after a switch took traffic away from it.
    pub tunnels_drained: u64,
    /// Tunnels the front door closed at the drain deadline.
    pub tunnels_cut: u64,
}

/// Outcome of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused before anything changed (lock, conflict, validation).
    Refused,
    /// Tried and failed.
    Failed,
}

/// Audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditAction {
    /// Environment created or its definition changed.
    Define,
    /// A version deployed to a colour.
    Deploy,
    /// Primary moved as a release.
    Switch,
    /// Primary moved back after a failure.
    Rollback,
    /// Canary or tenant routing changed.
    Route,
    /// A colour stopped.
    Stop,
    /// A colour process crashed.
    Crash,
    /// Lock acquired.
    Lock,
    /// Lock released.
    Unlock,
    /// Environment deleted.
    Delete,
    /// A rollout gate result recorded by a client.
    Gate,
    /// A front door could not listen, or listens again.
    Listen,
    /// A request to the admin API without a valid token was refused.
    Unauthorized,
    /// A release reported by the provider ended: done (outcome `ok`), rolled back or
    /// failed (outcome `failed`, the message says which and why).
    Release,
    /// Anything else recorded by a client.
    #[serde(other)]
    Other,
}

/// One line of `audit.log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339); filled by the daemon when empty.
    #[serde(default)]
    pub time: String,
    /// Who, e.g. `terraform:ci@host` or `cli:alice`.
    pub actor: String,
    /// Environment name.
    pub environment: String,
    /// What.
    pub action: AuditAction,
    /// Version before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    /// Version after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// Colour before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_color: Option<Color>,
    /// Colour after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_color: Option<Color>,
    /// Routing revision installed, for routing actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// Result.
    pub outcome: Outcome,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
}

impl AuditEntry {
    /// What it changed, in words: `blue 1.2.0 → green 1.3.0`, `→ green 1.3.0` (only
    /// an after), `blue 1.2.0` (only a before), or empty.
    pub fn change(&self) -> String {
        fn side(color: Option<Color>, version: Option<&str>) -> String {
            match (color, version) {
                (Some(c), Some(v)) => format!("{c} {v}"),
                (Some(c), None) => c.to_string(),
                (None, Some(v)) => v.to_owned(),
                (None, None) => String::new(),
            }
        }
        let from = side(self.from_color, self.from_version.as_deref());
        let to = side(self.to_color, self.to_version.as_deref());
        match (from.is_empty(), to.is_empty()) {
            (_, true) => from,
            (true, false) => format!("→ {to}"),
            (false, false) => format!("{from} → {to}"),
        }
    }
}

/// `GET /v1/audit` answer, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    /// Entries, oldest first.
    pub entries: Vec<AuditEntry>,
}

/// `GET /v1/health` answer (no token needed), used to detect the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonHealth {
    /// Always `ok`.
    pub status: String,
    /// Always `bluegreen-local`.
    pub service: String,
    /// Daemon version.
    pub version: String,
    /// Daemon process id.
    pub pid: u32,
    /// State directory it serves.
    pub state_dir: String,
    /// When it started.
    pub started_at: String,
}

/// `POST /v1/daemon/stop` body: stop every colour, then the daemon (`bluegreen-local stop`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStopRequest {
    /// Who asks, for the audit log.
    #[serde(default)]
    pub actor: Option<String>,
}

/// `POST /v1/daemon/stop` answer, sent once every colour has stopped; the daemon exits next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStopped {
    /// Pid of the daemon that is exiting.
    pub pid: u32,
    /// The colour processes stopped.
    pub stopped: Vec<StoppedColor>,
}

/// One colour process stopped by `POST /v1/daemon/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedColor {
    /// Environment name.
    pub environment: String,
    /// Which colour.
    pub color: Color,
    /// Version it ran.
    pub version: Option<String>,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code: `locked`, `not_found`, `conflict`, `stale_revision`, `invalid`, `unauthorized`, `internal`…
    pub error: String,
    /// One line saying what went wrong and what to do.
    pub message: String,
    /// Lock holder, for `locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// Since when it is held, for `locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// When the lease lapses, for `locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Seconds until the lease lapses unless renewed, for `locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_apply() {
        let spec: EnvironmentSpec =
            serde_json::from_str(r#"{"command":["app"],"listen":"127.0.0.1:1"}"#)
                .expect("valid spec");
        assert_eq!(spec.tenant_header, DEFAULT_TENANT_HEADER);
        assert_eq!(spec.drain_timeout_ms, DEFAULT_DRAIN_TIMEOUT_MS);
        assert_eq!(spec.upstream_timeout_ms, DEFAULT_UPSTREAM_TIMEOUT_MS);
        assert!(!spec.trust_forwarded_headers);
    }

    #[test]
    fn audit_change_names_what_is_known() {
        let mut e: AuditEntry = serde_json::from_str(
            r#"{"actor":"x","environment":"e","action":"release","outcome":"failed",
                "from_version":"1.2.0","from_color":"blue","to_version":"1.3.0","to_color":"green"}"#,
        )
        .expect("valid entry");
        assert_eq!(e.action, AuditAction::Release);
        assert_eq!(e.change(), "blue 1.2.0 → green 1.3.0");
        (e.from_color, e.from_version) = (None, None);
        assert_eq!(e.change(), "→ green 1.3.0");
        (e.to_color, e.to_version) = (None, None);
        assert_eq!(e.change(), "");
        e.from_color = Some(Color::Blue);
        assert_eq!(e.change(), "blue");
    }

    #[test]
    fn unknown_audit_actions_read_as_other() {
        let e: AuditEntry = serde_json::from_str(
            r#"{"actor":"x","environment":"e","action":"smoke","outcome":"ok"}"#,
        )
        .expect("valid entry");
        assert_eq!(e.action, AuditAction::Other);
    }
}
