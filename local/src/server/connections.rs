//! The admin API's connections: accepted up to a cap, each served by hyper with the
//! timeouts of [`AdminLimits`], so that clients without the token cannot hold the
//! descriptors, memory or time the front doors and the provider need.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};

use super::error::ApiError;
use super::limits::AdminLimits;

/// The largest request body accepted (axum's default limit, which this replaces).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// At most one warning about refused connections per this period.
const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in progress finish.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    limits: AdminLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = app.layer(middleware::from_fn_with_state(
        limits.stall_timeout,
        read_body_within,
    ));
    // `acquire_many` below takes a u32.
    let max = limits.max_connections.clamp(1, u32::MAX as usize);
    let permits = Arc::new(Semaphore::new(max));
    let refusal = refusal(max);
    let mut last_refusal_log: Option<Instant> = None;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!("admin API accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse(&stream, &refusal);
            if last_refusal_log.is_none_or(|t| t.elapsed() >= REFUSAL_LOG_PERIOD) {
                tracing::warn!(
                    "admin API: {max} connections open, refusing more (latest from {peer}); raise --admin-max-connections if they are legitimate"
                );
                last_refusal_log = Some(Instant::now());
            }
            continue;
        };
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let _ = permits.acquire_many(max as u32).await;
    Ok(())
}

/// The answer to a connection over the cap.
fn refusal(max: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "error": "too_many_connections",
        "message": format!("the admin API already has {max} open connections, its limit: try again shortly, or raise --admin-max-connections"),
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers a connection over the cap and closes it, without waiting for anything: a
/// flood must not be able to hold the daemon here either.
fn refuse(stream: &TcpStream, answer: &[u8]) {
    // What the client sent already is read first: closing a socket with unread input
    // resets it, which can destroy the answer before the client reads it.
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.try_read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = stream.try_write(answer);
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: AdminLimits,
    mut stop: watch::Receiver<bool>,
) {
    let phase = Arc::new(Mutex::new(Phase::Idle(Instant::now())));
    let io = TokioIo::new(Watched::new(stream, phase.clone(), limits));
    let service = Tracked {
        inner: TowerToHyperService::new(app),
        phase,
        peer,
    };
    let conn = hyper::server::conn::http1::Builder::new()
        // Our own timers ([`Watched`]) cover the head, idle time included.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = stopping(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!("admin API connection ended: {e}");
    }
}

// Holds the watch guard only inside, so callers' futures stay `Send`.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Where a connection is in its request cycle, which decides the timeout that applies.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of a request since then.
    Idle(Instant),
    /// A request head started arriving then.
    Head(Instant),
    /// A request is being handled: the daemon, not the client, is taking the time (a
    /// drain may take minutes), so no read timeout applies.
    Busy,
}

fn lock(phase: &Mutex<Phase>) -> std::sync::MutexGuard<'_, Phase> {
    phase.lock().unwrap_or_else(|p| p.into_inner())
}

/// The router, marking the connection busy while it handles a request.
#[derive(Clone)]
struct Tracked {
    inner: TowerToHyperService<Router>,
    phase: Arc<Mutex<Phase>>,
    /// The client's address, for handlers that name it (the audit of refusals).
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        *lock(&self.phase) = Phase::Busy;
        req.extensions_mut().insert(ConnectInfo(self.peer));
        // The page's event stream answers for as long as the page is open: its
        // connection stays busy (no idle timeout) while the stream writes a frame every
        // second; a client gone is noticed by the next write.
        let streams = req.uri().path() == "/events";
        let phase = self.phase.clone();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let answer = answer.await;
            // The answer is written next: from now on the client has the idle timeout
            // to send its next request (and to take this answer: see `Watched`).
            if !streams {
                *lock(&phase) = Phase::Idle(Instant::now());
            }
            answer
        })
    }
}

/// A connection's socket that fails reads when the client is idle or slow to send its
/// head for longer than allowed, and writes that make no progress for
/// [`AdminLimits::stall_timeout`]; hyper then closes the connection.
struct Watched {
    stream: TcpStream,
    phase: Arc<Mutex<Phase>>,
    limits: AdminLimits,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    write_stalled: bool,
}

impl Watched {
    fn new(stream: TcpStream, phase: Arc<Mutex<Phase>>, limits: AdminLimits) -> Self {
        let far = Instant::now() + Duration::from_secs(24 * 3600);
        Self {
            stream,
            phase,
            limits,
            read_timer: Box::pin(tokio::time::sleep_until(far)),
            write_timer: Box::pin(tokio::time::sleep_until(far)),
            write_stalled: false,
        }
    }

    /// When a read that is still pending must fail, if ever.
    fn read_deadline(&self) -> Option<Instant> {
        match *lock(&self.phase) {
            Phase::Idle(since) => Some(since + self.limits.idle_timeout),
            Phase::Head(since) => Some(since + self.limits.header_timeout),
            Phase::Busy => None,
        }
    }

    fn note_read(&self) {
        let mut phase = lock(&self.phase);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
        }
    }

    fn poll_write_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match write(Pin::new(&mut self.stream), cx) {
            Poll::Pending => {
                if !self.write_stalled {
                    self.write_stalled = true;
                    let deadline = Instant::now() + self.limits.stall_timeout;
                    self.write_timer.as_mut().reset(deadline);
                }
                match self.write_timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client took no byte of its answer in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            done => {
                self.write_stalled = false;
                done
            }
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.note_read();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let Some(deadline) = this.read_deadline() else {
                    return Poll::Pending;
                };
                if this.read_timer.deadline() != deadline {
                    this.read_timer.as_mut().reset(deadline);
                }
                match this.read_timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Reads a request's body before its handler runs, each piece within `stall` of the
/// previous one and at most [`MAX_BODY`] in all, so that a client that stops sending
/// its body cannot hold a handler (and the environment's lock) for ever.
async fn read_body_within(State(stall): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, mut body) = req.into_parts();
    let mut read = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(stall, body.frame()).await {
            Err(_) => {
                return ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!("the request body stalled for {stall:?}: send it whole"),
                )
                .into_response()
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return ApiError::invalid(format!("cannot read the request body: {e}"))
                    .into_response()
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if read.len() + data.len() > MAX_BODY {
                return ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the request body is larger than {MAX_BODY} bytes"),
                )
                .into_response();
            }
            read.extend_from_slice(&data);
        }
    }
    next.run(Request::from_parts(parts, Body::from(read.freeze())))
        .await
}
