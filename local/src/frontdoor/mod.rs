//! The front door of one environment: a reverse proxy whose routing table is replaced
//! atomically, with per-colour in-flight counters and metrics.

mod chunked;
mod downstream;
mod head;
mod hop_by_hop;
pub mod metrics;
pub mod proxy;
mod read;
mod rng;
pub mod routing;
pub mod upstream;
mod workers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::http::HeaderName;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::Color;
use metrics::ColorMetrics;
use routing::RoutingTable;

/// How many threads serve front door connections (one per CPU unless
/// `BLUEGREEN_FRONT_DOOR_THREADS` says otherwise); each keeps its own idle upstream
/// connections.
pub fn worker_threads() -> usize {
    workers::count()
}

/// Live counters of one colour at the front door.
#[derive(Debug, Default)]
pub struct ColorStats {
    /// Requests being proxied to it (until their response body is done).
    pub in_flight: AtomicU64,
    /// Sliding-window metrics.
    pub metrics: ColorMetrics,
    /// Idle upstream connections.
    pub pool: upstream::Pool,
}

/// Errors starting a front door.
#[derive(Debug, thiserror::Error)]
pub enum FrontDoorError {
    /// The listen address is not `IP:PORT`.
    #[error("front door address {0:?} is not IP:PORT (e.g. 127.0.0.1:8080)")]
    BadAddress(String),
    /// Binding failed.
    #[error("front door cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// State shared between the proxy's connection tasks and the daemon.
#[derive(Debug)]
pub struct Shared {
    /// Environment name, for messages.
    pub environment: String,
    /// The current table; replaced whole, read lock-free.
    pub table: ArcSwap<RoutingTable>,
    /// Blue then green.
    pub stats: [Arc<ColorStats>; 2],
}

#[derive(Debug)]
struct Listening {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// One environment's front door.
#[derive(Debug)]
pub struct FrontDoor {
    shared: Arc<Shared>,
    listening: Mutex<Option<Listening>>,
}

impl FrontDoor {
    /// A front door routing nothing and not listening yet.
    pub fn new(environment: &str, tenant_header: HeaderName) -> Self {
        Self {
            shared: Arc::new(Shared {
                environment: environment.to_owned(),
                table: ArcSwap::from_pointee(RoutingTable::empty(tenant_header)),
                stats: [Arc::default(), Arc::default()],
            }),
            listening: Mutex::new(None),
        }
    }

    /// Installs a new table; requests already routed keep their colour.
    pub fn install(&self, table: RoutingTable) {
        self.shared.table.store(Arc::new(table));
    }

    /// The current table.
    pub fn table(&self) -> Arc<RoutingTable> {
        self.shared.table.load_full()
    }

    /// Counters of `color`.
    pub fn stats(&self, color: Color) -> &Arc<ColorStats> {
        &self.shared.stats[color.index()]
    }

    /// Binds `addr` without serving yet, so errors surface before anything changes.
    pub async fn bind(addr: &str) -> Result<TcpListener, FrontDoorError> {
        let parsed: SocketAddr = addr
            .parse()
            .map_err(|_| FrontDoorError::BadAddress(addr.to_owned()))?;
        TcpListener::bind(parsed)
            .await
            .map_err(|source| FrontDoorError::Bind {
                addr: addr.to_owned(),
                source,
            })
    }

    /// Starts serving on `listener`, replacing (and gracefully closing) a previous one.
    pub async fn serve(&self, listener: TcpListener) {
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(environment = %self.shared.environment, "front door listener has no address: {e}");
                return;
            }
        };
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(proxy::accept_loop(listener, self.shared.clone(), rx));
        tracing::info!(environment = %self.shared.environment, %addr, "front door listening");
        let old = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(Listening {
                addr,
                shutdown: tx,
                task,
            });
        if let Some(old) = old {
            close(old).await;
        }
    }

    /// Address being served, if any.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|l| l.addr)
    }

    /// Stops accepting and closes connections after their current request.
    pub async fn shutdown(&self) {
        let old = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(old) = old {
            close(old).await;
        }
    }

    /// Waits until `color` has no in-flight request or `timeout` passes; true if drained.
    pub async fn wait_drained(&self, color: Color, timeout: Duration) -> bool {
        let stats = self.stats(color);
        let deadline = Instant::now() + timeout;
        loop {
            if stats.in_flight.load(Ordering::Acquire) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Polling keeps the hot path free of wake-up bookkeeping; drains are rare.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn close(l: Listening) {
    let _ = l.shutdown.send(true);
    // The accept loop returns at once; connections finish their request on their own.
    let _ = l.task.await;
}
