//! The daemon: owns the environments, persists their state, audits changes.

mod environment;
mod error;
mod health;
mod lifecycle;
mod listen;
mod ops;
mod refusals;
mod releases;
mod restore;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

pub use environment::{header_name, ColorSlot, Env, EnvData};
pub use error::DaemonError;
pub use refusals::Refusal;
pub use releases::{MAX_RELEASES, MAX_STEPS};

use crate::api::{AuditAction, AuditEntry, Color, DaemonHealth, EnvironmentStatus, Outcome};
use crate::audit::AuditLog;
use crate::process::ports::PortAllocator;
use crate::process::procfs;
use crate::process::supervisor::{EventSink, Launch, ProcEvent};
use crate::state::store::Store;
use crate::state::{PersistedColor, PersistedEnvironment, PersistedState, FORMAT};
use crate::time::{now_ms, rfc3339};

/// Grace between SIGTERM and SIGKILL when stopping a colour.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A change reported by a supervisor, handled off the supervisor's task.
#[derive(Debug)]
struct Notice {
    environment: String,
    color: Color,
    event: ProcEvent,
    version: String,
}

/// Handle to the running daemon; cheap to clone.
#[derive(Debug, Clone)]
pub struct Daemon {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state_dir: PathBuf,
    token: String,
    started_at_ms: u64,
    store: Store,
    save_lock: tokio::sync::Mutex<()>,
    audit: AuditLog,
    envs: RwLock<BTreeMap<String, Arc<Env>>>,
    define_lock: tokio::sync::Mutex<()>,
    next_revision: AtomicU64,
    ports: PortAllocator,
    notices: mpsc::UnboundedSender<Notice>,
    /// Set once the state belongs to a successor daemon: this one no longer writes it.
    handed_over: AtomicBool,
    /// Woken when `bluegreen-local stop` has stopped everything and the daemon should exit.
    exit: tokio::sync::Notify,
    refusals: std::sync::Mutex<refusals::RefusalLimiter>,
    /// The last releases per environment, as the provider reports them.
    releases: releases::Releases,
    /// Serialises writes of `releases.json` (apart from `save_lock`: routing writes
    /// never wait for the history).
    releases_write: tokio::sync::Mutex<()>,
}

impl Daemon {
    /// Opens the state directory, restores environments (adopting or respawning their
    /// colour processes, installing their routing) and starts their front doors.
    pub async fn open(state_dir: &Path, token: String) -> Result<Self, DaemonError> {
        Self::open_with(state_dir, token, BTreeMap::new()).await
    }

    /// [`Daemon::open`] serving front doors on the listening sockets handed over by the
    /// daemon this one replaces (by environment name) where their addresses still match.
    pub async fn open_with(
        state_dir: &Path,
        token: String,
        inherited: BTreeMap<String, std::net::TcpListener>,
    ) -> Result<Self, DaemonError> {
        let store = Store::new(state_dir);
        store.secure()?;
        let persisted = store.load()?;
        let audit = AuditLog::open(&state_dir.join("audit.log"))?;
        let (releases, releases_changed) =
            releases::Releases::new(crate::state::releases::load(state_dir), |name| {
                persisted.environments.contains_key(name)
            });
        let (tx, rx) = mpsc::unbounded_channel();
        let daemon = Daemon {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_owned(),
                token,
                started_at_ms: now_ms(),
                store,
                save_lock: tokio::sync::Mutex::new(()),
                audit,
                envs: RwLock::new(BTreeMap::new()),
                define_lock: tokio::sync::Mutex::new(()),
                next_revision: AtomicU64::new(persisted.next_revision.max(1)),
                ports: PortAllocator::default(),
                notices: tx,
                handed_over: AtomicBool::new(false),
                exit: tokio::sync::Notify::new(),
                refusals: Default::default(),
                releases,
                releases_write: tokio::sync::Mutex::new(()),
            }),
        };
        tokio::spawn(handle_notices(Arc::downgrade(&daemon.inner), rx));
        tokio::spawn(releases::write_changes(
            Arc::downgrade(&daemon.inner),
            releases_changed,
        ));
        daemon.restore(persisted, inherited).await;
        daemon.save().await?;
        Ok(daemon)
    }

    /// The admin API token.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// `GET /v1/health` answer.
    pub fn health(&self) -> DaemonHealth {
        DaemonHealth {
            status: "ok".into(),
            service: "bluegreen-local".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            state_dir: self.inner.state_dir.display().to_string(),
            started_at: rfc3339(self.inner.started_at_ms),
        }
    }

    /// All environments.
    pub fn list(&self) -> Vec<EnvironmentStatus> {
        self.envs().iter().map(|e| e.status()).collect()
    }

    /// One environment.
    pub fn get(&self, name: &str) -> Result<EnvironmentStatus, DaemonError> {
        Ok(self.env(name)?.status())
    }

    /// Reads the audit log.
    pub fn audit_entries(
        &self,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, DaemonError> {
        Ok(self.inner.audit.read(environment, limit)?)
    }

    /// The newest audit entries (at most [`crate::audit::RECENT`]), oldest first,
    /// without reading the log file.
    pub fn recent_audit(&self, limit: usize) -> Vec<AuditEntry> {
        self.inner.audit.recent(limit)
    }

    /// Appends a client-supplied audit entry (e.g. a gate result from the provider).
    pub fn record_audit(&self, entry: AuditEntry) -> Result<AuditEntry, DaemonError> {
        if entry.environment.is_empty() || entry.actor.is_empty() {
            return Err(DaemonError::Invalid(
                "an audit entry needs `actor` and `environment`".into(),
            ));
        }
        Ok(self.inner.audit.append(entry)?)
    }

    fn envs(&self) -> Vec<Arc<Env>> {
        self.inner
            .envs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn env(&self, name: &str) -> Result<Arc<Env>, DaemonError> {
        self.inner
            .envs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| DaemonError::NotFound(name.to_owned()))
    }

    fn next_revision(&self) -> u64 {
        self.inner.next_revision.fetch_add(1, Ordering::SeqCst)
    }

    fn sink(&self, environment: &str, color: Color, version: &str) -> EventSink {
        let tx = self.inner.notices.clone();
        let environment = environment.to_owned();
        let version = version.to_owned();
        Arc::new(move |_launch: &Launch, event: &ProcEvent| {
            let _ = tx.send(Notice {
                environment: environment.clone(),
                color,
                event: event.clone(),
                version: version.clone(),
            });
        })
    }

    fn audit(&self, entry: AuditEntry) {
        if let Err(e) = self.inner.audit.append(entry) {
            tracing::error!("{e}");
        }
    }

    /// The persisted form of everything.
    fn snapshot(&self) -> PersistedState {
        let mut environments = BTreeMap::new();
        for env in self.envs() {
            let data = env.data();
            let colors = [0, 1].map(|i| persisted_color(&data.colors[i]));
            environments.insert(
                env.name.clone(),
                PersistedEnvironment {
                    spec: data.spec.clone(),
                    // A routing write being saved goes to disk first: durable before effective.
                    routing: data
                        .pending_routing
                        .as_ref()
                        .unwrap_or(&data.routing)
                        .clone(),
                    lock: data.lock.clone(),
                    colors,
                },
            );
        }
        PersistedState {
            format: FORMAT,
            next_revision: self.inner.next_revision.load(Ordering::SeqCst),
            environments,
        }
    }

    /// Persists the current state atomically.
    async fn save(&self) -> Result<(), DaemonError> {
        let _guard = self.inner.save_lock.lock().await;
        if self.inner.handed_over.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Taken under the save lock so a later snapshot is never overwritten by an older one.
        let snapshot = self.snapshot();
        self.write(snapshot).await
    }

    async fn write(&self, snapshot: PersistedState) -> Result<(), DaemonError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.save(&snapshot))
            .await
            .map_err(|e| DaemonError::Internal(format!("state writer: {e}")))??;
        Ok(())
    }
}

fn persisted_color(slot: &ColorSlot) -> PersistedColor {
    let Some(l) = &slot.launch else {
        return PersistedColor::default();
    };
    let s = slot.supervisor.as_ref().map(|s| s.snapshot());
    PersistedColor {
        version: slot.version.clone(),
        argv: l.argv.clone(),
        env: l.env.clone(),
        port: Some(l.port),
        pid: s.as_ref().and_then(|s| s.pid),
        pid_start_time: s.as_ref().and_then(|s| s.pid).and_then(procfs::start_time),
        log_path: Some(l.log_path.clone()),
        deployed_at_ms: slot.deployed_at_ms,
        given_up: s
            .as_ref()
            .filter(|s| s.given_up)
            .and_then(|s| s.last_exit.clone()),
        restarts: s.map(|s| s.restarts).unwrap_or(0),
    }
}

fn crash_entry(n: &Notice, message: String) -> AuditEntry {
    AuditEntry {
        time: String::new(),
        actor: "daemon".into(),
        environment: n.environment.clone(),
        action: AuditAction::Crash,
        from_version: Some(n.version.clone()),
        to_version: None,
        from_color: Some(n.color),
        to_color: None,
        revision: None,
        outcome: Outcome::Failed,
        message,
    }
}

/// Persists pid changes and audits crashes reported by supervisors.
async fn handle_notices(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Notice>) {
    while let Some(first) = rx.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let daemon = Daemon { inner };
        let mut dirty = false;
        let mut batch = vec![first];
        // Coalesce bursts (a crash loop, a restore) into one write.
        while let Ok(n) = rx.try_recv() {
            batch.push(n);
        }
        for n in batch {
            match &n.event {
                ProcEvent::Spawned { .. } => dirty = true,
                ProcEvent::Crashed {
                    exit,
                    restart_in,
                    in_a_row,
                } => {
                    dirty = true;
                    // A crash loop is audited at 1, 2, 4, 8… crashes in a row, not at
                    // every restart: the log stays readable through a long outage.
                    if in_a_row.is_power_of_two() {
                        daemon.audit(crash_entry(
                            &n,
                            format!(
                                "colour {} ({}) {exit}; crash {in_a_row} in a row, restarting in {:.1}s",
                                n.color,
                                n.version,
                                restart_in.as_secs_f64()
                            ),
                        ));
                    }
                }
                ProcEvent::GaveUp { exit, in_a_row } => {
                    dirty = true;
                    daemon.audit(crash_entry(
                        &n,
                        format!(
                            "colour {} ({}) {exit}; not restarted after {in_a_row} crashes in a row because it receives no traffic: fix it and deploy again",
                            n.color, n.version
                        ),
                    ));
                }
                ProcEvent::Ready | ProcEvent::Stopped => {}
            }
        }
        if dirty {
            if let Err(e) = daemon.save().await {
                tracing::error!("persisting process change: {e}");
            }
        }
    }
}
