//! Upstream connections owned by one client connection and driven by its task.
//!
//! With hyper's client every upstream HTTP/1.1 connection is a future that someone must
//! poll. Spawned as a task of its own (the shared pool's way), it makes each proxied
//! request hop between the client connection's task and the upstream connection's task
//! about four times (request hand-off, response head, the body's "want" signal, body
//! data), often across runtime threads: measured, that was the front door's CPU excess
//! over nginx (BENCHMARKS.md, issue 3 (b)). Here the client connection's task polls its
//! upstream connections itself, so those hops become wake-ups of one task on one thread.
//!
//! An HTTP/1.1 client connection has one request in flight at a time, so one upstream
//! connection per colour serves it for its whole life. When it ends, its idle upstream
//! connections move to the colour's shared [`Pool`](super::upstream::Pool), as tasks of
//! their own, for the next client connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::http::{Request, Response};

use super::upstream::{connect, UpstreamError};
use super::ColorStats;

/// Idle connections a client connection keeps: one per colour, plus a spare for the
/// moment a colour is redeployed on a new port.
const MAX_IDLE: usize = 3;

/// An upstream connection's driving future (its errors are logged inside).
pub(crate) type ConnFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An idle connection of a client connection, between two exchanges.
pub(crate) struct Idle {
    pub(crate) port: u16,
    pub(crate) sender: SendRequest<Incoming>,
    /// Which of the driver's futures drives it.
    pub(crate) id: u64,
    /// The colour whose pool takes it when the client connection ends.
    pub(crate) stats: Arc<ColorStats>,
}

#[derive(Default)]
struct Inner {
    idle: Vec<Idle>,
    /// Connections adopted since the driver last looked; it takes them over.
    adopted: Vec<(u64, ConnFuture)>,
    next_id: u64,
    /// Set once the client connection has ended: connections returned late are closed.
    closed: bool,
}

/// A connection lent to one exchange; give it back with [`OwnedUpstreams::put`] once the
/// response body has been read to the end.
#[derive(Debug)]
pub(crate) struct Lease {
    sender: SendRequest<Incoming>,
    port: u16,
    id: u64,
}

/// The upstream connections of one client connection.
#[derive(Default)]
pub(crate) struct OwnedUpstreams {
    // Only ever locked from the client connection's own task; the lock is for `Send`.
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for OwnedUpstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedUpstreams").finish_non_exhaustive()
    }
}

impl OwnedUpstreams {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, port: u16) -> Option<(SendRequest<Incoming>, u64)> {
        let mut inner = self.lock();
        inner.idle.retain(|i| !i.sender.is_closed());
        let at = inner.idle.iter().position(|i| i.port == port)?;
        let idle = inner.idle.swap_remove(at);
        Some((idle.sender, idle.id))
    }

    /// Makes this task the driver of `conn`.
    fn adopt(&self, conn: ConnFuture) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.adopted.push((id, conn));
        id
    }

    /// Returns a connection whose exchange is complete. Beyond [`MAX_IDLE`], or after
    /// the client connection ended, it is closed instead.
    pub(crate) fn put(&self, lease: Lease, stats: &Arc<ColorStats>) {
        if lease.sender.is_closed() {
            return;
        }
        let mut inner = self.lock();
        if !inner.closed && inner.idle.len() < MAX_IDLE {
            inner.idle.push(Idle {
                port: lease.port,
                sender: lease.sender,
                id: lease.id,
                stats: stats.clone(),
            });
        }
    }

    /// Sends `req` (origin-form URI) to `127.0.0.1:port`: on this client connection's
    /// own upstream connection when it has one, else on one adopted from the colour's
    /// shared pool, else on a new one. A request that never left (the idle connection
    /// had been closed) is retried on another connection, so a keep-alive race is not
    /// a failure.
    pub(crate) async fn send(
        &self,
        stats: &Arc<ColorStats>,
        port: u16,
        mut req: Request<Incoming>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        let mut fresh_attempts = 0;
        loop {
            let (mut sender, id) = match self.take(port) {
                Some(own) => own,
                None => match stats.pool.take(port).await {
                    Some((sender, conn)) => (sender, self.adopt(conn)),
                    None => {
                        fresh_attempts += 1;
                        let (sender, conn) = connect(port).await?;
                        (sender, self.adopt(conn))
                    }
                },
            };
            if sender.is_closed() {
                continue;
            }
            if !sender.is_ready() && sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, Lease { sender, port, id })),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if fresh_attempts < 2 => req = unsent,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }

    /// Connections adopted since the last call, for the driver to poll.
    pub(crate) fn take_adopted(&self) -> Vec<(u64, ConnFuture)> {
        let mut inner = self.lock();
        if inner.adopted.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut inner.adopted)
    }

    /// Marks the client connection ended; returns its idle connections and the
    /// connections adopted but not yet driven, so the driver can park the idle ones
    /// with their futures.
    pub(crate) fn close(&self) -> (Vec<Idle>, Vec<(u64, ConnFuture)>) {
        let mut inner = self.lock();
        inner.closed = true;
        (
            std::mem::take(&mut inner.idle),
            std::mem::take(&mut inner.adopted),
        )
    }
}
