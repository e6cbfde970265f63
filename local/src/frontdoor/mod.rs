//! The front door of one environment: a reverse proxy whose routing table is replaced
//! atomically, with per-colour in-flight counters and metrics.

mod chunked;
mod downstream;
mod forwarding_headers;
mod head;
mod hop_by_hop;
pub mod metrics;
pub mod proxy;
mod read;
pub mod retirement;
mod rng;
pub mod routing;
mod tunnel;
pub mod upstream;
mod workers;

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::http::HeaderName;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Color, ConnectionCounts};
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
    /// Tunnels open to it (connections upgraded by its `101`, WebSocket mostly).
    pub tunnels: AtomicU64,
    /// Upgrade handshakes it answered with `101`.
    pub upgrades_accepted: AtomicU64,
    /// Upgrade handshakes it answered otherwise, or failed to answer (502, 504).
    pub upgrades_refused: AtomicU64,
    /// Sliding-window metrics.
    pub metrics: ColorMetrics,
    /// Idle upstream connections.
    pub pool: upstream::Pool,
    /// When its tunnels must end after a switch took traffic away, and how they ended.
    pub retirement: retirement::Retirement,
}

impl ColorStats {
    /// Its connections now, as the status and metrics APIs report them.
    pub fn connections(&self) -> ConnectionCounts {
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        let open_tunnels = self.tunnels.load(Ordering::Relaxed);
        ConnectionCounts {
            open_connections: in_flight + open_tunnels,
            open_tunnels,
            upgrades_accepted: self.upgrades_accepted.load(Ordering::Relaxed),
            upgrades_refused: self.upgrades_refused.load(Ordering::Relaxed),
            tunnels_drained: self.retirement.drained.load(Ordering::Relaxed),
            tunnels_cut: self.retirement.cut.load(Ordering::Relaxed),
        }
    }
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
    /// Client connections open, so a daemon that hands over or stops knows when the last
    /// one is done.
    pub connections: AtomicU64,
    /// Pass the client's `X-Forwarded-*` headers on (another proxy in front sets them)
    /// instead of replacing them with the front door's own.
    pub trust_forwarded_headers: AtomicBool,
    /// How long a colour may take to answer a request's head, in milliseconds, before
    /// the client gets a `504` (the environment's `upstream_timeout_ms`).
    pub upstream_timeout_ms: AtomicU64,
    /// How long tunnels to a colour stay open after a switch retired it, in
    /// milliseconds (the environment's `drain_timeout_ms`).
    pub drain_timeout_ms: AtomicU64,
}

/// Counts one client connection as open until dropped.
pub(crate) struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    pub(crate) fn enter(shared: &Arc<Shared>) -> Self {
        shared.connections.fetch_add(1, Ordering::AcqRel);
        Self(shared.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a front door is not listening: kept from the first failed bind until one succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// The address it tries to bind.
    pub address: String,
    /// The last bind error.
    pub error: String,
    /// When the first bind failed, unix ms.
    pub since_ms: u64,
    /// Failed binds so far.
    pub attempts: u32,
}

#[derive(Debug)]
struct Listening {
    addr: SocketAddr,
    /// A duplicate of the listening socket, to hand to the next daemon.
    socket: Option<OwnedFd>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// One environment's front door.
#[derive(Debug)]
pub struct FrontDoor {
    shared: Arc<Shared>,
    listening: Mutex<Option<Listening>>,
    outage: Mutex<Option<Outage>>,
    retry: Mutex<Option<JoinHandle<()>>>,
}

impl FrontDoor {
    /// A front door routing nothing and not listening yet.
    pub fn new(environment: &str, tenant_header: HeaderName) -> Self {
        Self {
            shared: Arc::new(Shared {
                environment: environment.to_owned(),
                table: ArcSwap::from_pointee(RoutingTable::empty(tenant_header)),
                stats: [Arc::default(), Arc::default()],
                connections: AtomicU64::new(0),
                trust_forwarded_headers: AtomicBool::new(false),
                upstream_timeout_ms: AtomicU64::new(crate::api::DEFAULT_UPSTREAM_TIMEOUT_MS),
                drain_timeout_ms: AtomicU64::new(crate::api::DEFAULT_DRAIN_TIMEOUT_MS),
            }),
            listening: Mutex::new(None),
            outage: Mutex::new(None),
            retry: Mutex::new(None),
        }
    }

    /// Installs a new table; requests already routed keep their colour. A colour the
    /// table no longer routes to is retired: its open tunnels get the drain timeout to
    /// end; a colour routed again keeps its tunnels.
    pub fn install(&self, table: RoutingTable) {
        let drain = Duration::from_millis(self.shared.drain_timeout_ms.load(Ordering::Relaxed));
        let routed = |color: Color| {
            table.primary.as_ref().is_some_and(|t| t.color == color)
                || table
                    .canary
                    .as_ref()
                    .is_some_and(|c| c.target.color == color)
        };
        let routed = Color::ALL.map(|c| (c, routed(c)));
        self.shared.table.store(Arc::new(table));
        for (color, routed) in routed {
            let retirement = &self.stats(color).retirement;
            if routed {
                retirement.routed();
            } else {
                retirement.retire(drain);
            }
        }
    }

    /// How long tunnels to a colour stay open after a switch retired it (the
    /// environment's `drain_timeout`); applies to the colours retired from now on.
    pub fn set_drain_timeout(&self, timeout: Duration) {
        let ms = timeout.as_millis().min(u128::from(u64::MAX)) as u64;
        self.shared.drain_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether client `X-Forwarded-For`/`-Proto`/`-Host` headers go on to the colours
    /// (the environment's `trust_forwarded_headers`); takes effect from the next request.
    pub fn set_trust_forwarded_headers(&self, trust: bool) {
        self.shared
            .trust_forwarded_headers
            .store(trust, Ordering::Relaxed);
    }

    /// How long a colour may take to answer a request's head before the client gets a
    /// `504` counted against the colour; takes effect from the next request.
    pub fn set_upstream_timeout(&self, timeout: Duration) {
        let ms = timeout.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
        self.shared.upstream_timeout_ms.store(ms, Ordering::Relaxed);
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

    /// A listening socket handed over by the daemon this one replaces, if it listens on
    /// `addr` (the definition may have changed meanwhile).
    pub fn inherit(listener: std::net::TcpListener, addr: &str) -> Option<TcpListener> {
        let wanted: SocketAddr = addr.parse().ok()?;
        if listener.local_addr().ok()? != wanted {
            return None;
        }
        listener.set_nonblocking(true).ok()?;
        TcpListener::from_std(listener).ok()
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
        let socket = match listener.as_fd().try_clone_to_owned() {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!(environment = %self.shared.environment, "cannot keep a copy of the front door socket for an upgrade: {e}");
                None
            }
        };
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(proxy::accept_loop(listener, self.shared.clone(), rx));
        tracing::info!(environment = %self.shared.environment, %addr, "front door listening");
        *lock(&self.outage) = None;
        let old = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(Listening {
                addr,
                socket,
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

    /// A duplicate of the listening socket, for `serve --takeover` (see [`crate::handover`]).
    pub fn listening_socket(&self) -> Option<OwnedFd> {
        let listening = self.listening.lock().unwrap_or_else(|p| p.into_inner());
        let socket = listening.as_ref()?.socket.as_ref()?;
        match socket.try_clone() {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!(environment = %self.shared.environment, "cannot pass on the front door socket: {e}");
                None
            }
        }
    }

    /// Waits until no client connection is open or `timeout` passes; true if none is.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.shared.connections.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Records a failed bind of `address`; returns the outage with its attempt count.
    pub fn record_bind_failure(&self, address: &str, error: &FrontDoorError) -> Outage {
        let mut outage = lock(&self.outage);
        let next = match outage.take() {
            Some(o) if o.address == address => Outage {
                error: error.to_string(),
                attempts: o.attempts.saturating_add(1),
                ..o
            },
            _ => Outage {
                address: address.to_owned(),
                error: error.to_string(),
                since_ms: crate::time::now_ms(),
                attempts: 1,
            },
        };
        *outage = Some(next.clone());
        next
    }

    /// Why the front door is not listening, while a bind keeps failing.
    pub fn outage(&self) -> Option<Outage> {
        lock(&self.outage).clone()
    }

    /// Whether a background task is retrying the bind.
    pub fn retrying(&self) -> bool {
        lock(&self.retry).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Hands over the task that retries the bind; it ends with [`FrontDoor::stop_retrying`].
    pub fn set_retry(&self, task: JoinHandle<()>) {
        if let Some(old) = lock(&self.retry).replace(task) {
            old.abort();
        }
    }

    /// Ends the bind retries (the caller bound the address itself, or everything stops).
    pub async fn stop_retrying(&self) {
        let task = lock(&self.retry).take();
        if let Some(task) = task {
            task.abort();
            // Awaited so a retry caught mid-bind cannot install a listener afterwards.
            let _ = task.await;
        }
    }

    /// Stops accepting and closes connections after their current request.
    pub async fn shutdown(&self) {
        self.stop_retrying().await;
        let old = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(old) = old {
            close(old).await;
        }
    }

    /// Before a retired colour stops: waits until it has no request in flight and no
    /// open tunnel, or `timeout` passes; then closes the tunnels left (counted as cut)
    /// so that they end at the front door rather than by the process dying. True if
    /// everything ended on its own.
    pub async fn drain_color(&self, color: Color, timeout: Duration) -> bool {
        let stats = self.stats(color);
        let deadline = Instant::now() + timeout;
        loop {
            let busy = stats.in_flight.load(Ordering::Acquire) > 0
                || stats.tunnels.load(Ordering::Acquire) > 0;
            if !busy {
                return true;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stats.retirement.cut_now();
        // Closing a socket is immediate: a short wait lets the counts settle.
        let settle = Instant::now() + Duration::from_secs(1);
        while stats.tunnels.load(Ordering::Acquire) > 0 && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn close(l: Listening) {
    let _ = l.shutdown.send(true);
    // The accept loop returns at once; connections finish their request on their own.
    let _ = l.task.await;
}
