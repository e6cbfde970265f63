//! Supervises one deployed colour process: spawn (or adopt), report readiness when its
//! port accepts TCP, restart after crashes with exponential backoff, stop with
//! SIGTERM then SIGKILL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{logs, procfs};
use crate::api::ProcessStatus;
use crate::time::now_ms;

/// First restart delay; doubled per consecutive crash.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest restart delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A process that ran this long before crashing resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Crashes in a row after which a colour that receives no traffic is no longer
/// restarted: a failed release's idle colour would otherwise crash every 30 s forever.
pub const GIVE_UP_AFTER: u32 = 5;

/// Set while this daemon hands its colours to a successor (restart or upgrade): a colour
/// that exits then is left for the successor to restart, or the two daemons would both
/// start one. Process-wide because a handover is.
static RESTARTS_HELD: AtomicBool = AtomicBool::new(false);

/// Holds (or releases) crash restarts of every colour of this daemon.
pub fn hold_restarts(held: bool) {
    RESTARTS_HELD.store(held, Ordering::SeqCst);
}

/// Everything needed to start (or recognise) the process of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// `env/colour version`, for logs.
    pub label: String,
    /// Expanded command line.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Port the process must listen on.
    pub port: u16,
    /// Log file for stdout and stderr.
    pub log_path: PathBuf,
}

/// Observable state of the supervised process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcState {
    /// Life-cycle state.
    pub status: ProcessStatus,
    /// Current pid.
    pub pid: Option<u32>,
    /// Restarts after crashes.
    pub restarts: u32,
    /// Start of the current process, unix ms.
    pub started_at_ms: Option<u64>,
    /// Description of the last unexpected exit.
    pub last_exit: Option<String>,
    /// No longer restarted after crashing [`GIVE_UP_AFTER`] times in a row.
    pub given_up: bool,
}

/// Something the daemon may want to persist or audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    /// A new process was started (a restart when `restarts > 0`).
    Spawned {
        /// Its pid.
        pid: u32,
    },
    /// Its port accepts connections.
    Ready,
    /// It exited unexpectedly and will be restarted.
    Crashed {
        /// How it exited.
        exit: String,
        /// Delay before the restart.
        restart_in: Duration,
        /// Crashes in a row, this one included.
        in_a_row: u32,
    },
    /// It crashed [`GIVE_UP_AFTER`] times in a row while receiving no traffic and is
    /// no longer restarted.
    GaveUp {
        /// How it exited last.
        exit: String,
        /// Crashes in a row.
        in_a_row: u32,
    },
    /// It was stopped on request.
    Stopped,
}

/// Receives [`ProcEvent`]s; must not block.
pub type EventSink = Arc<dyn Fn(&Launch, &ProcEvent) + Send + Sync>;

/// How supervision begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Spawn a new process now; failing to spawn is returned to the caller.
    Spawn,
    /// Watch an existing process started by an earlier daemon.
    Adopt(u32),
    /// Start after a backoff (restoring a process that is gone).
    Respawn,
    /// Do not start: an earlier daemon gave it up after a crash loop (its last exit).
    GivenUp(String),
}

/// Errors starting a process.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command template is empty.
    #[error("the command is empty: set `command` in the environment definition")]
    EmptyCommand,
    /// The log file could not be opened.
    #[error("cannot open log file {path}: {source}")]
    Log {
        /// Log path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be executed.
    #[error("cannot start `{program}`: {source}")]
    Exec {
        /// Program name.
        program: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A supervised process.
pub struct Supervisor {
    launch: Arc<Launch>,
    state: Arc<Mutex<ProcState>>,
    routed: Arc<AtomicBool>,
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("launch", &self.launch)
            .field("state", &self.snapshot())
            .finish_non_exhaustive()
    }
}

enum Proc {
    Child(Child),
    Adopted(u32),
    Gone,
}

impl Supervisor {
    /// Starts supervising; `restarts` carries the count over a daemon restart.
    pub fn start(
        launch: Launch,
        start: Start,
        restarts: u32,
        sink: EventSink,
    ) -> Result<Self, SpawnError> {
        let launch = Arc::new(launch);
        let mut state = ProcState {
            restarts,
            ..ProcState::default()
        };
        let proc = match start {
            Start::Spawn => {
                let child = spawn(&launch)?;
                state.pid = child.id();
                state.status = ProcessStatus::Starting;
                state.started_at_ms = Some(now_ms());
                Proc::Child(child)
            }
            Start::Adopt(pid) => {
                state.pid = Some(pid);
                state.status = ProcessStatus::Starting;
                Proc::Adopted(pid)
            }
            Start::Respawn => {
                state.status = ProcessStatus::Crashed;
                state.last_exit = Some("not running when the daemon started".into());
                Proc::Gone
            }
            Start::GivenUp(last_exit) => {
                state.status = ProcessStatus::Crashed;
                state.last_exit = Some(last_exit);
                state.given_up = true;
                Proc::Gone
            }
        };
        let state = Arc::new(Mutex::new(state));
        // Routed until told otherwise: a colour is never given up before the daemon
        // says it receives no traffic.
        let routed = Arc::new(AtomicBool::new(true));
        let (stop, stop_rx) = watch::channel(None);
        let task = tokio::spawn(run(
            launch.clone(),
            state.clone(),
            routed.clone(),
            stop_rx,
            sink,
            proc,
        ));
        Ok(Self {
            launch,
            state,
            routed,
            stop,
            task,
        })
    }

    /// What it runs.
    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// Current state.
    pub fn snapshot(&self) -> ProcState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Tells the supervisor whether its colour receives traffic: only a colour that
    /// does not is given up after [`GIVE_UP_AFTER`] crashes in a row.
    pub fn set_routed(&self, routed: bool) {
        self.routed.store(routed, Ordering::Relaxed);
    }

    /// Marks the process as stopping (visible in status while a drain runs).
    pub fn mark_stopping(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).status = ProcessStatus::Stopping;
    }

    /// Ends supervision and leaves the process running, for the next daemon to adopt;
    /// the last state stays readable.
    pub fn detach(&self) {
        self.task.abort();
    }

    /// Terminates the process (SIGTERM, then SIGKILL after `grace`) and ends supervision.
    pub async fn stop(self, grace: Duration) -> ProcState {
        let Supervisor {
            launch,
            state,
            stop,
            task,
            ..
        } = self;
        let _ = stop.send(Some(grace));
        if let Err(e) = task.await {
            tracing::error!(label = %launch.label, "supervisor task failed: {e}");
        }
        let snapshot = state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        snapshot
    }
}

fn set(state: &Mutex<ProcState>, f: impl FnOnce(&mut ProcState)) {
    f(&mut state.lock().unwrap_or_else(|p| p.into_inner()));
}

fn backoff(consecutive: u32) -> Duration {
    let factor = 1u32 << consecutive.saturating_sub(1).min(16);
    BACKOFF_START.saturating_mul(factor).min(BACKOFF_MAX)
}

enum Outcome {
    Exited(String),
    Stop(Duration),
}

/// Ends supervision of a crash-looping colour that receives no traffic: it stays
/// `crashed`, with its last exit and log, until it is deployed again or stopped.
async fn give_up(
    launch: &Launch,
    state: &Mutex<ProcState>,
    stop_rx: &mut watch::Receiver<Option<Duration>>,
    sink: &EventSink,
    exit: String,
    in_a_row: u32,
) {
    let note = format!(
        "{exit}; not restarted after {in_a_row} crashes in a row (the colour receives no traffic): fix its command or version and deploy it again"
    );
    logs::mark(&launch.log_path, &note);
    set(state, |s| {
        s.status = ProcessStatus::Crashed;
        s.pid = None;
        s.last_exit = Some(note);
        s.given_up = true;
    });
    sink(launch, &ProcEvent::GaveUp { exit, in_a_row });
    stop_requested(stop_rx).await;
    finish(launch, state, sink);
}

async fn run(
    launch: Arc<Launch>,
    state: Arc<Mutex<ProcState>>,
    routed: Arc<AtomicBool>,
    mut stop_rx: watch::Receiver<Option<Duration>>,
    sink: EventSink,
    mut proc: Proc,
) {
    let mut consecutive = 0u32;
    let gives_up = |in_a_row: u32| in_a_row >= GIVE_UP_AFTER && !routed.load(Ordering::Relaxed);
    // Given up before this daemon started: a restart of the daemon is no reason to
    // crash-loop again; a new deployment is.
    if state.lock().unwrap_or_else(|p| p.into_inner()).given_up {
        stop_requested(&mut stop_rx).await;
        finish(&launch, &state, &sink);
        return;
    }
    loop {
        if matches!(proc, Proc::Gone) {
            consecutive += 1;
            tokio::select! {
                _ = tokio::time::sleep(backoff(consecutive)) => {}
                _ = stop_requested(&mut stop_rx) => {
                    finish(&launch, &state, &sink);
                    return;
                }
            }
            while RESTARTS_HELD.load(Ordering::SeqCst) {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = stop_requested(&mut stop_rx) => {
                        finish(&launch, &state, &sink);
                        return;
                    }
                }
            }
            match spawn(&launch) {
                Ok(child) => {
                    let pid = child.id();
                    set(&state, |s| {
                        s.pid = pid;
                        s.status = ProcessStatus::Starting;
                        s.started_at_ms = Some(now_ms());
                        s.restarts += 1;
                    });
                    if let Some(pid) = pid {
                        sink(&launch, &ProcEvent::Spawned { pid });
                    }
                    proc = Proc::Child(child);
                }
                Err(e) => {
                    let exit = format!("failed to start: {e}");
                    logs::mark(&launch.log_path, &exit);
                    set(&state, |s| {
                        s.status = ProcessStatus::Crashed;
                        s.last_exit = Some(exit.clone());
                        s.restarts += 1;
                    });
                    let in_a_row = consecutive + 1;
                    if gives_up(in_a_row) {
                        give_up(&launch, &state, &mut stop_rx, &sink, exit, in_a_row).await;
                        return;
                    }
                    sink(
                        &launch,
                        &ProcEvent::Crashed {
                            exit,
                            restart_in: backoff(consecutive + 1),
                            in_a_row,
                        },
                    );
                    continue;
                }
            }
        }
        let began = Instant::now();
        match watch_process(&launch, &mut proc, &state, &mut stop_rx, &sink).await {
            Outcome::Stop(grace) => {
                terminate(&launch, proc, grace).await;
                finish(&launch, &state, &sink);
                return;
            }
            Outcome::Exited(exit) => {
                if began.elapsed() >= STABLE_AFTER {
                    consecutive = 0;
                }
                logs::mark(&launch.log_path, &format!("process {exit}"));
                set(&state, |s| {
                    s.status = ProcessStatus::Crashed;
                    s.pid = None;
                    s.last_exit = Some(exit.clone());
                });
                let in_a_row = consecutive + 1;
                if gives_up(in_a_row) {
                    give_up(&launch, &state, &mut stop_rx, &sink, exit, in_a_row).await;
                    return;
                }
                sink(
                    &launch,
                    &ProcEvent::Crashed {
                        exit,
                        restart_in: backoff(consecutive + 1),
                        in_a_row,
                    },
                );
                proc = Proc::Gone;
            }
        }
    }
}

/// Resolves with the grace period once a stop is requested.
async fn stop_requested(rx: &mut watch::Receiver<Option<Duration>>) -> Duration {
    // The watch guard is dropped here, keeping the supervisor future `Send`.
    let default = Duration::from_secs(10);
    match rx.wait_for(|s| s.is_some()).await {
        Ok(g) => g.unwrap_or(default),
        Err(_) => default,
    }
}

fn finish(launch: &Launch, state: &Mutex<ProcState>, sink: &EventSink) {
    set(state, |s| {
        s.status = ProcessStatus::Stopped;
        s.pid = None;
    });
    sink(launch, &ProcEvent::Stopped);
}

/// Waits for the process to exit or a stop request, marking it running once its
/// port accepts connections.
async fn watch_process(
    launch: &Launch,
    proc: &mut Proc,
    state: &Mutex<ProcState>,
    stop_rx: &mut watch::Receiver<Option<Duration>>,
    sink: &EventSink,
) -> Outcome {
    let mut ready = false;
    let mut probe_every = Duration::from_millis(20);
    loop {
        let probe = async {
            if ready {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(probe_every).await;
        };
        tokio::select! {
            exit = wait_exit(proc) => return Outcome::Exited(exit),
            grace = stop_requested(stop_rx) => return Outcome::Stop(grace),
            _ = probe => {
                if port_accepts(launch.port).await {
                    ready = true;
                    set(state, |s| {
                        if s.status == ProcessStatus::Starting {
                            s.status = ProcessStatus::Running;
                        }
                    });
                    sink(launch, &ProcEvent::Ready);
                } else {
                    probe_every = (probe_every * 2).min(Duration::from_millis(250));
                }
            }
        }
    }
}

async fn port_accepts(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port));
    matches!(
        tokio::time::timeout(Duration::from_millis(500), connect).await,
        Ok(Ok(_))
    )
}

async fn wait_exit(proc: &mut Proc) -> String {
    match proc {
        Proc::Child(child) => match child.wait().await {
            Ok(status) => describe(status),
            Err(e) => format!("exit status unknown ({e})"),
        },
        Proc::Adopted(pid) => {
            let pid = *pid;
            while procfs::is_alive(pid) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            "exited (status unknown: the process was adopted after a daemon restart)".into()
        }
        Proc::Gone => std::future::pending().await,
    }
}

/// `exit status N` or `killed by signal N`.
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "exited".into(),
    }
}

async fn terminate(launch: &Launch, proc: Proc, grace: Duration) {
    let deadline = tokio::time::Instant::now() + grace;
    match proc {
        Proc::Child(mut child) => {
            let Some(pid) = child.id() else { return };
            procfs::signal_group(pid, libc::SIGTERM);
            if tokio::time::timeout_at(deadline, child.wait())
                .await
                .is_err()
            {
                tracing::warn!(label = %launch.label, pid, "did not exit within {grace:?} of SIGTERM; sending SIGKILL");
                procfs::signal_group(pid, libc::SIGKILL);
                let _ = child.wait().await;
            }
            reap_group(pid, deadline).await;
        }
        Proc::Adopted(pid) => {
            procfs::signal_group(pid, libc::SIGTERM);
            while procfs::is_alive(pid) {
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(label = %launch.label, pid, "did not exit within {grace:?} of SIGTERM; sending SIGKILL");
                    procfs::signal_group(pid, libc::SIGKILL);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reap_group(pid, deadline).await;
        }
        Proc::Gone => {}
    }
    logs::mark(&launch.log_path, "stopped");
}

/// Children left in the group after the leader exited (e.g. under `sh -c`) get the
/// rest of the grace period, then SIGKILL.
async fn reap_group(pgid: u32, deadline: tokio::time::Instant) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: signal 0 to a process group only checks for members.
    let members = || unsafe { libc::kill(-pgid, 0) } == 0;
    while members() {
        if tokio::time::Instant::now() >= deadline {
            // SAFETY: kill(2) on our own colour's process group.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn spawn(launch: &Launch) -> Result<Child, SpawnError> {
    let (program, args) = launch.argv.split_first().ok_or(SpawnError::EmptyCommand)?;
    logs::mark(
        &launch.log_path,
        &format!("starting {}: {}", launch.label, launch.argv.join(" ")),
    );
    let log_err = |source| SpawnError::Log {
        path: launch.log_path.clone(),
        source,
    };
    let out = logs::open_append(&launch.log_path).map_err(log_err)?;
    let err = out.try_clone().map_err(log_err)?;
    Command::new(program)
        .args(args)
        .envs(&launch.env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Own process group: terminal signals to the daemon do not reach colours, and a
        // stop reaches the whole tree. Colours outlive a crashed daemon to be adopted.
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
        .map_err(|source| SpawnError::Exec {
            program: program.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(40), BACKOFF_MAX);
    }
}
