//! The threads that serve front door connections: one single-threaded runtime per CPU,
//! shared by every front door of the daemon, in the way nginx runs one worker process per
//! CPU. A client connection lives on one worker, and so do the upstream connections it
//! takes from its worker's share of the colour's pool: a request never wakes another
//! thread, and nothing on its path is work-stolen between cores. On the daemon's
//! multi-threaded runtime the front door spent about a fifth more CPU per request than
//! nginx although it executed only 6% more instructions (BENCHMARKS.md §3b).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::mpsc;

/// Work handed to a worker: runs inside the worker's runtime, so it may `tokio::spawn`.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// Overrides the number of worker threads (default: one per CPU); 0 serves connections
/// on the daemon's own multi-threaded runtime instead.
pub const THREADS_ENV: &str = "BLUEGREEN_FRONT_DOOR_THREADS";
/// More threads than this buys nothing for a loopback proxy of one machine.
const MAX_WORKERS: usize = 16;

struct Workers {
    senders: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

thread_local! {
    /// This thread's worker number; `usize::MAX` on threads that are not workers.
    static WORKER: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn workers() -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let wanted = std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(cpus)
            .min(MAX_WORKERS);
        let senders = (0..wanted).filter_map(start).collect();
        Workers {
            senders,
            next: AtomicUsize::new(0),
        }
    })
}

/// Starts worker `index`; `None` (and a warning) if the OS refuses a thread or runtime,
/// in which case its share of connections is served on the caller's runtime.
fn start(index: usize) -> Option<mpsc::UnboundedSender<Job>> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("front door worker {index}: cannot build its runtime: {e}");
            return None;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let spawned = std::thread::Builder::new()
        .name(format!("front-door-{index}"))
        .spawn(move || {
            WORKER.with(|w| w.set(index));
            runtime.block_on(async move {
                while let Some(job) = rx.recv().await {
                    job();
                }
            });
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!("front door worker {index}: cannot start its thread: {e}");
            None
        }
    }
}

/// How many workers run (at least 1 for sizing, even if none could start).
pub(crate) fn count() -> usize {
    workers().senders.len().max(1)
}

/// The worker this thread is, if it is one.
pub(crate) fn current() -> Option<usize> {
    let index = WORKER.with(Cell::get);
    (index != usize::MAX).then_some(index)
}

/// Runs `job` on the next worker in turn, or here if no worker takes it.
pub(crate) fn dispatch(job: Job) {
    let all = workers();
    if all.senders.is_empty() {
        job();
        return;
    }
    let index = all.next.fetch_add(1, Ordering::Relaxed) % all.senders.len();
    if let Err(mpsc::error::SendError(job)) = all.senders[index].send(job) {
        job();
    }
}
