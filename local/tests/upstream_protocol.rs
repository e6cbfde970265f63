//! The front door's HTTP/1.1 behaviour towards a colour, pinned against raw upstreams.
//!
//! Each upstream here is a bare `TcpListener` whose task reads requests byte by byte and
//! writes exact response bytes, so the framing edge cases (chunked with extensions and
//! trailers, close-delimited bodies, HEAD, 204/304, 1xx, `Connection: close`, garbage,
//! silent closes) are under the test's control rather than a server library's. The
//! tests assert what a client of the front door sees and what the upstream received, so
//! that any implementation of the upstream leg can be checked against the same behaviour
//! (they were written against hyper's client, and the purpose-built leg that replaced it
//! passes them unchanged).
//!
//! Where a response's framing could desynchronise a kept-alive upstream connection, the
//! test also asserts that the follow-up request went over the same upstream connection:
//! a follow-up on a fresh connection would prove nothing about the framing.

#[path = "common/bodies.rs"]
mod bodies;
#[path = "common/bounded.rs"]
mod bounded;
#[path = "common/front_door.rs"]
mod front_door;
#[path = "common/listener.rs"]
mod listener;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bluegreen_local::frontdoor::FrontDoor;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame};
use hyper::client::conn::http1::SendRequest;
use hyper::http::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bodies::{assert_same_bytes, pattern};
use bounded::{within, UPSTREAM_READ};
use listener::{listen, Listening};
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------------------
// The raw upstream.

/// One request as the upstream parsed it off the wire.
#[derive(Debug, Clone)]
struct RawRequest {
    /// Index of the upstream connection it arrived on (0 for the first accepted).
    conn: usize,
    method: String,
    target: String,
    version: String,
    /// Names lower-cased, in wire order, duplicates kept.
    headers: Vec<(String, String)>,
    /// Decoded body (chunked framing removed).
    body: Vec<u8>,
    /// Whether the body arrived with `Transfer-Encoding: chunked`.
    chunked: bool,
}

impl RawRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What upstream connection tasks record, shared with the test.
#[derive(Default)]
struct Log {
    requests: Mutex<Vec<RawRequest>>,
    /// Malformed requests: a panic in an upstream task would not fail the test.
    errors: Mutex<Vec<String>>,
}

/// One accepted upstream connection, with its read buffer (bytes past the current
/// request belong to the next one).
struct Conn {
    index: usize,
    stream: TcpStream,
    buf: Vec<u8>,
    log: Arc<Log>,
}

impl Conn {
    /// Reads more bytes into the buffer; false at EOF, error or timeout.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(UPSTREAM_READ, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    /// Takes one CRLF-terminated line off the buffer (without the CRLF).
    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8(self.buf[..i].to_vec())
                    .map_err(|_| "a line that is not UTF-8".to_owned())?;
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if !self.fill().await {
                return Err("connection ended inside a line".to_owned());
            }
        }
    }

    /// Takes exactly `n` bytes off the buffer.
    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            if !self.fill().await {
                return Err(format!(
                    "connection ended with {} of {n} body bytes",
                    self.buf.len()
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads the next request (head and body) and records it; `None` when the
    /// connection ends cleanly between requests. A malformed request is recorded in
    /// the log's errors and ends the connection.
    async fn request(&mut self) -> Option<RawRequest> {
        while self.buf.is_empty() {
            if !self.fill().await {
                return None;
            }
        }
        match self.parse().await {
            Ok(req) => {
                self.log
                    .requests
                    .lock()
                    .expect("log lock")
                    .push(req.clone());
                Some(req)
            }
            Err(e) => {
                self.log.errors.lock().expect("log lock").push(e);
                None
            }
        }
    }

    async fn parse(&mut self) -> Result<RawRequest, String> {
        let request_line = self.line().await?;
        let mut parts = request_line.splitn(3, ' ');
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("bad request line {request_line:?}"));
        };
        let mut headers = Vec::new();
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            if name.is_empty() || name.ends_with(' ') {
                return Err(format!("bad header name in {line:?}"));
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut req = RawRequest {
            conn: self.index,
            method: method.to_owned(),
            target: target.to_owned(),
            version: version.to_owned(),
            headers,
            body: Vec::new(),
            chunked: false,
        };
        let te = req.header("transfer-encoding").map(str::to_ascii_lowercase);
        let cl = req.all("content-length");
        match (te, cl.as_slice()) {
            (Some(te), []) if te == "chunked" => {
                req.chunked = true;
                req.body = self.chunked_body().await?;
            }
            (Some(te), cl) => {
                return Err(format!(
                    "transfer-encoding {te:?} with content-length {cl:?}"
                ))
            }
            (None, []) => {}
            (None, [len]) => {
                let len: usize = len
                    .parse()
                    .map_err(|_| format!("bad content-length {len:?}"))?;
                req.body = self.exact(len).await?;
            }
            (None, many) => return Err(format!("several content-lengths {many:?}")),
        }
        Ok(req)
    }

    /// Decodes a chunked body, extensions and trailers included (RFC 9112 §7.1).
    async fn chunked_body(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line().await?;
            let size = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("bad chunk size line {size_line:?}"))?;
            if size == 0 {
                // Trailer section, then the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.exact(size).await?);
            if self.exact(2).await? != b"\r\n" {
                return Err("chunk data not followed by CRLF".to_owned());
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        // A write error means the front door went away; the test sees that its own way.
        let _ = self.stream.write_all(bytes).await;
        let _ = self.stream.flush().await;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
            handler(Conn {
                index,
                stream,
                buf: Vec::new(),
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

    /// The requests received so far, after checking that none was malformed.
    fn requests(&self) -> Vec<RawRequest> {
        let errors = self.log.errors.lock().expect("log lock").clone();
        assert!(errors.is_empty(), "malformed requests upstream: {errors:?}");
        self.log.requests.lock().expect("log lock").clone()
    }

    fn accepted(&self) -> usize {
        self.listening.accepted()
    }
}

// ---------------------------------------------------------------------------------------
// The front door and its clients.

async fn front_door_to(up: &RawUpstream) -> (FrontDoor, SocketAddr) {
    front_door::front_door_to_port("protocol", up.port).await
}

/// One keep-alive hyper client connection to the front door.
async fn client<B>(addr: SocketAddr) -> SendRequest<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = within("connect to the front door", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (sender, conn) = within(
        "client handshake",
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// What a client saw: status, headers, the whole body.
#[derive(Debug)]
struct Seen {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn send<B>(sender: &mut SendRequest<B>, req: Request<B>) -> Seen
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    within("client connection ready", sender.ready())
        .await
        .expect("client connection usable");
    let resp = within("response head", sender.send_request(req))
        .await
        .expect("a response");
    let (parts, body) = resp.into_parts();
    let body = within("response body", body.collect())
        .await
        .expect("a complete body")
        .to_bytes();
    Seen {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn request(method: Method, path: &str) -> hyper::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "front.test")
}

async fn get(sender: &mut SendRequest<Full<Bytes>>, path: &str) -> Seen {
    let req = request(Method::GET, path)
        .body(Full::new(Bytes::new()))
        .expect("request");
    send(sender, req).await
}

/// A request body of unknown length fed through a channel, which a client must send
/// chunked.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Sends `raw` over a fresh connection to the front door and reads to EOF (the
/// request should say `Connection: close`).
async fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut stream = within("connect to the front door", TcpStream::connect(addr))
        .await
        .expect("connect");
    within("write the raw request", stream.write_all(raw))
        .await
        .expect("write");
    let mut answer = Vec::new();
    within(
        "read the raw answer to EOF",
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("read");
    answer
}

// ---------------------------------------------------------------------------------------
// Response framing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_response_with_extension_and_trailers_is_forwarded_whole() {
    let up = RawUpstream::start(|mut conn| async move {
        while let Some(req) = conn.request().await {
            if req.target == "/chunked" {
                conn.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n\
                      5\r\nhello\r\n\
                      1;ext=1\r\n \r\n\
                      6\r\nchunky\r\n",
                )
                .await;
                // The rest in a separate write, so the parser sees a chunk boundary
                // fall between reads.
                tokio::time::sleep(Duration::from_millis(20)).await;
                conn.write(b"A\r\n, world!!!\r\n0\r\nx-checksum: 42\r\n\r\n")
                    .await;
            } else {
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
                    .await;
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let first = get(&mut c, "/chunked").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-bluegreen-color"), Some("blue"));
    assert_eq!(&first.body[..], b"hello chunky, world!!!");

    let second = get(&mut c, "/after").await;
    assert_eq!(second.status, 200);
    assert_eq!(&second.body[..], b"next");
    let reqs = up.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    // The trailer section was consumed exactly: the next request reused the connection.
    assert_eq!(
        reqs[1].conn, reqs[0].conn,
        "second request on a new connection"
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delimited_response_body_is_forwarded_whole() {
    let body = pattern(50_000, 7);
    let sent = body.clone();
    let up = RawUpstream::start(move |mut conn| {
        let body = sent.clone();
        async move {
            if conn.request().await.is_some() {
                conn.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .await;
                for piece in body.chunks(7_000) {
                    conn.write(piece).await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // Closing is what ends the body.
                let _ = conn.stream.shutdown().await;
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let seen = get(&mut c, "/eof").await;
    assert_eq!(seen.status, 200);
    assert_same_bytes(&seen.body, &body);
    // The client connection survives the upstream's close.
    let again = get(&mut c, "/eof").await;
    assert_same_bytes(&again.body, &body);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_content_length_body_written_in_pieces_arrives_exactly() {
    // Over 1 MiB and not a multiple of any buffer size.
    let body = pattern(1_572_871, 3);
    let sent = body.clone();
    let up = RawUpstream::start(move |mut conn| {
        let body = sent.clone();
        async move {
            while conn.request().await.is_some() {
                conn.write(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                )
                .await;
                for (i, piece) in body.chunks(65_537).enumerate() {
                    conn.write(piece).await;
                    if i % 4 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let seen = get(&mut c, "/big").await;
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_same_bytes(&seen.body, &body);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_response_has_length_but_no_body_and_keeps_the_connection_in_sync() {
    let up = RawUpstream::start(|mut conn| async move {
        while let Some(req) = conn.request().await {
            if req.method == "HEAD" {
                // The length a GET would have; no body follows.
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
                    .await;
            } else {
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget")
                    .await;
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let head = send(
        &mut c,
        request(Method::HEAD, "/doc")
            .body(Full::new(Bytes::new()))
            .expect("request"),
    )
    .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("1234"));
    assert!(head.body.is_empty(), "HEAD body {:?}", head.body);

    let get = get(&mut c, "/doc").await;
    assert_eq!(get.status, 200);
    assert_eq!(&get.body[..], b"get");

    let reqs = up.requests();
    let seen: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(seen, [("HEAD", "/doc"), ("GET", "/doc")]);
    assert!(reqs.iter().all(|r| r.body.is_empty()), "{reqs:?}");
    assert_eq!(reqs[1].conn, reqs[0].conn, "GET on a new connection");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_and_not_modified_have_no_body_and_keep_the_connection_in_sync() {
    let up = RawUpstream::start(|mut conn| async move {
        while let Some(req) = conn.request().await {
            let answer: &[u8] = match req.target.as_str() {
                "/204" => b"HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n",
                // A 304 may carry the length the 200 would have; it never has a body.
                "/304" => {
                    b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 10\r\n\r\n"
                }
                _ => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            };
            conn.write(answer).await;
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let no_content = get(&mut c, "/204").await;
    assert_eq!(no_content.status, 204);
    assert_eq!(no_content.header("x-kind"), Some("none"));
    assert!(no_content.body.is_empty());

    let not_modified = get(&mut c, "/304").await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("etag"), Some("\"v1\""));
    assert!(not_modified.body.is_empty());

    let ok = get(&mut c, "/ok").await;
    assert_eq!(ok.status, 200);
    assert_eq!(&ok.body[..], b"ok");

    let reqs = up.requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert!(
        reqs.iter().all(|r| r.conn == reqs[0].conn),
        "bodiless answers cost the upstream connection: {:?}",
        reqs.iter().map(|r| r.conn).collect::<Vec<_>>()
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_hints_before_the_final_answer_do_not_replace_it() {
    let up = RawUpstream::start(|mut conn| async move {
        while let Some(req) = conn.request().await {
            if req.target == "/hints" {
                conn.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal")
                    .await;
            } else {
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
                    .await;
            }
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let seen = get(&mut c, "/hints").await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.header("x-final"), Some("yes"));
    assert_eq!(&seen.body[..], b"final");

    let next = get(&mut c, "/next").await;
    assert_eq!(next.status, 200);
    assert_eq!(&next.body[..], b"next");
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Request bodies.

/// An upstream that answers every request with `201` and the length it decoded.
async fn echo_length_upstream() -> RawUpstream {
    RawUpstream::start(|mut conn| async move {
        while let Some(req) = conn.request().await {
            let text = format!("got {}", req.body.len());
            conn.write(
                format!(
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
                .as_bytes(),
            )
            .await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_request_body_reaches_the_upstream_exactly() {
    let up = echo_length_upstream().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;
    let body = pattern(100 * 1024, 11);

    let seen = send(
        &mut c,
        request(Method::POST, "/upload")
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(body.clone())))
            .expect("request"),
    )
    .await;
    assert_eq!(seen.status, 201);
    assert_eq!(&seen.body[..], format!("got {}", body.len()).as_bytes());

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/upload"));
    assert_eq!(r.all("content-length"), [body.len().to_string()]);
    assert!(!r.chunked, "a known length was re-framed as chunked");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_same_bytes(&r.body, &body);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_request_body_reaches_the_upstream_decoded() {
    let up = echo_length_upstream().await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client::<ChannelBody>(addr).await;
    // Uneven pieces, one of them larger than typical read buffers.
    let pieces: Vec<Vec<u8>> = [1, 4096, 70_000, 13, 9_999]
        .iter()
        .enumerate()
        .map(|(i, &n)| pattern(n, i as u8))
        .collect();
    let whole: Vec<u8> = pieces.concat();

    let (tx, rx) = mpsc::channel(1);
    let feed = async move {
        for p in pieces {
            tx.send(Bytes::from(p)).await.expect("body channel open");
            // Pauses make the pieces arrive as separate chunks.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Dropping the sender ends the body.
    };
    let req = request(Method::POST, "/stream")
        .body(ChannelBody(rx))
        .expect("request");
    let (seen, ()) = tokio::join!(send(&mut c, req), feed);
    assert_eq!(seen.status, 201);
    assert_eq!(&seen.body[..], format!("got {}", whole.len()).as_bytes());

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    // Either framing is correct upstream, as long as it is one and consistent.
    if r.chunked {
        assert!(r.header("content-length").is_none(), "{r:?}");
    } else {
        assert_eq!(r.all("content-length"), [whole.len().to_string()]);
    }
    assert_same_bytes(&r.body, &whole);
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Connection management and failures.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connection_close_answer_leads_to_a_new_connection() {
    // Every connection serves one request, says so, and closes.
    let up = RawUpstream::start(|mut conn| async move {
        if conn.request().await.is_some() {
            let text = format!("conn {}", conn.index);
            conn.write(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                )
                .as_bytes(),
            )
            .await;
            let _ = conn.stream.shutdown().await;
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    for i in 0..3 {
        let seen = get(&mut c, "/once").await;
        assert_eq!(seen.status, 200, "request {i}: {seen:?}");
        assert!(seen.body.starts_with(b"conn "), "request {i}: {seen:?}");
    }
    assert!(
        up.accepted() >= 3,
        "{} upstream connections for 3 requests on close-after-one connections",
        up.accepted()
    );
    fd.shutdown().await;
}

fn assert_bad_gateway(seen: &Seen) {
    assert_eq!(seen.status, 502, "{seen:?}");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-bluegreen-color"), Some("blue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answer_is_a_bad_gateway() {
    let up = RawUpstream::start(|mut conn| async move {
        if conn.request().await.is_some() {
            conn.write(b"NOT HTTP\r\n\r\n").await;
            let _ = conn.stream.shutdown().await;
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let seen = get(&mut c, "/x").await;
    assert_bad_gateway(&seen);
    // The client connection is still usable after a 502.
    let again = get(&mut c, "/x").await;
    assert_bad_gateway(&again);
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_closing_without_answer_is_a_prompt_bad_gateway() {
    let up = RawUpstream::start(|mut conn| async move {
        // Read the request, answer nothing, close.
        let _ = conn.request().await;
        drop(conn);
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    // `send` bounds each step, so a hang fails here rather than blocking.
    let seen = get(&mut c, "/x").await;
    assert_bad_gateway(&seen);
    let again = get(&mut c, "/x").await;
    assert_bad_gateway(&again);
    assert!(up.accepted() >= 1);
    fd.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Headers and request targets.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_stop_at_the_front_door_both_ways() {
    let up = RawUpstream::start(|mut conn| async move {
        while conn.request().await.is_some() {
            conn.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, x-up-secret\r\n\
                  Keep-Alive: timeout=5\r\nx-up-secret: 1\r\nx-end-to-end: kept\r\n\r\nok",
            )
            .await;
        }
    })
    .await;
    let (fd, addr) = front_door_to(&up).await;
    let mut c = client(addr).await;

    let seen = send(
        &mut c,
        request(Method::GET, "/h")
            .header("connection", "x-secret")
            .header("x-secret", "1")
            .header("keep-alive", "timeout=5")
            .header("te", "trailers")
            .header("x-end-to-end", "kept")
            .body(Full::new(Bytes::new()))
            .expect("request"),
    )
    .await;
    assert_eq!(seen.status, 200);
    assert_eq!(&seen.body[..], b"ok");
    // Upstream → client.
    assert!(seen.headers.get("keep-alive").is_none(), "{seen:?}");
    assert!(seen.headers.get("x-up-secret").is_none(), "{seen:?}");
    for v in seen.headers.get_all("connection") {
        let v = v.to_str().unwrap_or_default().to_ascii_lowercase();
        assert!(
            !v.contains("keep-alive") && !v.contains("x-up-secret"),
            "upstream's Connection reached the client: {v:?}"
        );
    }
    assert_eq!(seen.header("x-end-to-end"), Some("kept"));

    // Client → upstream.
    let reqs = up.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    for name in ["x-secret", "keep-alive", "te"] {
        assert!(r.header(name).is_none(), "upstream received {name}: {r:?}");
    }
    for v in r.all("connection") {
        assert!(
            !v.to_ascii_lowercase().contains("x-secret"),
            "upstream received Connection: {v:?}"
        );
    }
    assert_eq!(r.header("x-end-to-end"), Some("kept"));
    assert_eq!(r.all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(r.all("x-forwarded-proto"), ["http"]);
    assert_eq!(r.all("host"), ["front.test"]);
    assert_eq!(r.version, "HTTP/1.1");
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_target_reaches_the_upstream_in_origin_form() {
    let up = echo_length_upstream().await;
    let (fd, addr) = front_door_to(&up).await;

    let answer = raw_exchange(
        addr,
        b"GET http://example.test/a?b=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        answer.starts_with(b"HTTP/1.1 201 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    let reqs = up.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].target, "/a?b=1");
    assert_eq!(reqs[0].all("host"), ["example.test"]);
    fd.shutdown().await;
}
