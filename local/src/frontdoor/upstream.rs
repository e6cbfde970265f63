//! Pooled HTTP/1.1 connections to colour processes.
//!
//! A small pool per colour instead of the generic legacy client: the front door only
//! ever talks to one loopback port per colour, so a lock-protected stack of idle
//! connections is all that is needed, and it saves the generic pool's bookkeeping on
//! every request.

use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::http::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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

#[derive(Default)]
struct Idle {
    port: u16,
    senders: Vec<SendRequest<Incoming>>,
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
    fn take(&self, port: u16) -> Option<SendRequest<Incoming>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.port != port {
            // The colour was redeployed on a new port: old connections are useless.
            idle.senders.clear();
            idle.port = port;
        }
        idle.senders.pop()
    }

    /// Returns a connection whose previous exchange is complete.
    pub fn put(&self, port: u16, sender: SendRequest<Incoming>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.port == port && idle.senders.len() < MAX_IDLE {
            idle.senders.push(sender);
        }
    }

    /// Sends `req` (origin-form URI) to `127.0.0.1:port`, reusing an idle connection
    /// when one is usable. A request that never left (the idle connection had been
    /// closed) is retried on another connection, so a keep-alive race is not a failure.
    pub async fn send(
        &self,
        port: u16,
        mut req: Request<Incoming>,
    ) -> Result<(Response<Incoming>, SendRequest<Incoming>), UpstreamError> {
        let mut fresh_attempts = 0;
        loop {
            let mut sender = match self.take(port) {
                Some(s) => s,
                None => {
                    fresh_attempts += 1;
                    connect(port).await?
                }
            };
            if sender.is_closed() {
                continue;
            }
            if !sender.is_ready() && sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, sender)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if fresh_attempts < 2 => req = unsent,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }
}

async fn connect(port: u16) -> Result<SendRequest<Incoming>, UpstreamError> {
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
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("upstream connection to port {port} ended: {e}");
        }
    });
    Ok(sender)
}
