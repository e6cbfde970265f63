//! HTTP/1.1 connections to colour processes, and the shared pool of idle ones.
//!
//! A small pool per colour instead of the generic legacy client: the front door only
//! ever talks to one loopback port per colour, so a lock-protected stack of idle
//! connections is all that is needed. Client connections drive the upstream connections
//! they use themselves ([`super::owned`]); the pool holds those left idle when a client
//! connection ended, and hands each, with its driving future, to the next one.

use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::owned::ConnFuture;

/// Idle connections kept per colour; more than the busiest client fan-in we expect.
const MAX_IDLE: usize = 1024;
/// Connecting to a loopback port either works at once or not at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The colour's port refused or timed out.
    #[error("connect to 127.0.0.1:{port}: {source}")]
    Connect {
        /// Port.
        port: u16,
        /// Error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed after the request was sent.
    #[error("{0}")]
    Http(#[from] hyper::Error),
}

impl UpstreamError {
    /// Whether the colour could not be reached at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect { .. })
    }
}

/// An idle connection in the pool. A task keeps driving it, so that a close by the
/// colour is noticed, until a client connection recalls it to drive it itself.
struct Parked {
    sender: SendRequest<Incoming>,
    recall: oneshot::Sender<oneshot::Sender<ConnFuture>>,
}

#[derive(Default)]
struct Idle {
    port: u16,
    parked: Vec<Parked>,
}

/// Idle connections of one colour, for the port it currently runs on.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Idle>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection to `port` and the future that drives it, if one is pooled
    /// and still open.
    pub(crate) async fn take(&self, port: u16) -> Option<(SendRequest<Incoming>, ConnFuture)> {
        loop {
            let parked = {
                let mut idle = self.lock();
                if idle.port != port {
                    // The colour was redeployed on a new port: old connections are useless.
                    idle.parked.clear();
                    idle.port = port;
                }
                idle.parked.pop()?
            };
            let (reply, conn) = oneshot::channel();
            // Either fails when the keeper task has ended: the colour closed the connection.
            if parked.recall.send(reply).is_err() {
                continue;
            }
            if let Ok(conn) = conn.await {
                return Some((parked.sender, conn));
            }
        }
    }

    /// Parks a connection whose previous exchange is complete, with its driving future.
    pub(crate) fn park(&self, port: u16, sender: SendRequest<Incoming>, conn: ConnFuture) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        if idle.parked.is_empty() {
            idle.port = port;
        }
        if idle.port != port || idle.parked.len() >= MAX_IDLE {
            return;
        }
        let (recall, asked) = oneshot::channel();
        tokio::spawn(keep(conn, asked));
        idle.parked.push(Parked { sender, recall });
    }
}

/// Drives a parked connection until it closes or a client connection recalls it.
async fn keep(mut conn: ConnFuture, asked: oneshot::Receiver<oneshot::Sender<ConnFuture>>) {
    tokio::select! {
        () = &mut conn => {}
        asked = asked => {
            if let Ok(reply) = asked {
                let _ = reply.send(conn);
            }
        }
    }
}

/// Opens a connection to `127.0.0.1:port`. The returned future drives it and must be
/// polled (or spawned) for the sender to make progress.
pub(crate) async fn connect(
    port: u16,
) -> Result<(SendRequest<Incoming>, ConnFuture), UpstreamError> {
    let connect_err = |source| UpstreamError::Connect { port, source };
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)),
    )
    .await
    .map_err(|_| connect_err(std::io::ErrorKind::TimedOut.into()))?
    .map_err(connect_err)?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await?;
    let conn = Box::pin(async move {
        if let Err(e) = conn.await {
            tracing::debug!("upstream connection to port {port} ended: {e}");
        }
    });
    Ok((sender, conn))
}
