//! The front door's HTTP/1.1 leg to colour processes, with a pool of idle connections.
//!
//! Purpose-built rather than hyper's client: the front door only ever talks HTTP/1.1 to
//! one loopback port per colour, one request at a time per connection, so the task that
//! serves the client can write the request and read the answer on the upstream socket
//! itself. hyper's client runs every connection as a task of its own, fed through a
//! channel, with a second channel for the body; that cost 43% of the front door's
//! instructions per request (callgrind, BENCHMARKS.md §3b). The client leg
//! (`downstream/`) encodes the request head; this leg writes it, streams the body, and
//! filters the answer's head straight into the client leg's output buffer.
//!
//! What it covers (tests: here and `local/tests/upstream_protocol.rs`): `Content-Length`,
//! chunked and close-delimited bodies, HEAD / 204 / 304, interim 1xx answers (skipped),
//! `Connection: close`, request bodies by length or re-chunked, idle connections the
//! colour closed (a request that cannot have been processed is retried once, fresh), and
//! a `101` to an upgrade request, whose connection is handed over whole for a tunnel
//! (`tunnel.rs`, tests in `local/tests/websocket.rs`).

mod body;
mod request;
mod response;

use std::io;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub use body::UpstreamBody;
pub use request::{BodyError, Outgoing, RequestBody};
pub(crate) use response::parse_content_length;
pub use response::{Framing, Head, HeadError};

use super::head::Span;
use super::read::{self, READ_BUFFER};
use super::workers;

/// Idle connections kept per colour; more than the busiest client fan-in we expect.
const MAX_IDLE: usize = 1024;
/// Connecting to a loopback port either works at once or not at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pooled connections tried for one request before a fresh one: several can have been
/// closed together (a colour restarting drops them all).
const REUSE_ATTEMPTS: usize = 4;

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
        source: io::Error,
    },
    /// Writing the request or reading the answer failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The request body could not be passed on.
    #[error("{0}")]
    Body(#[from] BodyError),
    /// The answer was not valid HTTP/1.1.
    #[error("{0}")]
    Head(#[from] HeadError),
    /// No answer head within the environment's `upstream_timeout`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl UpstreamError {
    /// Whether the colour could not be reached at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect { .. })
    }

    /// Whether the colour did not answer in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, UpstreamError::Timeout(_))
    }

    /// Whether the client, not the colour, broke the exchange (it went away or sent a
    /// malformed body).
    pub fn is_client(&self) -> bool {
        matches!(
            self,
            UpstreamError::Body(BodyError::Client(_) | BodyError::Malformed(_))
        )
    }

    /// Whether the client sent a body that is not valid chunked framing (a 400).
    pub fn is_malformed_body(&self) -> bool {
        matches!(self, UpstreamError::Body(BodyError::Malformed(_)))
    }
}

/// A colour's connection after it switched protocols, for a tunnel.
#[derive(Debug)]
pub struct Tunnelled {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes the colour sent after its `101`, for the client.
    pub early: BytesMut,
}

/// An open connection to a colour, between requests or during one.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    /// Bytes read from the colour and not yet consumed.
    buf: BytesMut,
    /// Header positions while parsing an answer; kept for the same reason.
    spans: Vec<Span>,
}

impl Conn {
    /// Reads what the socket has into the buffer; `Ok(0)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        read::poll_fill(&self.stream, &mut self.buf, cx)
    }

    async fn fill(&mut self) -> io::Result<usize> {
        read::fill(&self.stream, &mut self.buf).await
    }
}

#[derive(Default)]
struct Idle {
    port: u16,
    conns: Vec<Conn>,
}

/// Idle connections of one colour, for the port it currently runs on: one share per
/// front door worker thread, so that a connection is only ever used on the thread whose
/// runtime drives its socket (plus one share for any other thread).
pub struct Pool {
    shares: Box<[Mutex<Idle>]>,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            shares: (0..=workers::count()).map(|_| Mutex::default()).collect(),
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    fn share(&self) -> &Mutex<Idle> {
        let last = self.shares.len() - 1;
        &self.shares[workers::current().map_or(last, |w| w.min(last))]
    }

    fn take(&self, port: u16) -> Option<Conn> {
        let mut idle = self.share().lock().unwrap_or_else(|p| p.into_inner());
        if idle.port != port {
            // The colour was redeployed on a new port: old connections are useless.
            idle.conns.clear();
            idle.port = port;
        }
        idle.conns.pop()
    }

    /// Returns a connection whose previous exchange is complete.
    pub fn put(&self, port: u16, conn: Conn) {
        let mut idle = self.share().lock().unwrap_or_else(|p| p.into_inner());
        if idle.port == port && idle.conns.len() < MAX_IDLE {
            idle.conns.push(conn);
        }
    }

    /// Sends `req` to `127.0.0.1:port`, then `body` if there is one, and reads the head of
    /// the answer, writing it (filtered, without its final empty line) into `answer_head`.
    /// The body is read by the returned [`UpstreamBody`]. The colour has `answer_timeout`
    /// from the end of the request to the end of its answer's head. When the body came whole with
    /// the head (the common case) the connection is back in the pool already; otherwise
    /// the caller returns it once the body is read ([`UpstreamBody::take_reusable`]).
    pub async fn send<B: RequestBody>(
        &self,
        port: u16,
        req: Outgoing<'_>,
        mut body: Option<&mut B>,
        answer_head: &mut Vec<u8>,
        answer_timeout: Duration,
    ) -> Result<(Head, UpstreamBody), UpstreamError> {
        let retriable = req.idempotent && body.is_none();
        let mut reuse_attempts = 0;
        loop {
            let pooled = if reuse_attempts < REUSE_ATTEMPTS {
                self.take(port)
            } else {
                None
            };
            let reused = pooled.is_some();
            let mut conn = match pooled {
                Some(c) => c,
                None => connect(port).await?,
            };
            // Also for a request that may be retried: stray bytes on an idle connection
            // mean the colour and the front door disagree on framing, and whatever is
            // sent on it next would get someone else's answer.
            if reused && !still_open(&mut conn) {
                reuse_attempts += 1;
                continue;
            }
            let wrote = conn.stream.write_all(req.head).await;
            if let Err(e) = wrote {
                if reused && retriable {
                    reuse_attempts += 1;
                    continue;
                }
                return Err(e.into());
            }
            if let Some(b) = body.take() {
                b.write_to(&mut conn.stream).await?;
            }
            let answer = tokio::time::timeout(
                answer_timeout,
                read_head(&mut conn, req.is_head, req.upgrade, answer_head),
            )
            .await
            // The connection goes with the error: its answer may still come, for no one.
            .map_err(|_| UpstreamError::Timeout(answer_timeout))?;
            match answer {
                Ok(head) => {
                    let body = UpstreamBody::new(conn, head.framing, head.keep_alive, |c| {
                        self.put(port, c)
                    });
                    return Ok((head, body));
                }
                // Closed before a single byte of answer: the colour had dropped the idle
                // connection, and never saw this request.
                Err(ReadHeadError::ClosedBeforeAnswer(_)) if reused && retriable => {
                    reuse_attempts += 1;
                }
                Err(ReadHeadError::ClosedBeforeAnswer(e)) | Err(ReadHeadError::Io(e)) => {
                    return Err(e.into())
                }
                Err(ReadHeadError::Head(e)) => return Err(e.into()),
            }
        }
    }
}

enum ReadHeadError {
    ClosedBeforeAnswer(io::Error),
    Io(io::Error),
    Head(HeadError),
}

async fn read_head(
    conn: &mut Conn,
    is_head: bool,
    upgrade: bool,
    answer_head: &mut Vec<u8>,
) -> Result<Head, ReadHeadError> {
    let mut received = 0usize;
    loop {
        if received > 0 {
            if let Some(head) = response::parse(
                &mut conn.buf,
                is_head,
                upgrade,
                &mut conn.spans,
                answer_head,
            )
            .map_err(ReadHeadError::Head)?
            {
                return Ok(head);
            }
        }
        match conn.fill().await {
            Ok(0) if received == 0 => {
                return Err(ReadHeadError::ClosedBeforeAnswer(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the colour closed the connection without answering",
                )))
            }
            Ok(0) => {
                return Err(ReadHeadError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the colour closed the connection in the middle of its response head",
                )))
            }
            Ok(n) => received += n,
            Err(e) if received == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(ReadHeadError::ClosedBeforeAnswer(e))
            }
            Err(e) => return Err(ReadHeadError::Io(e)),
        }
    }
}

/// Whether a pooled connection still looks open, with nothing waiting on it (no end of
/// stream, no stray bytes). At most one non-blocking read, none when the socket has had
/// no event since its last read; the rare race left is the one every HTTP/1.1 client has.
fn still_open(conn: &mut Conn) -> bool {
    let mut probe = [0u8; 1];
    matches!(conn.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

async fn connect(port: u16) -> Result<Conn, UpstreamError> {
    let connect_err = |source| UpstreamError::Connect { port, source };
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)),
    )
    .await
    .map_err(|_| connect_err(io::ErrorKind::TimedOut.into()))?
    .map_err(connect_err)?;
    let _ = stream.set_nodelay(true);
    Ok(Conn {
        stream,
        buf: BytesMut::with_capacity(READ_BUFFER),
        spans: Vec::with_capacity(32),
    })
}
