//! The front door's HTTP/1.1 behaviour towards its clients, pinned with raw TCP clients.
//!
//! Each client here is a bare `TcpStream` that writes exact request bytes (pipelined,
//! in pieces, chunked with extensions, `Expect: 100-continue`, garbage, oversized heads)
//! and parses the exact response bytes itself, so what is pinned is what a client sees
//! on the wire rather than what a client library makes of it. The upstreams are raw
//! `TcpListener` scripts as in `upstream_protocol.rs`, so the tests also assert what a
//! colour received. They were written against hyper's `http1` server, so that a
//! purpose-built server leg can be checked against exactly the same behaviour.
//!
//! Where hyper's exact bytes are incidental (whether a 400 has a body, `date`), the
//! tests assert the essence a client relies on: the status, the framing, whether the
//! connection stays usable or is closed, and that refused requests never reach a colour.

#[path = "common/bodies.rs"]
mod bodies;
#[path = "common/bounded.rs"]
mod bounded;
#[path = "common/front_door.rs"]
mod front_door;
#[path = "common/listener.rs"]
mod listener;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluegreen_local::api::Color;
use bluegreen_local::frontdoor::routing::{CanaryTarget, RoutingTable, Target};
use bluegreen_local::frontdoor::FrontDoor;
use hyper::http::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bodies::{assert_same_bytes, pattern};
use bounded::{within, STEP, UPSTREAM_READ};
use listener::{listen, Listening};

// ---------------------------------------------------------------------------------------
// HTTP/1.1 messages on the wire, read the same way on both sides of the front door.

/// One request or response as parsed off the wire.
#[derive(Debug, Clone, Default)]
struct Msg {
    /// The request line or status line.
    start: String,
    /// Names lower-cased, values as sent (trimmed), in wire order, duplicates kept.
    headers: Vec<(String, Vec<u8>)>,
    /// Decoded body (chunked framing removed).
    body: Vec<u8>,
    /// Whether the body arrived with `Transfer-Encoding: chunked`.
    chunked: bool,
    /// Index of the upstream connection a request arrived on (0 for the first).
    conn: usize,
}

impl Msg {
    /// Word `i` of the start line: method, target, version; or version, status.
    fn word(&self, i: usize) -> &str {
        self.start.splitn(3, ' ').nth(i).unwrap_or_default()
    }

    fn status(&self) -> u16 {
        self.word(1).parse().unwrap_or(0)
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| std::str::from_utf8(v).unwrap_or("<not UTF-8>"))
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    fn raw(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One end of a connection with its read buffer (bytes past the current message
/// belong to the next one).
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bound on each read.
    patience: Duration,
    /// Pause before each read, to make a slow reader.
    pace: Duration,
}

impl Wire {
    /// Reads more bytes into the buffer; false at EOF.
    async fn fill(&mut self) -> Result<bool, String> {
        if !self.pace.is_zero() {
            tokio::time::sleep(self.pace).await;
        }
        let mut chunk = [0u8; 32 * 1024];
        match tokio::time::timeout(self.patience, self.stream.read(&mut chunk)).await {
            Err(_) => Err(format!("nothing to read within {:?}", self.patience)),
            Ok(Err(e)) => Err(format!("read failed: {e}")),
            Ok(Ok(0)) => Ok(false),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
        }
    }

    async fn more(&mut self) -> Result<(), String> {
        match self.fill().await? {
            true => Ok(()),
            false => Err(format!(
                "connection closed inside a message ({} bytes pending)",
                self.buf.len()
            )),
        }
    }

    /// Takes one CRLF-terminated line off the buffer (without the CRLF).
    async fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            self.more().await?;
        }
    }

    /// Takes exactly `n` bytes off the buffer.
    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            self.more().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Everything until the peer closes.
    async fn rest(&mut self) -> Result<Vec<u8>, String> {
        while self.fill().await? {}
        Ok(std::mem::take(&mut self.buf))
    }

    /// Decodes a chunked body, extensions and trailers included (RFC 9112 §7.1).
    async fn chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let size_line = String::from_utf8_lossy(&self.line().await?).into_owned();
            let size = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("bad chunk size line {size_line:?}"))?;
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.exact(size).await?);
            if self.exact(2).await? != b"\r\n" {
                return Err("chunk data not followed by CRLF".to_owned());
            }
        }
    }

    /// Reads one message; `None` when the connection closes before its first byte. A
    /// response to HEAD, a 1xx, 204 or 304 has no body whatever its headers say; a
    /// response with neither length nor chunking is delimited by the close.
    async fn message(&mut self, response: bool, to_head: bool) -> Result<Option<Msg>, String> {
        if self.buf.is_empty() && !self.fill().await? {
            return Ok(None);
        }
        let start = String::from_utf8_lossy(&self.line().await?).into_owned();
        let mut msg = Msg {
            start,
            ..Msg::default()
        };
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let bad = || format!("bad header line {:?}", String::from_utf8_lossy(&line));
            let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
            let name = std::str::from_utf8(&line[..colon]).map_err(|_| bad())?;
            if name.is_empty() || name.ends_with([' ', '\t']) {
                return Err(bad());
            }
            let value = line[colon + 1..].trim_ascii().to_vec();
            msg.headers.push((name.to_ascii_lowercase(), value));
        }
        let status = msg.status();
        let bodiless = response && (to_head || status < 200 || status == 204 || status == 304);
        let te = msg.header("transfer-encoding").map(str::to_ascii_lowercase);
        let lengths: Vec<String> = msg
            .all("content-length")
            .iter()
            .map(|s| s.to_string())
            .collect();
        match (te, lengths.as_slice()) {
            _ if bodiless => {}
            (Some(te), []) if te == "chunked" => {
                msg.chunked = true;
                msg.body = self.chunked().await?;
            }
            (Some(te), cl) => return Err(format!("transfer-encoding {te:?} with length {cl:?}")),
            (None, []) if response => msg.body = self.rest().await?,
            (None, []) => {}
            (None, [len]) => {
                let len = len
                    .parse()
                    .map_err(|_| format!("bad content-length {len:?}"))?;
                msg.body = self.exact(len).await?;
            }
            (None, many) => return Err(format!("several content-lengths {many:?}")),
        }
        Ok(Some(msg))
    }
}

// ---------------------------------------------------------------------------------------
// The raw client.

async fn connect(addr: SocketAddr) -> Wire {
    let stream = within("connect to the front door", TcpStream::connect(addr))
        .await
        .expect("connect");
    Wire {
        stream,
        buf: Vec::new(),
        patience: STEP,
        pace: Duration::ZERO,
    }
}

impl Wire {
    async fn send(&mut self, bytes: &[u8]) {
        within("write to the front door", self.stream.write_all(bytes))
            .await
            .expect("write to the front door");
    }

    /// Reads the next response, which must come.
    async fn response(&mut self, to_head: bool) -> Msg {
        self.message(true, to_head)
            .await
            .unwrap_or_else(|e| panic!("reading a response: {e}"))
            .expect("a response, not a closed connection")
    }

    async fn ask(&mut self, request: &[u8]) -> Msg {
        self.send(request).await;
        self.response(false).await
    }

    /// Asserts that the front door closes the connection with nothing more to say.
    async fn assert_closed(&mut self) {
        let rest = self
            .rest()
            .await
            .unwrap_or_else(|e| panic!("waiting for the close: {e}"));
        assert!(
            rest.is_empty(),
            "bytes after the answer: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// A body-less HTTP/1.1 request for `path` with a Host header.
fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: front.test\r\n\r\n").into_bytes()
}

// ---------------------------------------------------------------------------------------
// The raw upstream.

/// What upstream connection tasks record, shared with the test.
#[derive(Default)]
struct Log {
    requests: Mutex<Vec<Msg>>,
    /// Malformed requests: a panic in an upstream task would not fail the test.
    errors: Mutex<Vec<String>>,
}

/// One accepted upstream connection.
struct Conn {
    index: usize,
    wire: Wire,
    log: Arc<Log>,
}

impl Conn {
    /// Reads and records the next request; `None` when the connection ends (or idles
    /// past [`UPSTREAM_READ`]) between requests, or after a malformed one.
    async fn request(&mut self) -> Option<Msg> {
        if self.wire.buf.is_empty() && !matches!(self.wire.fill().await, Ok(true)) {
            return None;
        }
        match self.wire.message(false, false).await {
            Ok(Some(mut req)) => {
                req.conn = self.index;
                self.log
                    .requests
                    .lock()
                    .expect("log lock")
                    .push(req.clone());
                Some(req)
            }
            Ok(None) => None,
            Err(e) => {
                self.log.errors.lock().expect("log lock").push(e);
                None
            }
        }
    }

    /// Writes `bytes`; false once the front door has gone away.
    async fn write(&mut self, bytes: &[u8]) -> bool {
        self.wire.stream.write_all(bytes).await.is_ok()
    }
}

/// A raw upstream: every accepted connection is handed to the test's handler.
struct RawUpstream {
    port: u16,
    listening: Listening,
    log: Arc<Log>,
}

impl RawUpstream {
    async fn start<F, Fut>(handler: F) -> RawUpstream
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let log = Arc::new(Log::default());
        let conn_log = log.clone();
        let listening = listen(move |index, stream| {
            let wire = Wire {
                stream,
                buf: Vec::new(),
                patience: UPSTREAM_READ,
                pace: Duration::ZERO,
            };
            handler(Conn {
                index,
                wire,
                log: conn_log.clone(),
            })
        })
        .await;
        RawUpstream {
            port: listening.port,
            listening,
            log,
        }
    }

    /// Answers every request with the bytes `answer` makes of it.
    async fn answering<F>(answer: F) -> RawUpstream
    where
        F: Fn(&Msg) -> Vec<u8> + Send + Sync + 'static,
    {
        let answer = Arc::new(answer);
        RawUpstream::start(move |mut conn| {
            let answer = answer.clone();
            async move {
                while let Some(req) = conn.request().await {
                    if !conn.write(&answer(&req)).await {
                        return;
                    }
                }
            }
        })
        .await
    }

    /// Answers every request with `200` and a body naming it: `METHOD TARGET LENGTH`.
    async fn echo() -> RawUpstream {
        RawUpstream::answering(|req| {
            ok(format!("{} {} {}", req.word(0), req.word(1), req.body.len()).as_bytes())
        })
        .await
    }

    /// The requests received so far, after checking that none was malformed.
    fn requests(&self) -> Vec<Msg> {
        let errors = self.log.errors.lock().expect("log lock").clone();
        assert!(errors.is_empty(), "malformed requests upstream: {errors:?}");
        self.log.requests.lock().expect("log lock").clone()
    }

    /// The request targets received so far, in order.
    fn targets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.word(1).to_owned())
            .collect()
    }

    fn accepted(&self) -> usize {
        self.listening.accepted()
    }
}

/// A `200` answer with `body` under a Content-Length.
fn ok(body: &[u8]) -> Vec<u8> {
    let mut answer =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    answer.extend_from_slice(body);
    answer
}

async fn front_door_to(up: &RawUpstream) -> (FrontDoor, SocketAddr) {
    front_door::front_door_to_port("protocol", up.port).await
}

// ---------------------------------------------------------------------------------------
// Connection management and refusals.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connection_answers_requests_in_order() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    for path in ["/one", "/two", "/three"] {
        let r = c.ask(&get(path)).await;
        assert_eq!((r.word(0), r.status()), ("HTTP/1.1", 200), "{r:?}");
        assert_eq!(r.header("x-bluegreen-color"), Some("blue"));
        assert_eq!(r.text(), format!("GET {path} 0"));
    }
    assert_eq!(up.targets(), ["/one", "/two", "/three"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_in_one_write_are_answered_in_order() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    c.send(
        b"GET /first HTTP/1.1\r\nHost: front.test\r\n\r\n\
          POST /second HTTP/1.1\r\nHost: front.test\r\nContent-Length: 5\r\n\r\nhello\
          GET /third HTTP/1.1\r\nHost: front.test\r\n\r\n",
    )
    .await;
    for want in ["GET /first 0", "POST /second 5", "GET /third 0"] {
        let r = c.response(false).await;
        assert_eq!(r.status(), 200, "{r:?}");
        assert_eq!(r.header("x-bluegreen-color"), Some("blue"));
        assert_eq!(r.text(), want);
    }
    let reqs = up.requests();
    let bodies: Vec<&[u8]> = reqs.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&b""[..], b"hello", b""]);
    assert_eq!(up.targets(), ["/first", "/second", "/third"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_request_without_keep_alive_is_answered_then_closed() {
    let up = RawUpstream::answering(|req| match req.word(1) {
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec()
        }
        _ => ok(b"plain"),
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;

    // Observed with hyper: `HTTP/1.0 200 OK`, the upstream's `content-length` kept, a
    // chunked upstream answer sent close-delimited, no `connection` header, then a close.
    for (path, body) in [("/plain", "plain"), ("/chunked", "hello")] {
        let mut c = connect(addr).await;
        let r = c
            .ask(format!("GET {path} HTTP/1.0\r\nHost: front.test\r\n\r\n").as_bytes())
            .await;
        assert!(r.start.starts_with("HTTP/1."), "{r:?}");
        assert_eq!(r.status(), 200, "{r:?}");
        assert!(!r.chunked, "chunked framing sent to an HTTP/1.0 client");
        assert!(!r.all("connection").contains(&"keep-alive"), "{r:?}");
        assert_eq!(r.text(), body);
        c.assert_closed().await;
    }
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_from_an_http11_client_is_echoed_then_closed() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c
        .ask(b"GET /bye HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.text(), "GET /bye 0");
    assert_eq!(r.all("connection"), ["close"]);
    c.assert_closed().await;
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_request_line_gets_400_and_never_reaches_the_upstream() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    // Observed with hyper: `HTTP/1.1 400 Bad Request` with `connection: close`,
    // `content-length: 0` and `date`, then a close.
    let r = c.ask(b"GARBAGE\r\n\r\n").await;
    assert_eq!(r.status(), 400, "{r:?}");
    c.assert_closed().await;
    assert_eq!(up.accepted(), 0);
    fd.shutdown().await;
}

/// A GET whose head carries an `X-Big` header of `size` bytes.
fn get_with_big_header(path: &str, size: usize) -> Vec<u8> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: front.test\r\nX-Big: ").into_bytes();
    req.extend(std::iter::repeat_n(b'a', size));
    req.extend_from_slice(b"\r\n\r\n");
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_head_is_refused_without_reaching_the_upstream() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;

    // A large but ordinary header (big cookies) goes through.
    let mut c = connect(addr).await;
    let r = c.ask(&get_with_big_header("/cookies", 16 * 1024)).await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(
        up.requests()[0].raw("x-big").map(<[u8]>::len),
        Some(16 * 1024)
    );

    // Observed with hyper: the limit is its read buffer (~408 KiB, with some slack: a
    // 420 KiB head still passed); past it, `431` with `connection: close` and
    // `content-length: 0`, then a close. A 1 MiB head is well past any such limit.
    let c = connect(addr).await;
    let (mut read, mut write) = c.stream.into_split();
    let req = get_with_big_header("/huge", 1024 * 1024);
    // The front door may stop reading (and close) before the whole head is written.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&req).await;
        write
    });
    let mut seen = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 4096];
        match within("the answer to a huge head", read.read(&mut chunk)).await {
            Ok(0) => break "EOF".to_owned(),
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            // A reset after the answer still closes the connection.
            Err(e) => break e.to_string(),
        }
    };
    let _ = within("the writer", writer).await;
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.starts_with("HTTP/1.1 431 "),
        "answer {seen:?}, then {end}"
    );
    assert_eq!(
        up.targets(),
        ["/cookies"],
        "the huge head reached the upstream"
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leaving_midway_through_a_large_response_does_not_disturb_others() {
    // The upstream sends 1 MiB of a 4 MiB answer and then stalls, so only the client's
    // close (not a failed write) can tell the front door to give up; it reports when the
    // front door closes the upstream connection.
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let up = RawUpstream::start(move |mut conn| {
        let closed = closed_tx.clone();
        async move {
            while let Some(req) = conn.request().await {
                if req.word(1) != "/big" {
                    conn.write(&ok(b"small")).await;
                    continue;
                }
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n")
                    .await;
                conn.write(&pattern(1024 * 1024, 1)).await;
                let _ = closed.send(conn.wire.fill().await);
                return;
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;

    let mut leaver = connect(addr).await;
    leaver.send(&get("/big")).await;
    while leaver.buf.len() < 1024 * 1024 {
        leaver.more().await.expect("the start of the large body");
    }
    assert!(leaver.buf.starts_with(b"HTTP/1.1 200 "));
    drop(leaver);

    let mut other = connect(addr).await;
    let r = other.ask(&get("/small")).await;
    assert_eq!((r.status(), r.text().as_str()), (200, "small"));
    // The front door gives up the half-sent answer: it closes the upstream connection
    // (observed: within milliseconds) and the request stops counting as in flight.
    let upstream_end = within("the upstream connection to close", closed_rx.recv()).await;
    assert!(
        matches!(upstream_end, Some(Ok(false)) | Some(Err(_))),
        "{upstream_end:?}"
    );
    assert!(
        fd.wait_drained(Color::Blue, STEP).await,
        "the abandoned response is still in flight"
    );
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Request bodies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_body_written_in_pieces_reaches_the_upstream_exactly() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;
    let body = pattern(100 * 1024, 5);

    c.send(
        format!(
            "POST /upload HTTP/1.1\r\nHost: front.test\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    for piece in body.chunks(30_000) {
        c.send(piece).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = c.response(false).await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.text(), format!("POST /upload {}", body.len()));

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].all("content-length"), [body.len().to_string()]);
    assert_same_bytes(&reqs[0].body, &body);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_listing_content_length_cannot_smuggle_a_second_request() {
    // If `Connection: content-length` removed the length on the way, the colour would
    // take the 32 body bytes for a second request, whose answer could then reach another
    // client on a pooled connection. The body here *is* such a request.
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;
    let smuggled = b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut request = format!(
        "POST /x HTTP/1.1\r\nHost: front.test\r\nConnection: content-length\r\nContent-Length: {}\r\n\r\n",
        smuggled.len()
    )
    .into_bytes();
    request.extend_from_slice(smuggled);
    let r = c.ask(&request).await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.text(), format!("POST /x {}", smuggled.len()));
    // The next request on the same connection gets its own answer.
    let r = c.ask(&get("/after")).await;
    assert_eq!(r.text(), "GET /after 0");
    assert_eq!(
        up.targets(),
        ["/x", "/after"],
        "the colour saw a smuggled request"
    );
    assert_eq!(
        up.requests()[0].all("content-length"),
        [smuggled.len().to_string()]
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_with_extensions_and_trailers_reaches_the_upstream_decoded() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;
    let big = pattern(70_000, 6);

    c.send(b"POST /chunks HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut rest = format!("{:x};big\r\n", big.len()).into_bytes();
    rest.extend_from_slice(&big);
    rest.extend_from_slice(b"\r\n6\r\nchunky\r\n0\r\nx-trailer: t\r\n\r\n");
    let r = c.ask(&rest).await;
    let whole = [&b"hello"[..], &big, b"chunky"].concat();
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.text(), format!("POST /chunks {}", whole.len()));

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1);
    // Either framing is correct upstream, as long as it is one and consistent.
    if !reqs[0].chunked {
        assert_eq!(reqs[0].all("content-length"), [whole.len().to_string()]);
    }
    assert_same_bytes(&reqs[0].body, &whole);
    // The client's connection is still in sync after the trailer section.
    assert_eq!(c.ask(&get("/after")).await.text(), "GET /after 0");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_answered_before_the_body_and_not_forwarded() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;
    let body = pattern(10_000, 7);

    c.send(
        format!(
            "PUT /put HTTP/1.1\r\nHost: front.test\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    // Nothing of the body is sent before the interim answer (bounded by `STEP`).
    let interim = c.response(false).await;
    assert_eq!(interim.start, "HTTP/1.1 100 Continue", "{interim:?}");
    let r = c.ask(&body).await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.text(), format!("PUT /put {}", body.len()));

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].header("expect").is_none(), "{:?}", reqs[0].headers);
    assert_same_bytes(&reqs[0].body, &body);
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Response framing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_response_keeps_the_length_without_a_body_and_stays_in_sync() {
    let up = RawUpstream::answering(|req| match req.word(0) {
        "HEAD" => b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".to_vec(),
        _ => ok(b"get"),
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    c.send(b"HEAD /doc HTTP/1.1\r\nHost: front.test\r\n\r\n")
        .await;
    let head = c.response(true).await;
    assert_eq!(head.status(), 200, "{head:?}");
    assert_eq!(head.all("content-length"), ["1234"]);
    // Any body bytes after the HEAD answer would be read as the GET's status line.
    let r = c.ask(&get("/doc")).await;
    assert_eq!((r.status(), r.text().as_str()), (200, "get"), "{r:?}");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_answer_has_no_body_and_the_next_request_works() {
    let up = RawUpstream::answering(|req| match req.word(1) {
        "/204" => b"HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n".to_vec(),
        _ => ok(b"next"),
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c.ask(&get("/204")).await;
    assert_eq!(r.status(), 204, "{r:?}");
    assert_eq!(r.header("x-kind"), Some("none"));
    // RFC 9110 §8.6 / RFC 9112 §6.1: neither header on a 204.
    assert!(r.header("content-length").is_none(), "{r:?}");
    assert!(r.header("transfer-encoding").is_none(), "{r:?}");
    let r = c.ask(&get("/next")).await;
    assert_eq!((r.status(), r.text().as_str()), (200, "next"), "{r:?}");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_response_read_slowly_arrives_byte_exact() {
    let body = pattern(4 * 1024 * 1024 + 17, 8);
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let answer = [head.as_bytes(), &body].concat();
    let up = RawUpstream::answering(move |req| match req.word(1) {
        "/big" => answer.clone(),
        _ => ok(b"small"),
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    // A pause before every 32 KiB read keeps the front door waiting on a full socket.
    c.pace = Duration::from_millis(1);
    let r = c.ask(&get("/big")).await;
    c.pace = Duration::ZERO;
    assert_eq!(r.status(), 200, "{}", r.start);
    assert_eq!(r.all("content-length"), [body.len().to_string()]);
    assert_same_bytes(&r.body, &body);
    assert_eq!(c.ask(&get("/small")).await.text(), "small");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upstream_response_reaches_the_client_byte_exact() {
    let body = pattern(300_001, 9);
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for (i, piece) in body.chunks(40_000 + 77).enumerate() {
        answer.extend_from_slice(format!("{:x};n={i}\r\n", piece.len()).as_bytes());
        answer.extend_from_slice(piece);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\nx-sum: 1\r\n\r\n");
    let up = RawUpstream::answering(move |req| match req.word(1) {
        "/chunked" => answer.clone(),
        _ => ok(b"small"),
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c.ask(&get("/chunked")).await;
    assert_eq!(r.status(), 200, "{}", r.start);
    // Hyper re-chunks (the length is unknown); a length would do as well.
    if !r.chunked {
        assert_eq!(r.all("content-length"), [body.len().to_string()]);
    }
    assert_same_bytes(&r.body, &body);
    assert_eq!(c.ask(&get("/small")).await.text(), "small");
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Routing and headers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_tenant_reaches_the_canary_whatever_the_header_case() {
    let blue = RawUpstream::echo().await;
    let green = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&blue).await;
    let mut table = (*fd.table()).clone();
    table.revision = 2;
    table.canary = Some(CanaryTarget {
        target: Target {
            color: Color::Green,
            port: green.port,
            host: HeaderValue::from_str(&format!("127.0.0.1:{}", green.port)).expect("host"),
            header: HeaderValue::from_static("green"),
            stats: fd.stats(Color::Green).clone(),
        },
        weight: 0,
        tenants: HashSet::from(["pilot".to_owned()]),
    });
    fd.install(table);
    let mut c = connect(addr).await;

    for (path, tenant, color) in [
        ("/t1", "x-tenant-id: pilot\r\n", "green"),
        ("/t2", "X-Tenant-ID: pilot\r\n", "green"),
        ("/t3", "x-tenant-id: other\r\n", "blue"),
        ("/t4", "", "blue"),
    ] {
        let r = c
            .ask(format!("GET {path} HTTP/1.1\r\nHost: front.test\r\n{tenant}\r\n").as_bytes())
            .await;
        assert_eq!(r.status(), 200, "{path}: {r:?}");
        assert_eq!(r.header("x-bluegreen-color"), Some(color), "{path}");
    }
    assert_eq!(green.targets(), ["/t1", "/t2"]);
    assert_eq!(blue.targets(), ["/t3", "/t4"]);
    assert_eq!(green.requests()[1].all("x-tenant-id"), ["pilot"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_live_colour_is_a_json_503_and_the_connection_stays_usable() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let routed = fd.table();
    fd.install(RoutingTable::empty(HeaderName::from_static("x-tenant-id")));
    let mut c = connect(addr).await;

    for path in ["/a", "/b"] {
        let r = c.ask(&get(path)).await;
        assert_eq!(r.status(), 503, "{r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.text().contains(r#""error":"no_live_color""#), "{r:?}");
        assert!(r.header("x-bluegreen-color").is_none(), "{r:?}");
    }
    // Once a colour is live again, the same connection reaches it.
    fd.install((*routed).clone());
    let r = c.ask(&get("/c")).await;
    assert_eq!((r.status(), r.text().as_str()), (200, "GET /c 0"));
    assert_eq!(up.targets(), ["/c"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_and_default_host_reach_the_upstream() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let default_host = format!("127.0.0.1:{}", up.port);
    let mut c = connect(addr).await;

    let with_host = c.ask(&get("/host")).await;
    let mut old = connect(addr).await;
    // HTTP/1.0 did not require Host: accepted, as nginx does, with the colour's address.
    let http10 = old.ask(b"GET /old HTTP/1.0\r\n\r\n").await;
    for r in [&with_host, &http10] {
        assert_eq!(r.status(), 200, "{r:?}");
    }

    let reqs = up.requests();
    assert_eq!(up.targets(), ["/host", "/old"]);
    assert_eq!(reqs[0].all("host"), ["front.test"]);
    assert_eq!(reqs[1].all("host"), [default_host.as_str()]);
    for (r, host) in reqs.iter().zip(["front.test", default_host.as_str()]) {
        assert_eq!(r.word(2), "HTTP/1.1", "{r:?}");
        assert_eq!(r.all("x-forwarded-for"), ["127.0.0.1"], "{r:?}");
        assert_eq!(r.all("x-forwarded-proto"), ["http"], "{r:?}");
        assert_eq!(r.all("x-forwarded-host"), [host], "{r:?}");
    }
    fd.shutdown().await;
}

/// A request that claims, through forwarding headers, to come from elsewhere.
const SPOOFED: &[u8] = b"GET /spoofed HTTP/1.1\r\nHost: front.test\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.test\r\nX-Other: kept\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_forwarding_headers_are_replaced_by_the_front_doors_own() {
    // A colour that trusts X-Forwarded-For for rate limits or audit, or
    // X-Forwarded-Host/-Proto to build links, must not get them from any client
    // (nginx sends its own with `proxy_set_header`).
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c.ask(SPOOFED).await;
    assert_eq!(r.status(), 200, "{r:?}");
    let reqs = up.requests();
    assert_eq!(
        reqs[0].all("x-forwarded-for"),
        ["127.0.0.1"],
        "{:?}",
        reqs[0]
    );
    assert_eq!(reqs[0].all("x-forwarded-proto"), ["http"], "{:?}", reqs[0]);
    assert_eq!(
        reqs[0].all("x-forwarded-host"),
        ["front.test"],
        "{:?}",
        reqs[0]
    );
    assert_eq!(reqs[0].all("x-other"), ["kept"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_forwarding_headers_pass_through_and_the_client_is_appended() {
    // Behind another proxy (`trust_forwarded_headers = true`), what that proxy says wins.
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    fd.set_trust_forwarded_headers(true);
    let mut c = connect(addr).await;

    let spoofed = c.ask(SPOOFED).await;
    let plain = c.ask(&get("/plain")).await;
    for r in [&spoofed, &plain] {
        assert_eq!(r.status(), 200, "{r:?}");
    }
    let reqs = up.requests();
    // One line, as nginx's `$proxy_add_x_forwarded_for`: applications reading only the
    // first line still see the whole list.
    assert_eq!(
        reqs[0].all("x-forwarded-for"),
        ["10.0.0.1, 10.0.0.2, 127.0.0.1"],
        "{:?}",
        reqs[0]
    );
    assert_eq!(reqs[0].all("x-forwarded-proto"), ["https"]);
    assert_eq!(reqs[0].all("x-forwarded-host"), ["bank.test"]);
    assert_eq!(reqs[1].all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(reqs[1].all("x-forwarded-proto"), ["http"]);
    assert_eq!(reqs[1].all("x-forwarded-host"), ["front.test"]);

    // Trust can be withdrawn on a running front door (a definition update).
    fd.set_trust_forwarded_headers(false);
    let r = c.ask(SPOOFED).await;
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(up.requests()[2].all("x-forwarded-for"), ["127.0.0.1"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http11_requests_need_exactly_one_host_header() {
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    // HTTP/1.1 request message that lacks a Host header field and to any request message
    // that contains more than one Host header field line". nginx does the same, and also
    // refuses an empty Host.
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    for (request, why) in [
        (&b"GET /none HTTP/1.1\r\n\r\n"[..], "host"),
        (b"GET http://front.test/none HTTP/1.1\r\n\r\n", "host"),
        (
            b"GET /two HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
            "host",
        ),
        (
            b"GET /same HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\n\r\n",
            "host",
        ),
        (
            b"GET /two10 HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
            "host",
        ),
        (b"GET /empty HTTP/1.1\r\nHost: \r\n\r\n", "host"),
    ] {
        let mut c = connect(addr).await;
        let r = c.ask(request).await;
        let shown = String::from_utf8_lossy(request);
        assert_eq!(r.status(), 400, "{shown:?}: {r:?}");
        assert!(
            r.text().to_ascii_lowercase().contains(why),
            "{shown:?}: {}",
            r.text()
        );
        assert_eq!(r.all("connection"), ["close"], "{shown:?}");
        c.assert_closed().await;
    }
    assert_eq!(up.accepted(), 0, "a refused request reached the colour");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_chunked_body_gets_400_before_the_close() {
    // nginx answers "client sent invalid chunked body" with a 400; a connection closed
    // without a word leaves the client guessing (and retrying). A bare LF inside a
    // chunk extension is how requests are smuggled past proxies that read it as the
    // end of the line while the colour does not ("funky chunks").
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let head = b"POST /chunks HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        &b"zz\r\nhello\r\n0\r\n\r\n"[..],
        b"5 junk\r\nhello\r\n0\r\n\r\n",
        b"11111111111111111\r\n",
        b"5;ext=\"a\nb\"\r\nhello\r\n0\r\n\r\n",
        b"5;ext\n\r\nhello\r\n0\r\n\r\n",
        b"5;ext\rx\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nx-trailer: a\nb\r\n\r\n",
    ] {
        let mut c = connect(addr).await;
        let r = c.ask(&[&head[..], body].concat()).await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(r.status(), 400, "{shown:?}: {r:?}");
        assert!(r.text().contains("chunk"), "{shown:?}: {}", r.text());
        assert_eq!(r.all("connection"), ["close"], "{shown:?}");
        c.assert_closed().await;
    }
    // The colour never got a whole request out of any of them.
    assert!(
        up.log.requests.lock().expect("log lock").is_empty(),
        "a broken body reached the colour as a request"
    );
    // A well-formed body with an extension still goes through.
    let mut c = connect(addr).await;
    let r = c
        .ask(&[&head[..], b"5;name=\"v a\"\r\nhello\r\n0\r\n\r\n"].concat())
        .await;
    assert_eq!(
        (r.status(), r.text().as_str()),
        (200, "POST /chunks 5"),
        "{r:?}"
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_target_reaches_the_upstream_unchanged() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let targets = ["/a%20b/c?x=1&y=%2F", "/%7e/..%2f/x?q=a+b&&z=", "/?"];
    for target in targets {
        assert_eq!(c.ask(&get(target)).await.status(), 200, "{target}");
    }
    assert_eq!(up.targets(), targets);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_request_headers_reach_the_upstream_in_order() {
    let up = RawUpstream::echo().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c
        .ask(b"GET /dup HTTP/1.1\r\nHost: front.test\r\nx-custom: one\r\nx-other: between\r\nX-Custom: two\r\n\r\n")
        .await;
    assert_eq!(r.status(), 200, "{r:?}");
    let reqs = up.requests();
    assert_eq!(reqs[0].all("x-custom"), ["one", "two"]);
    assert_eq!(reqs[0].all("x-other"), ["between"]);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_text_header_values_cross_the_front_door_byte_exact() {
    let up = RawUpstream::answering(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Name: caf\xE9 cr\xE8me\r\n\r\nok".to_vec()
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = connect(addr).await;

    let r = c
        .ask(b"GET /obs HTTP/1.1\r\nHost: front.test\r\nX-Name: na\xEFve\r\n\r\n")
        .await;
    assert_eq!((r.status(), r.text().as_str()), (200, "ok"), "{r:?}");
    assert_eq!(r.raw("x-name"), Some(&b"caf\xE9 cr\xE8me"[..]));
    assert_eq!(up.requests()[0].raw("x-name"), Some(&b"na\xEFve"[..]));
    fd.shutdown().await;
}
