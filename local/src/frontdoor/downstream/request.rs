//! Reading a client's request head (RFC 9112 §3–§6): where its parts lie in the read
//! buffer, how its body is framed, whether the connection stays open, and which header
//! lines go on to the colour. Nothing is copied: the head is forwarded from the buffer.

use std::mem::MaybeUninit;

use crate::frontdoor::forwarding_headers::is_forwarding;
use crate::frontdoor::head::{self, Span};
use crate::frontdoor::hop_by_hop;
use crate::frontdoor::upstream::parse_content_length;

/// The largest request head accepted (nginx: 4 buffers of 8 KiB by default).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines accepted (hyper's default is 100).
const MAX_HEADERS: usize = 128;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (neither `Content-Length` nor `Transfer-Encoding`, or a length of 0).
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A complete request head at the front of the read buffer. Positions are offsets into
/// that buffer, valid until [`Parsed::consumed`] bytes are removed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Length of the head, final empty line included.
    pub consumed: usize,
    /// The method.
    pub method: (u32, u32),
    /// The target in origin form (or `*`), without the `/` that [`Parsed::slash`] adds.
    pub target: (u32, u32),
    /// Whether a `/` goes before [`Parsed::target`] (an absolute-form target whose path is
    /// empty, like `http://host?q=1`).
    pub slash: bool,
    /// HTTP/1.0 rather than HTTP/1.1.
    pub http10: bool,
    /// A HEAD request: its answer has no body.
    pub is_head: bool,
    /// GET, HEAD, OPTIONS, TRACE, PUT or DELETE (RFC 9110 §9.2.2).
    pub idempotent: bool,
    /// The body's framing.
    pub body: BodyFraming,
    /// The length the client declared (0 included), when the body is not chunked.
    pub content_length: Option<u64>,
    /// Whether the client may send another request on this connection.
    pub keep_alive: bool,
    /// `Expect: 100-continue` from an HTTP/1.1 client.
    pub expect_continue: bool,
    /// The client's `Host` value (none from an HTTP/1.0 client that sent none).
    pub host: Option<(u32, u32)>,
    /// Client `X-Forwarded-For` lines go on (trusted), joined with the client's address.
    pub forwarded_for: bool,
    /// A client `X-Forwarded-Proto` goes on (trusted) instead of the front door's own.
    pub has_forwarded_proto: bool,
    /// A client `X-Forwarded-Host` goes on (trusted) instead of the front door's own.
    pub has_forwarded_host: bool,
    /// A protocol upgrade (`Connection: upgrade` and `Upgrade: <token>`) from an
    /// HTTP/1.1 client, without a body: its `Upgrade` lines go on with
    /// `Connection: upgrade`, and a `101` answer turns the connection into a tunnel.
    pub upgrade: bool,
}

/// A request the front door refuses; the answer says why and the connection closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a well-formed HTTP/1.x request head.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The head is larger than [`MAX_HEAD`] or has more than 128 header lines.
    #[error("the request head is larger than {MAX_HEAD} bytes or has more than {MAX_HEADERS} header lines")]
    TooLarge,
    /// HTTP/2 or another version.
    #[error("only HTTP/1.0 and HTTP/1.1 are served")]
    Version,
    /// A transfer coding other than chunked.
    #[error(
        "transfer coding {0:?} is not supported (send the body chunked or with Content-Length)"
    )]
    Coding(String),
    /// CONNECT: the front door is not a forward proxy.
    #[error("CONNECT is not supported: the front door is a reverse proxy")]
    Connect,
}

impl RequestError {
    /// The status code of the answer.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Malformed(_) => 400,
            RequestError::TooLarge => 431,
            RequestError::Version => 505,
            RequestError::Coding(_) => 501,
            RequestError::Connect => 405,
        }
    }
}

/// Parses the request head at the front of `buf`; `Ok(None)` means more bytes are
/// needed. `kept` receives the header lines to forward: all but the hop-by-hop ones
/// (and those `Connection` lists), `Expect`, `Content-Length` (re-written from the
/// framing), and, unless `trust_forwarded` (another proxy in front sets them), the
/// client's `X-Forwarded-For`, `-Proto` and `-Host`, which the front door replaces.
pub fn parse(
    buf: &[u8],
    kept: &mut Vec<Span>,
    trust_forwarded: bool,
) -> Result<Option<Parsed>, RequestError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let consumed = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(n)) if n <= MAX_HEAD => n,
        Ok(httparse::Status::Complete(_)) => return Err(RequestError::TooLarge),
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(RequestError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooLarge),
        Err(httparse::Error::Version) => return Err(RequestError::Version),
        Err(e) => return Err(RequestError::Malformed(e.to_string())),
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed("incomplete request line".into()));
    };
    let at = |s: &[u8]| (s.as_ptr() as usize - buf.as_ptr() as usize) as u32;
    let method_span = (
        at(method.as_bytes()),
        at(method.as_bytes()) + method.len() as u32,
    );
    if method == "CONNECT" {
        return Err(RequestError::Connect);
    }
    let (target, slash) = origin_form(path.as_bytes())?;
    let target_span = (at(target), at(target) + target.len() as u32);
    head::spans_of(buf, req.headers, kept);

    let http10 = version == 0;
    let mut fields = Fields::default();
    for &span in kept.iter() {
        fields.note(buf, span)?;
    }
    // RFC 9112 §3.2 and nginx; HTTP/1.0 did not require Host, so its absence is fine.
    if !http10 && fields.host.is_none() {
        return Err(RequestError::Malformed(
            "an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)".into(),
        ));
    }
    if http10 && fields.chunked.is_some() {
        // Chunked did not exist in HTTP/1.0: such framing is faulty (RFC 9112 §6.1), and
        // hyper's server refused it too.
        return Err(RequestError::Malformed(
            "Transfer-Encoding in an HTTP/1.0 request".into(),
        ));
    }
    let body = match (fields.chunked, fields.content_length) {
        (Some(_), _) => BodyFraming::Chunked,
        (None, Some(0)) | (None, None) => BodyFraming::None,
        (None, Some(n)) => BodyFraming::Length(n),
    };
    // A length beside a coding is how requests are smuggled: the colour never sees the
    // length, and the connection ends after this request (RFC 9112 §6.1).
    let smuggling_risk = fields.chunked.is_some() && fields.content_length.is_some();
    let keep_alive =
        !fields.close && !smuggling_risk && (if http10 { fields.keep_alive } else { true });
    // The framing headers are written by `forward::encode_head` from what was decided
    // here, never copied: a colour must frame the body exactly as the front door did.
    let drop_forwarding = !trust_forwarded && fields.forwarding;
    // An upgrade request with a body is served as a plain request (RFC 9110 §7.8 lets a
    // server ignore `Upgrade`): once the body is passed on, the bytes after it could be
    // the next request or the new protocol, and a tunnel must not start on a guess.
    let upgrade =
        !http10 && fields.connection_upgrade && fields.upgrade && body == BodyFraming::None;
    kept.retain(|&(n0, n1, _, _)| {
        let name = &buf[n0 as usize..n1 as usize];
        if upgrade && name.eq_ignore_ascii_case(b"upgrade") {
            return true;
        }
        !(hop_by_hop::is_hop_by_hop(name)
            || (drop_forwarding && is_forwarding(name))
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"content-length")
            || fields
                .listed
                .iter()
                .any(|&(a, b)| buf[a as usize..b as usize].eq_ignore_ascii_case(name)))
    });
    Ok(Some(Parsed {
        consumed,
        method: method_span,
        target: target_span,
        slash,
        http10,
        is_head: method == "HEAD",
        idempotent: matches!(
            method,
            "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
        ),
        body,
        content_length: if fields.chunked.is_some() {
            None
        } else {
            fields.content_length
        },
        keep_alive,
        expect_continue: fields.expect_continue && !http10,
        host: fields.host,
        forwarded_for: trust_forwarded && fields.forwarded_for,
        has_forwarded_proto: trust_forwarded && fields.forwarded_proto,
        has_forwarded_host: trust_forwarded && fields.forwarded_host,
        upgrade,
    }))
}

/// The origin-form part of a request target: origin form and `*` as they are; absolute
/// form (`http://host/p?q`) reduced to its path and query (RFC 9112 §3.2). The flag says
/// a `/` must go first (the path was empty).
fn origin_form(target: &[u8]) -> Result<(&[u8], bool), RequestError> {
    if target.first() == Some(&b'/') || target == b"*" {
        return Ok((target, false));
    }
    let scheme_end = target
        .windows(3)
        .position(|w| w == b"://")
        .filter(|&i| {
            let scheme = &target[..i];
            scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")
        })
        .ok_or_else(|| {
            RequestError::Malformed(format!(
                "request target {:?} is neither a path nor an http URL",
                String::from_utf8_lossy(target)
            ))
        })?;
    let rest = &target[scheme_end + 3..];
    match rest.iter().position(|b| *b == b'/' || *b == b'?') {
        Some(i) if rest[i] == b'/' => Ok((&rest[i..], false)),
        Some(i) => Ok((&rest[i..], true)),
        None => Ok((&rest[rest.len()..], true)),
    }
}

/// What the headers that matter to the front door said.
#[derive(Default)]
struct Fields {
    /// `Some` when there is a Transfer-Encoding (it must be exactly chunked).
    chunked: Option<()>,
    content_length: Option<u64>,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    /// The `Host` value's span.
    host: Option<(u32, u32)>,
    /// Any of the three forwarding headers.
    forwarding: bool,
    forwarded_for: bool,
    forwarded_proto: bool,
    forwarded_host: bool,
    /// `Connection` lists `upgrade`.
    connection_upgrade: bool,
    /// An `Upgrade` line with a token in it.
    upgrade: bool,
    /// Names `Connection` lists besides close / keep-alive, as spans of the buffer.
    listed: Vec<(u32, u32)>,
}

impl Fields {
    /// Notes the header line at `span` of `buf`.
    fn note(&mut self, buf: &[u8], (n0, n1, v0, v1): Span) -> Result<(), RequestError> {
        let name = &buf[n0 as usize..n1 as usize];
        let value = &buf[v0 as usize..v1 as usize];
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                // Two Host lines would let the front door and the colour disagree on
                // which site is asked for (RFC 9112 §3.2: 400).
                if self.host.is_some() {
                    return Err(RequestError::Malformed("more than one Host header".into()));
                }
                if value.trim_ascii().is_empty() {
                    return Err(RequestError::Malformed(
                        "the Host header is empty: send the site's name".into(),
                    ));
                }
                self.host = Some((v0, v1));
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => {
                self.upgrade |= head::tokens(value).next().is_some()
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                self.expect_continue |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue")
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in head::tokens(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        self.connection_upgrade = true;
                    } else if !hop_by_hop::is_end_to_end_essential(token) {
                        let at = (token.as_ptr() as usize - buf.as_ptr() as usize) as u32;
                        self.listed.push((at, at + token.len() as u32));
                    }
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let n = parse_content_length(value).ok_or_else(|| {
                    RequestError::Malformed(format!(
                        "Content-Length {:?} is not a number",
                        String::from_utf8_lossy(value)
                    ))
                })?;
                if self.content_length.is_some_and(|l| l != n) {
                    return Err(RequestError::Malformed(
                        "conflicting Content-Length headers".into(),
                    ));
                }
                self.content_length = Some(n);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                for coding in head::tokens(value) {
                    // Only chunked, once: any other coding (or chunked twice) would
                    // reach the colour undeclared, or not be a body we can delimit.
                    if !coding.eq_ignore_ascii_case(b"chunked") || self.chunked.is_some() {
                        return Err(RequestError::Coding(
                            String::from_utf8_lossy(value).into_owned(),
                        ));
                    }
                    self.chunked = Some(());
                }
            }
            15 if name.eq_ignore_ascii_case(b"x-forwarded-for") => {
                self.forwarding = true;
                self.forwarded_for = true;
            }
            16 if name.eq_ignore_ascii_case(b"x-forwarded-host") => {
                self.forwarding = true;
                self.forwarded_host = true;
            }
            17 if name.eq_ignore_ascii_case(b"x-forwarded-proto") => {
                self.forwarding = true;
                self.forwarded_proto = true;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontdoor::downstream::forward::{encode_head, Forwarding};

    fn parse(buf: &[u8], kept: &mut Vec<Span>) -> Result<Option<Parsed>, RequestError> {
        super::parse(buf, kept, false)
    }

    /// Parses `raw` and encodes what the colour would get, as text.
    fn forwarded(raw: &str) -> (Parsed, String) {
        let mut kept = Vec::new();
        let req = parse(raw.as_bytes(), &mut kept)
            .expect("valid")
            .expect("complete");
        let mut out = Vec::new();
        let fwd = Forwarding {
            default_host: b"127.0.0.1:9",
            forwarded_for: b"127.0.0.2",
        };
        encode_head(raw.as_bytes(), &req, &kept, fwd, &mut out);
        (req, String::from_utf8(out).expect("ascii"))
    }

    fn refused(raw: &str) -> RequestError {
        parse(raw.as_bytes(), &mut Vec::new()).expect_err("refused")
    }

    #[test]
    fn a_plain_get_goes_on_byte_for_byte_with_forwarding_lines() {
        let raw = "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: example.test\r\nX-Two: 1\r\nx-two: 2\r\n\r\nNEXT";
        let (req, head) = forwarded(raw);
        assert_eq!(
            head,
            "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: example.test\r\nX-Two: 1\r\nx-two: 2\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: example.test\r\n\r\n"
        );
        // The next request's bytes stay in the buffer.
        assert_eq!(req.consumed, raw.len() - "NEXT".len());
        assert!(req.keep_alive && req.idempotent && !req.is_head && !req.http10);
        assert_eq!(req.body, BodyFraming::None);
    }

    #[test]
    fn hop_by_hop_expect_and_listed_headers_stop_here() {
        let (req, head) = forwarded(
            "POST /p HTTP/1.1\r\nhost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: websocket\r\nExpect: 100-continue\r\nContent-Length: 3\r\nX-Forwarded-Proto: https\r\n\r\n",
        );
        assert_eq!(
            head,
            "POST /p HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: h\r\ncontent-length: 3\r\n\r\n"
        );
        assert_eq!(req.body, BodyFraming::Length(3));
        assert!(req.expect_continue && req.keep_alive && !req.idempotent);
    }

    #[test]
    fn an_upgrade_keeps_its_upgrade_lines_and_says_so_in_connection() {
        let (req, head) = forwarded(
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n",
        );
        assert!(req.upgrade);
        assert_eq!(
            head,
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: h\r\nconnection: upgrade\r\n\r\n"
        );
        // Not an upgrade: without `Connection: upgrade`, from HTTP/1.0, with a body, or
        // with an empty `Upgrade`. The colour sees a plain request.
        for raw in [
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
            "GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            "POST /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\n",
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: \r\n\r\n",
        ] {
            let (req, head) = forwarded(raw);
            assert!(!req.upgrade, "{raw:?}");
            assert!(!head.to_ascii_lowercase().contains("upgrade"), "{raw:?}: {head}");
        }
    }

    #[test]
    fn connection_cannot_take_the_length_or_host_away() {
        // Otherwise the front door would read a 32-byte body the colour knows nothing
        // of, and the colour would take those bytes for a second request.
        let (req, head) = forwarded(
            "POST /x HTTP/1.1\r\nHost: a\r\nConnection: content-length, host\r\nContent-Length: 32\r\n\r\n",
        );
        assert_eq!(req.body, BodyFraming::Length(32));
        assert_eq!(
            head,
            "POST /x HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: a\r\ncontent-length: 32\r\n\r\n"
        );
        let (req, head) = forwarded("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(req.body, BodyFraming::None);
        assert!(head.ends_with("content-length: 0\r\n\r\n"), "{head}");
    }

    #[test]
    fn a_chunked_body_is_announced_once_and_a_length_beside_it_is_dropped() {
        let (req, head) = forwarded(
            "PUT /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
        );
        assert_eq!(
            head,
            "PUT /p HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: h\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(req.body, BodyFraming::Chunked);
        // Length and coding together: served, but the connection closes afterwards.
        assert!(!req.keep_alive);
    }

    #[test]
    fn absolute_form_becomes_origin_form_and_http10_gets_the_colours_host() {
        let (_, head) =
            forwarded("GET http://example.test/a?b HTTP/1.1\r\nHost: example.test\r\n\r\n");
        assert!(head.starts_with("GET /a?b HTTP/1.1\r\n"), "{head}");
        let (_, head) =
            forwarded("GET HTTP://example.test?b HTTP/1.1\r\nHost: example.test\r\n\r\n");
        assert!(head.starts_with("GET /?b HTTP/1.1\r\n"), "{head}");
        let (req, head) = forwarded("GET http://example.test HTTP/1.0\r\n\r\n");
        assert!(
            head.starts_with("GET / HTTP/1.1\r\nhost: 127.0.0.1:9\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nx-forwarded-host: 127.0.0.1:9\r\n"),
            "{head}"
        );
        assert!(req.http10 && !req.keep_alive);
        let (req, _) = forwarded("OPTIONS * HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(req.http10 && req.keep_alive);
    }

    #[test]
    fn connection_close_ends_the_connection_and_head_requests_are_marked() {
        let (req, _) = forwarded("HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assert!(req.is_head && !req.keep_alive);
    }

    #[test]
    fn partial_heads_wait() {
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: h\r\n", &mut Vec::new()),
            Ok(None)
        );
        assert_eq!(parse(b"GE", &mut Vec::new()), Ok(None));
    }

    #[test]
    fn client_forwarding_lines_are_replaced_unless_trusted() {
        let raw = "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nx-forwarded-for:  10.0.0.2 \r\n\r\n";
        let (_, head) = forwarded(raw);
        assert_eq!(
            head,
            "GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\nx-forwarded-host: h\r\n\r\n"
        );
        let mut kept = Vec::new();
        let req = super::parse(raw.as_bytes(), &mut kept, true)
            .expect("valid")
            .expect("complete");
        let mut out = Vec::new();
        let fwd = Forwarding {
            default_host: b"127.0.0.1:9",
            forwarded_for: b"127.0.0.2",
        };
        encode_head(raw.as_bytes(), &req, &kept, fwd, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nx-forwarded-for: 10.0.0.1, 10.0.0.2, 127.0.0.2\r\n\r\n"
        );
    }

    #[test]
    fn http11_needs_one_host_and_http10_none() {
        for raw in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET http://h/ HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost:\r\n\r\n",
        ] {
            let e = refused(raw);
            assert_eq!(e.status(), 400, "{raw:?}");
            assert!(e.to_string().contains("Host"), "{raw:?}: {e}");
        }
        let (req, _) = forwarded("GET / HTTP/1.0\r\n\r\n");
        assert_eq!(req.host, None);
    }

    #[test]
    fn bad_requests_are_refused_with_the_right_status() {
        assert_eq!(refused("GARBAGE\r\n\r\n").status(), 400);
        assert_eq!(refused("GET / HTTP/2.0\r\n\r\n").status(), 505);
        assert_eq!(
            refused("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").status(),
            400
        );
        assert_eq!(
            refused("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").status(),
            400
        );
        assert_eq!(
            refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status(),
            501
        );
        assert_eq!(
            refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n").status(),
            501
        );
        assert_eq!(
            refused("CONNECT example.test:443 HTTP/1.1\r\n\r\n").status(),
            405
        );
        assert_eq!(refused("GET example.test/a HTTP/1.1\r\n\r\n").status(), 400);
        let huge = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(refused(&huge).status(), 431);
        let partial_huge = format!("GET / HTTP/1.1\r\nx: {}", "a".repeat(MAX_HEAD + 1));
        assert_eq!(refused(&partial_huge).status(), 431);
        let many: String = (0..200).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(
            refused(&format!("GET / HTTP/1.1\r\n{many}\r\n")).status(),
            431
        );
    }
}
