//! The request path: pick a colour from the table, forward over a pooled connection,
//! stream the answer back with `x-bluegreen-color`, record metrics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::http::header::{self, HeaderName, HeaderValue};
use hyper::http::{Request, Response, StatusCode};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::hop_by_hop;
use super::upstream::{Forwarding, UpstreamBody};
use super::workers;
use super::{ColorStats, Shared};
use crate::api::COLOR_HEADER;

static X_BLUEGREEN_COLOR: HeaderName = HeaderName::from_static(COLOR_HEADER);

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(Duration::from_secs(30));
    let builder = Arc::new(builder);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (builder, shared, shutdown) =
                        (builder.clone(), shared.clone(), shutdown.clone());
                    // Handed over as a plain socket: it registers with the runtime of the
                    // worker that will serve it.
                    match stream.into_std() {
                        Ok(stream) => workers::dispatch(Box::new(move || {
                            match tokio::net::TcpStream::from_std(stream) {
                                Ok(stream) => {
                                    tokio::spawn(serve_connection(
                                        builder, stream, peer, shared, shutdown,
                                    ));
                                }
                                Err(e) => tracing::warn!("front door connection from {peer} dropped: {e}"),
                            }
                        })),
                        Err(e) => tracing::warn!("front door connection from {peer} dropped: {e}"),
                    }
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(environment = %shared.environment, "front door accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped(&mut shutdown) => return,
        }
    }
}

async fn serve_connection(
    builder: Arc<http1::Builder>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Computed once per connection rather than per request.
    let forwarded_for = HeaderValue::from_str(&peer.ip().to_string()).ok();
    let service = service_fn(move |req| handle(shared.clone(), forwarded_for.clone(), req));
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!("front door connection from {peer} ended: {e}");
            }
        }
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

// Holds the watch guard only inside, so callers' futures stay `Send`.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Forwards one request to the colour the table picks.
async fn handle(
    shared: Arc<Shared>,
    forwarded_for: Option<HeaderValue>,
    mut req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let table = shared.table.load();
    let Some(target) = table.pick(req.headers()) else {
        return Ok(json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            format!(
                r#"{{"error":"no_live_color","message":"environment {} has no live colour: deploy a version and route traffic to it"}}"#,
                shared.environment
            ),
        ));
    };
    let color = target.color;
    let port = target.port;
    let color_header = target.header.clone();
    let default_host = target.host.clone();
    let stats = target.stats.clone();
    drop(table);

    let guard = InFlight::enter(stats.clone());
    hop_by_hop::strip(req.headers_mut());
    let fwd = Forwarding {
        default_host: &default_host,
        forwarded_for: forwarded_for.as_ref(),
    };
    let started = Instant::now();
    match stats.pool.send(port, req, fwd).await {
        Ok((answer, body)) => {
            guard.record(answer.status.as_u16(), started);
            // Hop-by-hop headers were left out when the head was parsed.
            let mut headers = answer.headers;
            headers.insert(X_BLUEGREEN_COLOR.clone(), color_header);
            let mut resp = Response::new(ProxyBody::Upstream(Upstream {
                inner: body,
                port,
                guard,
            }));
            *resp.status_mut() = answer.status;
            *resp.headers_mut() = headers;
            Ok(resp)
        }
        Err(e) => {
            guard.record(502, started);
            let why = if e.is_connect() {
                "refused the connection (is the process up?)"
            } else {
                "failed to answer"
            };
            tracing::warn!(environment = %shared.environment, %color, "upstream error: {e}");
            Ok(json_response(
                StatusCode::BAD_GATEWAY,
                Some(color_header),
                format!(
                    r#"{{"error":"bad_gateway","message":"colour {color} of environment {} {why}"}}"#,
                    shared.environment
                ),
            ))
        }
    }
}

fn json_response(
    status: StatusCode,
    color: Option<HeaderValue>,
    body: String,
) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::Full(Some(Bytes::from(body))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(c) = color {
        resp.headers_mut().insert(X_BLUEGREEN_COLOR.clone(), c);
    }
    resp
}

/// Counts a request as in flight on its colour until its response body is finished,
/// which is what a drain waits for.
#[derive(Debug)]
pub struct InFlight(Arc<ColorStats>);

impl InFlight {
    fn enter(stats: Arc<ColorStats>) -> Self {
        stats.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(stats)
    }

    fn record(&self, status: u16, started: Instant) {
        let micros = started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        self.0.metrics.record(crate::time::now_ms(), status, micros);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body streamed from a colour. When it has been read to the end, its
/// connection goes back to the colour's pool; if the client went away midway, the
/// connection is dropped (HTTP/1.1 cannot reuse a half-read response).
#[derive(Debug)]
pub struct Upstream {
    inner: UpstreamBody,
    port: u16,
    guard: InFlight,
}

impl Upstream {
    fn release(&mut self) {
        if let Some(conn) = self.inner.take_reusable() {
            self.guard.0.pool.put(self.port, conn);
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.release();
    }
}

/// Response body of the front door: the upstream stream, or a small local answer.
#[derive(Debug)]
pub enum ProxyBody {
    /// Streamed from a colour.
    Upstream(Upstream),
    /// A local answer (503, 502); `None` once sent.
    Full(Option<Bytes>),
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            ProxyBody::Upstream(up) => {
                let polled = Pin::new(&mut up.inner).poll_frame(cx);
                if let Poll::Ready(None) = polled {
                    // Free the connection now, not when hyper drops the body.
                    up.release();
                }
                polled
            }
            ProxyBody::Full(data) => Poll::Ready(data.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Upstream(up) => up.inner.is_end_stream(),
            ProxyBody::Full(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Upstream(up) => up.inner.size_hint(),
            ProxyBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ProxyBody::Full(None) => SizeHint::with_exact(0),
        }
    }
}
