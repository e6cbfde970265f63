//! The request path: read a client's request, pick a colour from the table, forward
//! over a pooled connection, stream the answer back with `x-bluegreen-color`, record
//! metrics. Both HTTP/1.1 legs are the front door's own (`downstream/`, `upstream/`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Sleep;

use hyper::http::HeaderValue;

use super::chunked;
use super::downstream::answer::{self, Persistence};
use super::downstream::body::ClientBody;
use super::downstream::forward::{self, Forwarding};
use super::downstream::request::{self, BodyFraming, Parsed, RequestError};
use super::head::Span;
use super::read::{self, READ_BUFFER};
use super::retirement;
use super::tunnel;
use super::upstream::{Framing, Outgoing, UpstreamBody};
use super::workers;
use super::{ColorStats, OpenConnection, Shared};

/// A client has this long to send a complete request head, idle time on a kept-alive
/// connection included (hyper's `header_read_timeout` before).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A client that accepts no byte of its answer for this long is given up on (nginx's
/// `send_timeout` is 60 s), so that it cannot hold a colour "in flight" for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// After a shutdown (the daemon stops or hands over), a connection with no request in
/// hand gets this long to send one, answered with `Connection: close`, before it is
/// closed: a busy keep-alive client is not cut off as it sends its next request.
const LAME_DUCK_GRACE: Duration = Duration::from_secs(1);
/// Answer bodies up to this size go out in the same write as their head.
const INLINE_BODY: usize = 16 * 1024;

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (shared, shutdown) = (shared.clone(), shutdown.clone());
                    // Handed over as a plain socket: it registers with the runtime of the
                    // worker that will serve it.
                    match stream.into_std() {
                        Ok(stream) => workers::dispatch(Box::new(move || {
                            match TcpStream::from_std(stream) {
                                Ok(stream) => {
                                    tokio::spawn(serve_connection(stream, peer, shared, shutdown));
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

// Holds the watch guard only inside, so callers' futures stay `Send`.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// One client connection and the buffers reused by each of its requests.
struct Client {
    stream: TcpStream,
    /// Bytes read from the client and not yet consumed.
    buf: BytesMut,
    /// The answer's head (and small body) for the client.
    out: Vec<u8>,
    /// The request head for the colour.
    up_head: Vec<u8>,
    /// Header lines of the request being handled.
    spans: Vec<Span>,
    /// Chunk framing being written.
    scratch: Vec<u8>,
    /// `X-Forwarded-For` value: the client's address, formatted once.
    forwarded_for: Vec<u8>,
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _open = OpenConnection::enter(&shared);
    let mut client = Client {
        stream,
        buf: BytesMut::with_capacity(READ_BUFFER),
        out: Vec::with_capacity(1024),
        up_head: Vec::with_capacity(1024),
        spans: Vec::with_capacity(32),
        scratch: Vec::new(),
        forwarded_for: peer.ip().to_string().into_bytes(),
    };
    let deadline = tokio::time::sleep(HEAD_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let req = match read_head(&mut client, &shared, &mut shutdown, deadline.as_mut()).await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(environment = %shared.environment, "refused a request from {peer}: {e}");
                answer::local(
                    &mut client.out,
                    e.status(),
                    None,
                    "bad_request",
                    &e.to_string(),
                    Persistence::Close,
                );
                answer_locally(&mut client, Persistence::Close).await;
                return;
            }
        };
        if !exchange(&mut client, &shared, req, &shutdown).await {
            return;
        }
    }
}

/// Waits for a complete request head; `None` when the client closed, went quiet for
/// [`HEAD_TIMEOUT`], or the front door is shutting down.
async fn read_head(
    client: &mut Client,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
    mut deadline: Pin<&mut Sleep>,
) -> Result<Option<Parsed>, RequestError> {
    let mut armed = false;
    let mut stopping = false;
    // Bytes known not to complete the head: after a partial parse, parsing again is only
    // worth it once new bytes may end the head, or a client dripping a large head byte by
    // byte would make every read re-parse all of it (hyper guards against this too).
    let mut scanned = None;
    loop {
        let worth_parsing = match scanned {
            None => !client.buf.is_empty(),
            Some(scanned) => {
                may_end_head(&client.buf, scanned) || client.buf.len() > request::MAX_HEAD
            }
        };
        if worth_parsing {
            let trust = shared.trust_forwarded_headers.load(Ordering::Relaxed);
            if let Some(req) = request::parse(&client.buf, &mut client.spans, trust)? {
                return Ok(Some(req));
            }
            scanned = Some(client.buf.len());
        }
        if !armed {
            deadline
                .as_mut()
                .reset(tokio::time::Instant::now() + HEAD_TIMEOUT);
            armed = true;
        }
        tokio::select! {
            biased;
            read = read::fill(&client.stream, &mut client.buf) => match read {
                Ok(0) | Err(_) => return Ok(None),
                Ok(_) => {}
            },
            _ = deadline.as_mut() => return Ok(None),
            _ = stopped(shutdown), if !stopping => {
                // A head begun is finished and answered; an idle connection gets a short
                // grace instead of the head timeout.
                stopping = true;
                if client.buf.is_empty() {
                    let grace = tokio::time::Instant::now() + LAME_DUCK_GRACE;
                    if grace < deadline.deadline() {
                        deadline.as_mut().reset(grace);
                    }
                }
            }
        }
    }
}

/// Whether `buf` may hold the end of a head (an empty line) beyond its first `scanned`
/// bytes, which did not.
fn may_end_head(buf: &[u8], scanned: usize) -> bool {
    let fresh = &buf[scanned.saturating_sub(2)..];
    fresh
        .iter()
        .enumerate()
        .filter(|&(_, b)| *b == b'\n')
        .any(|(i, _)| matches!(&fresh[i + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
}

/// Forwards one request and writes its answer; whether the connection stays open.
async fn exchange(
    client: &mut Client,
    shared: &Shared,
    req: Parsed,
    shutdown: &watch::Receiver<bool>,
) -> bool {
    // A shutdown lets the request in hand finish, then closes the connection; it is
    // looked at when the answer's head is written, the latest moment it can be said.
    let closing = || !req.keep_alive || *shutdown.borrow();
    let has_body = req.body != BodyFraming::None;
    let table = shared.table.load();
    let tenant = client.spans.iter().find_map(|&(n0, n1, v0, v1)| {
        table
            .is_tenant_header(&client.buf[n0 as usize..n1 as usize])
            .then(|| &client.buf[v0 as usize..v1 as usize])
    });
    let Some(target) = table.pick(tenant) else {
        drop(table);
        // An unread body would be taken for the next request: close instead.
        let persistence = Persistence::of(req.http10, closing() || has_body);
        answer::local(
            &mut client.out,
            503,
            None,
            "no_live_color",
            &format!(
                "environment {} has no live colour: deploy a version and route traffic to it",
                shared.environment
            ),
            persistence,
        );
        client.buf.advance(req.consumed);
        return answer_locally(client, persistence).await;
    };
    let (color, port) = (target.color, target.port);
    let color_header = target.header.clone();
    let stats = target.stats.clone();
    forward::encode_head(
        &client.buf,
        &req,
        &client.spans,
        Forwarding {
            default_host: target.host.as_bytes(),
            forwarded_for: &client.forwarded_for,
        },
        &mut client.up_head,
    );
    drop(table);
    client.buf.advance(req.consumed);

    let answer_timeout = Duration::from_millis(shared.upstream_timeout_ms.load(Ordering::Relaxed));
    let guard = InFlight::enter(stats.clone());
    let started = Instant::now();
    let outgoing = Outgoing {
        head: &client.up_head,
        is_head: req.is_head,
        idempotent: req.idempotent,
        upgrade: req.upgrade,
    };
    let (sent, body_done) = if has_body {
        // Reading the body notices a client that leaves.
        let mut body = ClientBody::new(
            &mut client.stream,
            &mut client.buf,
            req.body,
            req.expect_continue,
            &mut client.scratch,
        );
        let sent = stats
            .pool
            .send(
                port,
                outgoing,
                Some(&mut body),
                &mut client.out,
                answer_timeout,
            )
            .await;
        (Some(sent), body.is_done())
    } else {
        // Otherwise watch the client while the colour works, as hyper's server did: a
        // client that went away ends the exchange (and its in-flight count) at once.
        let sent = tokio::select! {
            biased;
            sent = stats.pool.send::<ClientBody>(port, outgoing, None, &mut client.out, answer_timeout) => Some(sent),
            () = read::closed(&client.stream, &mut client.buf, request::MAX_HEAD) => None,
        };
        (sent, true)
    };
    // A client that left, or broke its own request, is not the colour's doing: nothing
    // goes into the colour's metrics (which the gates judge), as with hyper's server.
    let Some(sent) = sent else {
        return false;
    };
    let (head, mut answer_body) = match sent {
        Ok(answer) => answer,
        Err(e) if e.is_client() => {
            tracing::debug!(environment = %shared.environment, %color, "client request body: {e}");
            if e.is_malformed_body() {
                // Nothing of the colour's answer has been sent: say why before closing,
                // as nginx does ("client sent invalid chunked body").
                answer::local(
                    &mut client.out,
                    400,
                    None,
                    "bad_request",
                    &e.to_string(),
                    Persistence::Close,
                );
                answer_locally(client, Persistence::Close).await;
            }
            return false;
        }
        Err(e) => {
            // Counted against the colour either way: the watch's error rate sees a colour
            // that hangs as well as one that fails.
            let (status, error, why) = if e.is_timeout() {
                (
                    504,
                    "gateway_timeout",
                    format!("did not answer within the environment's upstream_timeout ({answer_timeout:?})"),
                )
            } else if e.is_connect() {
                (
                    502,
                    "bad_gateway",
                    "refused the connection (is the process up?)".to_owned(),
                )
            } else {
                (502, "bad_gateway", "failed to answer".to_owned())
            };
            guard.record(status, started);
            if req.upgrade {
                stats.upgrades_refused.fetch_add(1, Ordering::Relaxed);
            }
            tracing::warn!(environment = %shared.environment, %color, "upstream error: {e}");
            drop(guard);
            // After a failed upgrade too: the client may have sent bytes of the protocol
            // it asked for, which are no request.
            let persistence = Persistence::of(req.http10, closing() || !body_done || req.upgrade);
            answer::local(
                &mut client.out,
                status,
                Some(color_header.as_bytes()),
                error,
                &format!("colour {color} of environment {} {why}", shared.environment),
                persistence,
            );
            return answer_locally(client, persistence).await;
        }
    };
    guard.record(head.status, started);
    if req.upgrade {
        let counter = if head.framing == Framing::Switched {
            &stats.upgrades_accepted
        } else {
            &stats.upgrades_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    if head.framing == Framing::Switched {
        switch_protocols(client, shared, &mut answer_body, &color_header, guard).await;
        return false;
    }

    // A body whose length the colour did not give goes on chunked to an HTTP/1.1 client,
    // and delimited by closing the connection to an HTTP/1.0 one.
    let unknown_length = matches!(head.framing, Framing::Chunked | Framing::UntilClose);
    let chunked = unknown_length && !req.http10;
    // A refused upgrade closes the connection after its answer: a client may already
    // have sent bytes of the protocol it asked for, which are no request.
    let persistence = Persistence::of(
        req.http10,
        closing() || (unknown_length && req.http10) || req.upgrade,
    );
    answer::finish_head(
        &mut client.out,
        color_header.as_bytes(),
        !head.has_date,
        chunked,
        persistence,
    );
    let wrote = match answer_body.take_whole() {
        Some(whole) if whole.len() <= INLINE_BODY => {
            client.out.extend_from_slice(&whole);
            write_all(&client.stream, &client.out).await.is_ok()
        }
        Some(whole) => {
            write_all(&client.stream, &client.out).await.is_ok()
                && write_all(&client.stream, &whole).await.is_ok()
        }
        None if matches!(head.framing, Framing::Empty) => {
            write_all(&client.stream, &client.out).await.is_ok()
        }
        None => {
            write_all(&client.stream, &client.out).await.is_ok()
                && stream_body(client, &mut answer_body, chunked, shared).await
        }
    };
    if let Some(conn) = answer_body.take_reusable() {
        stats.pool.put(port, conn);
    }
    // The guard leaves here: the request stops counting as in flight once its answer
    // has been passed on whole (what a drain waits for).
    drop(guard);
    if wrote && persistence == Persistence::Close {
        linger(client).await;
    }
    wrote && persistence != Persistence::Close
}

/// Passes a colour's `101` on and relays bytes both ways until the tunnel ends. The
/// handshake stops counting as in flight once the `101` is out; the tunnel counts in
/// the colour's open tunnels instead.
async fn switch_protocols(
    client: &mut Client,
    shared: &Shared,
    answer: &mut UpstreamBody,
    color: &HeaderValue,
    handshake: InFlight,
) {
    let Some(mut colour) = answer.take_switched() else {
        return;
    };
    answer::finish_switch(&mut client.out, color.as_bytes());
    // What the colour sent right after its 101 goes out with it.
    client.out.extend_from_slice(&colour.early);
    let stats = handshake.0.clone();
    drop(handshake);
    if write_all(&client.stream, &client.out).await.is_err() {
        return;
    }
    // What the client sent before the 101 (read while it waited) goes first.
    if !client.buf.is_empty() && colour.stream.write_all(&client.buf).await.is_err() {
        return;
    }
    // The request buffers are not needed any more; thousands of tunnels may be open.
    client.buf = BytesMut::new();
    client.out = Vec::new();
    client.up_head = Vec::new();
    client.scratch = Vec::new();
    client.spans = Vec::new();
    drop(colour.early);
    let _open = OpenTunnel::enter(stats.clone());
    let mut deadline = stats.retirement.subscribe();
    let end = tunnel::relay(
        &mut client.stream,
        &mut colour.stream,
        tunnel::IDLE_LIMIT,
        retirement::deadline_passed(&mut deadline),
    )
    .await;
    stats.retirement.count_end(matches!(end, tunnel::End::Cut));
    let env = &shared.environment;
    match end {
        tunnel::End::Closed { up, down } => {
            tracing::debug!(environment = %env, up, down, "tunnel closed by both sides")
        }
        tunnel::End::Idle => tracing::debug!(environment = %env, "idle tunnel closed"),
        tunnel::End::Cut => {
            tracing::debug!(environment = %env, "tunnel of a retired colour closed at its drain deadline")
        }
        tunnel::End::Failed(e) => tracing::debug!(environment = %env, "tunnel broke: {e}"),
    }
}

/// Counts a tunnel as open on its colour until dropped.
struct OpenTunnel(Arc<ColorStats>);

impl OpenTunnel {
    fn enter(stats: Arc<ColorStats>) -> Self {
        stats.tunnels.fetch_add(1, Ordering::AcqRel);
        Self(stats)
    }
}

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        self.0.tunnels.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends the front door's own answer in `client.out`; whether the connection stays open.
async fn answer_locally(client: &mut Client, persistence: Persistence) -> bool {
    if write_all(&client.stream, &client.out).await.is_err() {
        return false;
    }
    if persistence == Persistence::Close {
        linger(client).await;
        return false;
    }
    true
}

/// Closes a connection whose client may still be sending (a body the front door did not
/// read, a head it refused) the way nginx's lingering close does: end our side, then
/// read and discard until the client closes, for a bounded time and amount. Closing with
/// unread input makes the kernel send a reset, which can destroy the answer just sent
/// before the client reads it.
async fn linger(client: &mut Client) {
    const LINGER: Duration = Duration::from_secs(2);
    const LINGER_BYTES: usize = 1 << 20;
    if client.stream.shutdown().await.is_err() {
        return;
    }
    let mut discarded = 0;
    let _ = tokio::time::timeout(LINGER, async {
        while discarded < LINGER_BYTES {
            client.buf.clear();
            match read::fill(&client.stream, &mut client.buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}

/// Passes a colour's body on as it arrives; false if either side broke off.
async fn stream_body(
    client: &mut Client,
    body: &mut UpstreamBody,
    chunked: bool,
    shared: &Shared,
) -> bool {
    loop {
        let next = tokio::select! {
            biased;
            next = body.data() => next,
            // A client that left while the colour is slow to send more.
            () = read::closed(&client.stream, &mut client.buf, request::MAX_HEAD) => return false,
        };
        let data: Bytes = match next {
            Some(Ok(data)) => data,
            Some(Err(e)) => {
                // Too late for an error answer: the client sees the connection close
                // before the end of the body.
                tracing::warn!(environment = %shared.environment, "colour's answer broke off: {e}");
                return false;
            }
            None => break,
        };
        if data.is_empty() {
            continue;
        }
        let wrote = if chunked {
            let whole = chunked::frame(&data, &mut client.scratch);
            let mut wrote = write_all(&client.stream, &client.scratch).await;
            if !whole && wrote.is_ok() {
                wrote = write_all(&client.stream, &data).await;
            }
            if !whole && wrote.is_ok() {
                wrote = write_all(&client.stream, b"\r\n").await;
            }
            wrote
        } else {
            write_all(&client.stream, &data).await
        };
        if wrote.is_err() {
            return false;
        }
    }
    !chunked || write_all(&client.stream, b"0\r\n\r\n").await.is_ok()
}

/// Writes all of `bytes` to the client, giving up after [`SEND_TIMEOUT`] without
/// progress. Tries the write first: the timer is only armed when the client is slow.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                tokio::time::timeout(SEND_TIMEOUT, stream.writable())
                    .await
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Counts a request as in flight on its colour until its answer has been passed on,
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

#[cfg(test)]
mod tests {
    use super::may_end_head;

    #[test]
    fn a_head_can_only_end_where_an_empty_line_may_be() {
        let head = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        // Every split point: the end is found in the fresh bytes, or across the boundary.
        for scanned in 0..head.len() {
            assert!(may_end_head(head, scanned), "scanned {scanned}");
        }
        assert!(!may_end_head(b"GET / HTTP/1.1\r\nHost: h\r\n", 0));
        assert!(!may_end_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r", 20));
        assert!(may_end_head(b"GET / HTTP/1.0\n\n", 15));
    }
}
