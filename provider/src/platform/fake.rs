//! An in-memory platform for engine tests: no process, no daemon, scriptable
//! failures. Each colour that runs gets an in-process loopback HTTP listener
//! answering the health gate and smoke tests as scripted, because the gate
//! probes a colour's own address the way it does on a real platform.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{
    CanaryRoute, Color, ColorPhase, ColorState, EnvironmentRef, EnvironmentState, Failure, Latency,
    LatencyStatistic, Lease, LockHeld, Metrics, Platform, PlatformError, Propagation, ReleaseEvent,
    RouteChange, RouteReason, RoutingRevision, RoutingTable, TargetSpec,
};

/// How a colour answers its health path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// `200 {"status":"healthy","version":<deployed version>}`.
    Healthy,
    /// Always this status.
    Failing(u16),
    /// Healthy and 503 in turn: never two healthy answers in a row.
    Flapping,
    /// Accepts the connection and never answers.
    Hang,
}

/// How a deploy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Running at once.
    Ready,
    /// Stays `Starting` for ever.
    NeverReady,
    /// Crashes with this exit and these log lines.
    Crashes {
        /// Exit status text.
        exit: String,
        /// Last log lines.
        log_tail: Vec<String>,
    },
    /// The deploy call itself fails with this platform error (code, request id…).
    Refused(Failure),
}

/// Traffic a colour receives, as the metrics report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Requests per metrics call.
    pub requests: u64,
    /// Latency in ms.
    pub latency_ms: f64,
    /// Which statistic the latency is.
    pub statistic: LatencyStatistic,
    /// From this long after the colour started receiving traffic, half the
    /// requests answer 5xx; `None`: never.
    pub errors_after: Option<Duration>,
    /// For this long after the colour started receiving traffic the platform
    /// has no figures (an ingestion delay); `None`: figures at once.
    pub no_data_for: Option<Duration>,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            requests: 100,
            latency_ms: 10.0,
            statistic: LatencyStatistic::P95,
            errors_after: None,
            no_data_for: None,
        }
    }
}

/// What the fake will do, set by a test before (or while) the engine runs.
#[derive(Debug, Clone)]
pub struct Script {
    /// How a deploy to each colour goes.
    pub rollout: BTreeMap<Color, Rollout>,
    /// How each colour answers its health path.
    pub health: BTreeMap<Color, Health>,
    /// Answers of smoke paths other than the health path: (status, body).
    /// Paths not listed answer `200 ok`.
    pub smoke: HashMap<String, (u16, String)>,
    /// Smoke paths that accept and never answer.
    pub smoke_hangs: Vec<String>,
    /// The health path.
    pub health_path: String,
    /// The WebSocket endpoint: it accepts a handshake, echoes messages and
    /// answers `version` with `{"version": …}`, like the demo app's `/ws`.
    pub websocket_path: String,
    /// Traffic per colour.
    pub traffic: BTreeMap<Color, Traffic>,
    /// Someone else changes the routing right after the next deploy, so the
    /// engine's switch then meets a stale revision.
    pub concurrent_route_after_deploy: bool,
    /// Another run holds the environment lock.
    pub locked_by: Option<String>,
    /// The cadence the platform asks for.
    pub poll_interval: Duration,
    /// Time a routing change takes to reach all of the front door's
    /// [`EDGE_LOCATIONS`] (one after another); `None`: at once.
    pub propagation: Option<Duration>,
    /// The same for rollback writes, when they spread at another pace.
    pub rollback_propagation: Option<Duration>,
    /// Progress reports never return (a daemon that hangs).
    pub progress_hangs: bool,
}

/// Locations of the fake's front door.
pub const EDGE_LOCATIONS: u32 = 3;

impl Default for Script {
    fn default() -> Self {
        Self {
            rollout: BTreeMap::new(),
            health: BTreeMap::new(),
            smoke: HashMap::new(),
            smoke_hangs: Vec::new(),
            health_path: "/health".into(),
            websocket_path: "/ws".into(),
            traffic: BTreeMap::new(),
            concurrent_route_after_deploy: false,
            locked_by: None,
            poll_interval: Duration::from_millis(10),
            propagation: None,
            rollback_propagation: None,
            progress_hangs: false,
        }
    }
}

/// How often the engine read the platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// `propagation` calls.
    pub propagation: u32,
    /// `metrics` calls while the last routing change was still propagating:
    /// figures of a colour that not every location sends traffic to yet.
    pub metrics_while_propagating: u32,
}

/// One state-changing call, as the fake recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `deploy(color, version)`.
    Deploy(Color, String),
    /// `stop(color)`.
    Stop(Color),
    /// `route(...)`: primary, canary, reason.
    Route(Option<Color>, Option<CanaryRoute>, RouteReason),
}

struct FakeColor {
    version: Option<String>,
    phase: ColorPhase,
    address: Option<String>,
    server: Option<JoinHandle<()>>,
    /// When this colour started receiving traffic (primary or canary).
    serving_since: Option<Instant>,
    exit: Option<String>,
    log_tail: Vec<String>,
}

struct Inner {
    script: Script,
    /// Counts routing changes; the revision token is made from it but is no
    /// number (an ETag, as on Azure), so an engine that did arithmetic on
    /// revisions would fail the tests.
    revisions: u64,
    routing: RoutingTable,
    colors: BTreeMap<Color, FakeColor>,
    calls: Vec<Call>,
    /// Every distinct handle a call was made with.
    handles: Vec<EnvironmentRef>,
    /// The last routing write: its revision and when it was accepted.
    /// The last routing write: its revision, when, and how long it takes to spread.
    routed: Option<(RoutingRevision, Instant, Option<Duration>)>,
    /// Reads of state, propagation and metrics.
    reads: Reads,
    probes: BTreeMap<Color, u32>,
    status_reads: u32,
    /// Progress reports, in the order received (a hanging one included).
    progress: Vec<ReleaseEvent>,
}

/// The in-memory platform (its listeners end with the test's runtime). One environment, whatever name it is asked for.
#[derive(Clone)]
pub struct FakePlatform {
    inner: Arc<Mutex<Inner>>,
}

impl FakePlatform {
    /// An environment where `blue` runs `version` and is live (or nothing
    /// runs when `None`), with `script`.
    pub async fn new(live: Option<(Color, &str)>, script: Script) -> Self {
        let colors = Color::ALL
            .into_iter()
            .map(|c| {
                (
                    c,
                    FakeColor {
                        version: None,
                        phase: ColorPhase::Stopped,
                        address: None,
                        server: None,
                        serving_since: None,
                        exit: None,
                        log_tail: Vec::new(),
                    },
                )
            })
            .collect();
        let fake = Self {
            inner: Arc::new(Mutex::new(Inner {
                script,
                revisions: 1,
                routing: RoutingTable {
                    revision: etag(1),
                    primary: None,
                    canary: None,
                    tenant_header: "X-Tenant-ID".into(),
                    updated_by: None,
                },
                colors,
                calls: Vec::new(),
                handles: Vec::new(),
                routed: None,
                reads: Reads::default(),
                probes: BTreeMap::new(),
                status_reads: 0,
                progress: Vec::new(),
            })),
        };
        if let Some((color, version)) = live {
            fake.run(color, version).await;
            let mut inner = fake.lock_inner();
            inner.routing.primary = Some(color);
            if let Some(c) = inner.colors.get_mut(&color) {
                c.serving_since = Some(Instant::now());
            }
        }
        fake
    }

    /// Starts `version` on `color` as if deployed earlier (no call recorded).
    pub async fn run(&self, color: Color, version: &str) {
        let address = self.serve(color).await;
        let mut inner = self.lock_inner();
        if let Some(c) = inner.colors.get_mut(&color) {
            c.version = Some(version.to_string());
            c.phase = ColorPhase::Running;
            c.address = Some(address);
        }
    }

    /// Puts a canary on `color` at `weight` percent (no call recorded).
    pub fn set_canary(&self, color: Color, weight: u8) {
        let mut inner = self.lock_inner();
        inner.routing.canary = Some(CanaryRoute {
            color,
            weight,
            tenants: Vec::new(),
        });
        inner.bump_revision();
        if let Some(c) = inner.colors.get_mut(&color) {
            c.serving_since = Some(Instant::now());
        }
    }

    /// Changes the script while the engine runs.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.lock_inner().script);
    }

    /// The state-changing calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock_inner().calls.clone()
    }

    /// How often the engine read the platform.
    pub fn reads(&self) -> Reads {
        self.lock_inner().reads
    }

    /// The distinct environment handles the platform was called with.
    pub fn handles(&self) -> Vec<EnvironmentRef> {
        self.lock_inner().handles.clone()
    }

    fn saw(&self, environment: &EnvironmentRef) {
        let mut inner = self.lock_inner();
        if !inner.handles.contains(environment) {
            inner.handles.push(environment.clone());
        }
    }

    /// The route writes so far.
    pub fn routes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| matches!(c, Call::Route(..)))
            .collect()
    }

    /// Whether every location serves the last routing write by now.
    pub fn propagated(&self) -> bool {
        self.lock_inner().propagation(None) == Propagation::Complete
    }

    /// The current routing.
    pub fn routing(&self) -> RoutingTable {
        self.lock_inner().routing.clone()
    }

    /// `status()` calls so far: the engine reads state only where it may have changed.
    pub fn status_reads(&self) -> u32 {
        self.lock_inner().status_reads
    }

    /// The progress reports received so far.
    pub fn progress(&self) -> Vec<ReleaseEvent> {
        self.lock_inner().progress.clone()
    }

    /// Health probes `color` answered.
    pub fn probes(&self, color: Color) -> u32 {
        self.lock_inner().probes.get(&color).copied().unwrap_or(0)
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock fails anyway.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A loopback listener answering for `color`; returns its base URL.
    async fn serve(&self, color: Color) -> String {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
            return "http://127.0.0.1:9".into();
        };
        let address = listener
            .local_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        let inner = Arc::clone(&self.inner);
        let server = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let inner = Arc::clone(&inner);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut len = 0;
                    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                        match stream.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => len += n,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..len]).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    if let Some(version) = websocket_version(&inner, color, &path) {
                        serve_websocket(stream, &head, version).await;
                        return;
                    }
                    let Some((status, body)) = answer(&inner, color, &path) else {
                        // Hang: hold the connection open until the client gives up.
                        let _ = stream.read(&mut buf).await;
                        std::future::pending::<()>().await;
                        return;
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        let mut inner = self.lock_inner();
        if let Some(c) = inner.colors.get_mut(&color) {
            if let Some(old) = c.server.replace(server) {
                old.abort();
            }
        }
        address
    }

    fn write_allowed(inner: &Inner, environment: &str, lease: &Lease) -> Result<(), PlatformError> {
        match &inner.script.locked_by {
            Some(owner) if *owner != lease.owner => Err(locked(environment, owner)),
            _ => Ok(()),
        }
    }
}

impl Inner {
    /// How far the last routing write (if it is `revision`) has spread.
    fn propagation(&self, revision: Option<&RoutingRevision>) -> Propagation {
        let Some((routed, at, Some(total))) = &self.routed else {
            return Propagation::Complete;
        };
        let total = *total;
        if revision.is_some_and(|r| r != routed) {
            return Propagation::Complete;
        }
        let per_location = total / EDGE_LOCATIONS;
        let converged = if per_location.is_zero() {
            EDGE_LOCATIONS
        } else {
            (at.elapsed().as_nanos() / per_location.as_nanos()).min(u128::from(EDGE_LOCATIONS))
                as u32
        };
        if converged >= EDGE_LOCATIONS {
            Propagation::Complete
        } else {
            Propagation::Pending {
                converged,
                locations: EDGE_LOCATIONS,
            }
        }
    }

    fn bump_revision(&mut self) {
        self.revisions += 1;
        self.routing.revision = etag(self.revisions);
    }
}

fn etag(n: u64) -> RoutingRevision {
    RoutingRevision::new(format!(
        "W/\"{:016x}\"",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    ))
}

/// The version `color` runs when `path` is the WebSocket endpoint.
fn websocket_version(inner: &Mutex<Inner>, color: Color, path: &str) -> Option<String> {
    let inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    (path == inner.script.websocket_path).then(|| {
        inner
            .colors
            .get(&color)
            .and_then(|c| c.version.clone())
            .unwrap_or_default()
    })
}

/// Switches to WebSocket when `head` asks for it (else `426`), then echoes
/// and answers `version` until the client closes.
async fn serve_websocket(mut stream: tokio::net::TcpStream, head: &str, version: String) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{handshake::derive_accept_key, protocol::Role, Message};
    let key = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    });
    let Some(key) = key else {
        let _ = stream
            .write_all(
                b"HTTP/1.1 426 Upgrade Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let switch = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    if stream.write_all(switch.as_bytes()).await.is_err() {
        return;
    }
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    while let Some(Ok(message)) = ws.next().await {
        let reply = match message {
            Message::Text(t) if t.as_str() == "version" => {
                Message::text(format!(r#"{{"version":"{version}"}}"#))
            }
            Message::Text(_) | Message::Binary(_) => message,
            _ => continue,
        };
        if ws.send(reply).await.is_err() {
            return;
        }
    }
}

/// What `color` answers on `path`; `None` hangs.
fn answer(inner: &Mutex<Inner>, color: Color, path: &str) -> Option<(u16, String)> {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let version = inner
        .colors
        .get(&color)
        .and_then(|c| c.version.clone())
        .unwrap_or_default();
    if path == inner.script.health_path {
        let n = {
            let n = inner.probes.entry(color).or_insert(0);
            *n += 1;
            *n
        };
        let healthy = (
            200,
            format!(r#"{{"status":"healthy","version":"{version}"}}"#),
        );
        return match inner
            .script
            .health
            .get(&color)
            .copied()
            .unwrap_or(Health::Healthy)
        {
            Health::Healthy => Some(healthy),
            Health::Failing(status) => Some((status, r#"{"status":"failing"}"#.into())),
            Health::Flapping if n % 2 == 1 => Some(healthy),
            Health::Flapping => Some((503, r#"{"status":"starting"}"#.into())),
            Health::Hang => None,
        };
    }
    if inner.script.smoke_hangs.iter().any(|p| p == path) {
        return None;
    }
    Some(
        inner
            .script
            .smoke
            .get(path)
            .cloned()
            .unwrap_or((200, "ok".into())),
    )
}

fn locked(environment: &str, owner: &str) -> PlatformError {
    PlatformError::Locked(Box::new(LockHeld {
        environment: environment.to_string(),
        owner: owner.to_string(),
        since: "2026-12-02T15:00:00Z".into(),
        expires_at: "2026-12-02T15:01:00Z".into(),
        expires_in_secs: Some(60),
        unlock_command: None,
    }))
}

#[async_trait]
impl Platform for FakePlatform {
    fn poll_interval(&self) -> Duration {
        self.lock_inner().script.poll_interval
    }

    async fn propagation(
        &self,
        environment: &EnvironmentRef,
        revision: &RoutingRevision,
    ) -> Result<Propagation, PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        inner.reads.propagation += 1;
        Ok(inner.propagation(Some(revision)))
    }

    async fn locate(&self, name: &str) -> Result<EnvironmentRef, PlatformError> {
        Ok(EnvironmentRef::local(name))
    }

    async fn define(
        &self,
        environment: &EnvironmentRef,
        _spec: &TargetSpec,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        Self::write_allowed(&self.lock_inner(), &environment.name, lease)
    }

    async fn status(
        &self,
        environment: &EnvironmentRef,
    ) -> Result<Option<EnvironmentState>, PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        inner.status_reads += 1;
        let colors = inner
            .colors
            .iter()
            .map(|(color, c)| {
                (
                    *color,
                    ColorState {
                        version: c.version.clone(),
                        phase: c.phase,
                        address: c.address.clone(),
                        instance_id: None,
                        restarts: u32::from(c.phase == ColorPhase::Crashed),
                        last_exit: c.exit.clone(),
                        log_tail: c.log_tail.clone(),
                        outdated: false,
                        connections: None,
                    },
                )
            })
            .collect();
        Ok(Some(EnvironmentState {
            endpoint: "http://127.0.0.1:1".into(),
            routing: inner.routing.clone(),
            colors,
            spec: None,
            front_door_down: None,
        }))
    }

    async fn deploy(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        version: &str,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        let rollout = {
            let mut inner = self.lock_inner();
            Self::write_allowed(&inner, &environment.name, lease)?;
            inner.calls.push(Call::Deploy(color, version.to_string()));
            inner
                .script
                .rollout
                .get(&color)
                .cloned()
                .unwrap_or(Rollout::Ready)
        };
        if let Rollout::Refused(failure) = &rollout {
            return Err(PlatformError::Refused(failure.clone()));
        }
        self.run(color, version).await;
        let mut inner = self.lock_inner();
        if let Some(c) = inner.colors.get_mut(&color) {
            match rollout {
                Rollout::Ready | Rollout::Refused(_) => {}
                Rollout::NeverReady => c.phase = ColorPhase::Starting,
                Rollout::Crashes { exit, log_tail } => {
                    c.phase = ColorPhase::Crashed;
                    c.exit = Some(exit);
                    c.log_tail = log_tail;
                }
            }
        }
        if std::mem::take(&mut inner.script.concurrent_route_after_deploy) {
            inner.bump_revision();
            inner.routing.updated_by = Some("another run".into());
        }
        Ok(())
    }

    async fn stop(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        Self::write_allowed(&inner, &environment.name, lease)?;
        inner.calls.push(Call::Stop(color));
        if let Some(c) = inner.colors.get_mut(&color) {
            c.phase = ColorPhase::Stopped;
            c.address = None;
            c.serving_since = None;
            if let Some(s) = c.server.take() {
                s.abort();
            }
        }
        Ok(())
    }

    async fn route(
        &self,
        environment: &EnvironmentRef,
        change: RouteChange,
        lease: &Lease,
    ) -> Result<RoutingRevision, PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        Self::write_allowed(&inner, &environment.name, lease)?;
        if change.if_revision != inner.routing.revision {
            return Err(PlatformError::Conflict {
                environment: environment.name.clone(),
                request_id: Some(format!("fake-{}", inner.calls.len())),
            });
        }
        inner.calls.push(Call::Route(
            change.primary,
            change.canary.clone(),
            change.reason,
        ));
        let now = Instant::now();
        for (color, c) in inner.colors.iter_mut() {
            let serves = change.primary == Some(*color)
                || change.canary.as_ref().is_some_and(|k| k.color == *color);
            match (serves, c.serving_since) {
                (true, None) => c.serving_since = Some(now),
                (false, Some(_)) => c.serving_since = None,
                _ => {}
            }
        }
        inner.routing.primary = change.primary;
        inner.routing.canary = change.canary;
        if let Some(header) = change.tenant_header {
            inner.routing.tenant_header = header;
        }
        inner.bump_revision();
        let spreads_in = match change.reason {
            RouteReason::Rollback => inner
                .script
                .rollback_propagation
                .or(inner.script.propagation),
            _ => inner.script.propagation,
        };
        inner.routed = Some((inner.routing.revision.clone(), Instant::now(), spreads_in));
        inner.routing.updated_by = Some(lease.owner.clone());
        Ok(inner.routing.revision.clone())
    }

    async fn metrics(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        _since_ms: u64,
        _until_ms: u64,
    ) -> Result<Option<Metrics>, PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        if inner.propagation(None) != Propagation::Complete {
            inner.reads.metrics_while_propagating += 1;
        }
        let traffic = inner
            .script
            .traffic
            .get(&color)
            .copied()
            .unwrap_or_default();
        let since = inner.colors.get(&color).and_then(|c| c.serving_since);
        if let Some(delay) = traffic.no_data_for {
            if since.is_none_or(|s| s.elapsed() < delay) {
                return Ok(None);
            }
        }
        let failing = match (traffic.errors_after, since) {
            (Some(after), Some(since)) => since.elapsed() >= after,
            _ => false,
        };
        let errors = if failing { traffic.requests / 2 } else { 0 };
        Ok(Some(Metrics {
            requests: traffic.requests,
            errors,
            error_rate: if traffic.requests == 0 {
                0.0
            } else {
                errors as f64 / traffic.requests as f64
            },
            latency: Some(Latency {
                ms: traffic.latency_ms,
                statistic: traffic.statistic,
            }),
        }))
    }

    async fn lock(
        &self,
        environment: &EnvironmentRef,
        owner: &str,
        _ttl: Duration,
    ) -> Result<Lease, PlatformError> {
        self.saw(environment);
        match &self.lock_inner().script.locked_by {
            Some(holder) if holder != owner => Err(locked(&environment.name, holder)),
            _ => Ok(Lease {
                owner: owner.to_string(),
            }),
        }
    }

    async fn renew(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
        _ttl: Duration,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        Self::write_allowed(&self.lock_inner(), &environment.name, lease)
    }

    async fn unlock(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        Self::write_allowed(&self.lock_inner(), &environment.name, lease)
    }

    async fn report_progress(&self, environment: &EnvironmentRef, event: &ReleaseEvent) {
        self.saw(environment);
        let hangs = {
            let mut inner = self.lock_inner();
            inner.progress.push(event.clone());
            inner.script.progress_hangs
        };
        if hangs {
            std::future::pending::<()>().await;
        }
    }

    async fn delete(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        self.saw(environment);
        let mut inner = self.lock_inner();
        Self::write_allowed(&inner, &environment.name, lease)?;
        inner.routing.primary = None;
        inner.routing.canary = None;
        Ok(())
    }
}
