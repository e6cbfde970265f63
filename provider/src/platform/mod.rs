//! What the rollout engine needs from a platform, and nothing more: the local
//! platform and Azure implement this trait; the engine, the gates and the
//! resources are written once against it.

pub mod azure;
pub mod error;
#[cfg(test)]
pub mod fake;
pub mod handle;
pub mod lease;
pub mod local;
pub mod progress;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

pub use error::{Failure, LockHeld, PlatformError};
pub use handle::{EnvironmentRef, TargetRef};
pub use progress::{ReleaseEvent, ReleasePhase, WatchFigures};

// Defined once for the engine, every platform and the local daemon's wire format.
pub use bluegreen_color::Color;

/// How a colour's workload is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorPhase {
    /// Nothing runs.
    Stopped,
    /// Started, not accepting connections yet.
    Starting,
    /// Accepting connections.
    Running,
    /// Exited unexpectedly (the platform may be restarting it).
    Crashed,
    /// Being drained and stopped.
    Stopping,
}

impl ColorPhase {
    /// Lower-case name for state and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorPhase::Stopped => "stopped",
            ColorPhase::Starting => "starting",
            ColorPhase::Running => "running",
            ColorPhase::Crashed => "crashed",
            ColorPhase::Stopping => "stopping",
        }
    }
}

/// One colour as the platform reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorState {
    /// Deployed version, if any.
    pub version: Option<String>,
    /// Workload phase.
    pub phase: ColorPhase,
    /// Direct base URL of the colour (bypassing the front door), for gates.
    pub address: Option<String>,
    /// Process or revision identity: changes when the workload restarts.
    pub instance_id: Option<String>,
    /// Restarts after crashes since the deployment.
    pub restarts: u32,
    /// Last unexpected exit.
    pub last_exit: Option<String>,
    /// Last log lines, when the platform has them.
    pub log_tail: Vec<String>,
    /// Runs an older target definition (command, env) than the current one.
    pub outdated: bool,
    /// Its connections at the front door, where the platform counts them (the local
    /// daemon does; Azure Front Door reports none per origin).
    pub connections: Option<Connections>,
}

/// A colour's long-lived connections (WebSocket tunnels) at the front door. `drained` and
/// `cut` are totals since the platform started counting: compare two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    /// Open now.
    pub open: u64,
    /// Ended on their own within the drain after a switch took traffic away.
    pub drained: u64,
    /// Closed by the front door at the drain deadline.
    pub cut: u64,
}

/// Canary routing by colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryRoute {
    /// Colour receiving canary traffic.
    pub color: Color,
    /// Percent of requests without a tenant header.
    pub weight: u8,
    /// Tenants always routed to the canary.
    pub tenants: Vec<String>,
}

/// The routing table's version for compare-and-swap: an opaque token that
/// only the platform that issued it interprets (a counter locally, an ETag on
/// Azure). The engine compares it for equality and hands it back, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoutingRevision(String);

impl RoutingRevision {
    /// A revision from the platform's token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
    /// The platform's token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoutingRevision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The front door's routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTable {
    /// Opaque revision for compare-and-swap.
    pub revision: RoutingRevision,
    /// Colour receiving all other traffic; `None` routes nothing.
    pub primary: Option<Color>,
    /// Canary, if any.
    pub canary: Option<CanaryRoute>,
    /// Tenant header name.
    pub tenant_header: String,
    /// Who changed it last.
    pub updated_by: Option<String>,
}

/// The environment as the platform reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentState {
    /// Public front-door URL.
    pub endpoint: String,
    /// Current routing.
    pub routing: RoutingTable,
    /// Blue and green.
    pub colors: BTreeMap<Color, ColorState>,
    /// The definition the platform holds (for import and drift).
    pub spec: Option<TargetSpec>,
    /// Why the front door accepts no connections; `None` while it serves.
    pub front_door_down: Option<String>,
}

impl EnvironmentState {
    /// The state of `color` (stopped when the platform reports nothing).
    pub fn color(&self, color: Color) -> ColorState {
        self.colors.get(&color).cloned().unwrap_or(ColorState {
            version: None,
            phase: ColorPhase::Stopped,
            address: None,
            instance_id: None,
            restarts: 0,
            last_exit: None,
            log_tail: Vec::new(),
            outdated: false,
            connections: None,
        })
    }
    /// The live (primary) colour.
    pub fn live_color(&self) -> Option<Color> {
        self.routing.primary
    }
    /// The version the live colour runs.
    pub fn live_version(&self) -> Option<String> {
        self.live_color().and_then(|c| self.color(c).version)
    }
}

/// How the platform should run an environment (platform-specific parts inside).
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    /// Local processes behind the local front door.
    Local {
        /// Command template with `{port}`, `{version}`, `{color}`.
        command: Vec<String>,
        /// Extra environment variables.
        env: BTreeMap<String, String>,
        /// Front-door listen address.
        listen: String,
        /// Drain time for a retired colour.
        drain_timeout: Duration,
        /// Time a colour has to answer through the front door before a `504`.
        upstream_timeout: Duration,
        /// Pass clients' `X-Forwarded-*` headers on instead of replacing them.
        trust_forwarded_headers: bool,
        /// The health check's path, which the daemon asks each running colour to show
        /// the application's own checks (not part of how a colour runs).
        health_path: Option<String>,
    },
    /// A Container App's `blue`/`green` revision labels behind a Front Door route.
    Azure {
        /// The resources acted on.
        target: azure::AzureTarget,
        /// Container to set the image of; None = the template's only container (error if several).
        container_name: Option<String>,
        /// Image with a `{version}` placeholder, e.g. "myregistry.azurecr.io/orders:{version}".
        image: String,
        /// Path the propagation probe asks on the edge (the health check's path).
        probe_path: String,
    },
}

impl TargetSpec {
    /// Whether both start the same program the same way (command and env):
    /// what decides if a running colour is still what the user declared.
    pub fn same_program(&self, other: &TargetSpec) -> bool {
        match (self, other) {
            (
                TargetSpec::Local {
                    command: a_command,
                    env: a_env,
                    ..
                },
                TargetSpec::Local {
                    command: b_command,
                    env: b_env,
                    ..
                },
            ) => a_command == b_command && a_env == b_env,
            (
                TargetSpec::Azure {
                    image: a_image,
                    container_name: a_container,
                    ..
                },
                TargetSpec::Azure {
                    image: b_image,
                    container_name: b_container,
                    ..
                },
            ) => a_image == b_image && a_container == b_container,
            _ => false,
        }
    }
}

/// Front-door metrics of a colour over a window. Zero requests here is a
/// measured zero; a platform without figures for the window yet answers
/// `None` from [`Platform::metrics`] instead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Requests.
    pub requests: u64,
    /// Responses with 5xx status.
    pub errors: u64,
    /// errors / requests.
    pub error_rate: f64,
    /// Response time, in the statistic the platform has; `None` without requests.
    pub latency: Option<Latency>,
}

/// A response-time figure and which statistic it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Milliseconds.
    pub ms: f64,
    /// What the figure is.
    pub statistic: LatencyStatistic,
}

/// The statistic a latency figure is: the 95th percentile where the platform
/// has it (locally), the mean where that is all it has (Azure Monitor's
/// Front Door latency metrics are averages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyStatistic {
    /// 95th percentile.
    P95,
    /// Mean.
    Average,
}

impl LatencyStatistic {
    /// Its name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyStatistic::P95 => "p95",
            LatencyStatistic::Average => "average",
        }
    }
}

impl std::fmt::Display for LatencyStatistic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A held environment lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The owner string that was granted the lock.
    pub owner: String,
}

/// A platform that runs blue-green environments.
///
/// Every call gets the environment's handle ([`EnvironmentRef`]) and must work
/// on its own: `status`, `delete`, `lock` and the rest are called by a fresh
/// provider process (read, import, destroy, a later apply) that never called
/// `define`, so a platform keeps nothing between calls that a handle does not
/// carry or that it cannot find again on the platform itself.
#[async_trait]
pub trait Platform: Send + Sync {
    /// How often the engine reads this platform's state while it waits
    /// (readiness, propagation, the watch's and a canary step's samples): the
    /// local daemon answers in microseconds (100 ms); a cloud platform with
    /// read quotas wants 1 s or more.
    fn poll_interval(&self) -> Duration;
    /// How far the routing at `revision` has spread. A cloud front door accepts
    /// a change first and its locations follow one by one; the engine polls
    /// this (at [`Platform::poll_interval`]) after every routing write and
    /// starts the watch only once it is [`Propagation::Complete`]. Local: complete
    /// at once.
    async fn propagation(
        &self,
        environment: &EnvironmentRef,
        revision: &RoutingRevision,
    ) -> Result<Propagation, PlatformError>;
    /// The handle of environment `name` from what the platform holds, with no
    /// configuration at hand: import, and resources that name an environment
    /// without its target block. Locally the name is the handle; a cloud
    /// platform finds its ids where it kept them (tags). Existence is `status`'s
    /// question, not this one's.
    async fn locate(&self, name: &str) -> Result<EnvironmentRef, PlatformError>;
    /// Creates or updates the environment's definition (idempotent).
    async fn define(
        &self,
        environment: &EnvironmentRef,
        spec: &TargetSpec,
        lease: &Lease,
    ) -> Result<(), PlatformError>;
    /// The environment's state; `None` when it does not exist.
    async fn status(
        &self,
        environment: &EnvironmentRef,
    ) -> Result<Option<EnvironmentState>, PlatformError>;
    /// `color` as the engine's readiness wait reads it after a deploy, every
    /// poll: its version, phase, address and crash details; `None` when the
    /// environment does not exist. The default is that colour of
    /// [`Platform::status`]; a platform whose reads are counted answers from
    /// what the colour alone needs (Azure: the revision its deploy named, one
    /// GET instead of a status's three).
    async fn readiness(
        &self,
        environment: &EnvironmentRef,
        color: Color,
    ) -> Result<Option<ColorState>, PlatformError> {
        Ok(self.status(environment).await?.map(|s| s.color(color)))
    }
    /// Starts `version` on `color` (replacing what ran there).
    async fn deploy(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        version: &str,
        lease: &Lease,
    ) -> Result<(), PlatformError>;
    /// Stops a colour that receives no traffic.
    async fn stop(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        lease: &Lease,
    ) -> Result<(), PlatformError>;
    /// Replaces the whole routing table atomically; fails with `Conflict`
    /// when the revision is no longer `change.if_revision`. Returns the new revision.
    async fn route(
        &self,
        environment: &EnvironmentRef,
        change: RouteChange,
        lease: &Lease,
    ) -> Result<RoutingRevision, PlatformError>;
    /// Front-door metrics of `color` between two unix-ms instants; `None`
    /// when the platform has no figures for the window yet (a cloud
    /// platform's ingestion delay), which the engine judges as neither zero
    /// traffic nor healthy.
    async fn metrics(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        since_ms: u64,
        until_ms: u64,
    ) -> Result<Option<Metrics>, PlatformError>;
    /// Takes the environment lock for `owner`.
    async fn lock(
        &self,
        environment: &EnvironmentRef,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, PlatformError>;
    /// Extends a lock this run holds for another `ttl`.
    async fn renew(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<(), PlatformError>;
    /// Releases the lock.
    async fn unlock(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError>;
    /// Routes nothing, stops what the platform owns, forgets the environment.
    async fn delete(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError>;
    /// Shows a release's progress where people watch the platform, as it
    /// happens: each phase, each step, the watch's figures once per poll, and
    /// how it ended. It cannot fail a release: the engine gives it a short
    /// timeout ([`crate::rollout::progress::REPORT_TIMEOUT`]) and a platform logs
    /// its own errors (`tracing::warn`) instead of returning them. The local
    /// daemon keeps the last releases for `bluegreen-local status`. The default
    /// keeps nothing, and Azure keeps the default: it has no place for it (the
    /// apply's log and Terraform state carry the steps).
    async fn report_progress(&self, environment: &EnvironmentRef, event: &ReleaseEvent) {
        let _ = (environment, event);
    }
}

/// How far a routing change has spread over the front door's locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Every location serves it.
    Complete,
    /// Some locations still serve an older routing.
    Pending {
        /// Locations that serve it.
        converged: u32,
        /// All locations.
        locations: u32,
    },
}

/// A complete new routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteChange {
    /// Colour receiving all other traffic.
    pub primary: Option<Color>,
    /// Canary, if any.
    pub canary: Option<CanaryRoute>,
    /// New tenant header; `None` keeps the current one.
    pub tenant_header: Option<String>,
    /// Apply only if the routing is still at this revision.
    pub if_revision: RoutingRevision,
    /// Why, for the audit trail.
    pub reason: RouteReason,
}

impl RouteChange {
    /// All traffic to `primary`, no canary.
    pub fn all_to(primary: Color, if_revision: RoutingRevision, reason: RouteReason) -> Self {
        Self {
            primary: Some(primary),
            canary: None,
            tenant_header: None,
            if_revision,
            reason,
        }
    }
}

/// Why routing changes, for the platform's audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// A release moves traffic to the new colour.
    Switch,
    /// Automatic or requested rollback.
    Rollback,
    /// Canary/tenant routing change.
    Route,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
