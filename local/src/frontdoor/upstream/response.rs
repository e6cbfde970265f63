//! Reading a colour's response head and deciding how its body is framed
//! (RFC 9112 §6.3), so the body can be streamed and the connection reused safely.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};

use crate::api::COLOR_HEADER;
use crate::frontdoor::head::{self, status_line, Span};
use crate::frontdoor::hop_by_hop;

/// The largest response head we accept (nginx's default buffer is 4–8 KiB).
pub const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;

/// How the body after the head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the colour closes the connection.
    UntilClose,
    /// None: the colour switched protocols (`101` to an upgrade request) and the
    /// connection is now a tunnel.
    Switched,
}

/// What the front door needs to know of a final response head; the head itself, filtered
/// for forwarding, went into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Status code, 200–999 (1xx answers are skipped).
    pub status: u16,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection can carry another request once the body is read.
    pub keep_alive: bool,
    /// Whether the colour sent a `Date` (otherwise the front door adds one).
    pub has_date: bool,
}

/// A response head that is not HTTP/1.x or breaks its rules.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    #[error("the colour's answer is not HTTP/1.1: {0}")]
    Malformed(String),
    #[error("the colour's response head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("the colour answered 101 Switching Protocols to a request that asked for no upgrade")]
    Upgrade,
}

/// Parses one final response head from the front of `buf`, skipping interim (1xx)
/// answers; `None` means more bytes are needed. Consumed bytes are removed from `buf`.
/// To a request that asked for an `upgrade`, a `101` is final: its head keeps its
/// `Upgrade` lines, its framing is [`Framing::Switched`], and what follows it in `buf`
/// is the new protocol's.
///
/// The head to send on is written into `out` at once: the status line (as HTTP/1.1) and
/// the colour's header lines byte for byte, minus the hop-by-hop ones (RFC 9110 §7.6.1:
/// the fixed set and those `Connection` lists) and minus a `Content-Length` beside a
/// `Transfer-Encoding`; no terminating empty line, so the caller can add its own headers.
/// Nothing is copied into a header map: building one was the largest cost of the
/// upstream leg (callgrind, BENCHMARKS.md §3b).
pub fn parse(
    buf: &mut BytesMut,
    is_head_request: bool,
    upgrade: bool,
    spans: &mut Vec<Span>,
    out: &mut Vec<u8>,
) -> Result<Option<Head>, HeadError> {
    loop {
        let (consumed, code, version) = {
            // Uninitialised slots: filling 128 empty headers per answer cost more than
            // parsing the few an answer has.
            let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default()
                .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
            let consumed = match parsed {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                    return Err(HeadError::TooLarge)
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(e) => return Err(HeadError::Malformed(e.to_string())),
            };
            if consumed > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let code = resp.code.unwrap_or(0);
            if !(100..=999).contains(&code) {
                return Err(HeadError::Malformed(format!("status code {code}")));
            }
            if code >= 200 || (code == 101 && upgrade) {
                head::spans_of(buf, resp.headers, spans);
                // The colour's reason phrase, or the standard one if it sent none (or one
                // that is not plain text).
                status_line(out, code, resp.reason.unwrap_or(""));
            }
            (consumed, code, resp.version)
        };
        let switched = code == 101;
        if switched && !upgrade {
            return Err(HeadError::Upgrade);
        }
        if code < 200 && !switched {
            // 100 / 103 are hints for the client of the colour, which we are: skip them.
            buf.advance(consumed);
            continue;
        }
        let fields = Fields::read(&buf[..consumed], spans)?;
        for &(n0, n1, v0, v1) in spans.iter() {
            let name = &buf[n0 as usize..n1 as usize];
            // The protocol switched to is the one thing of the 101 the client must see.
            if switched && name.eq_ignore_ascii_case(b"upgrade") {
                head::write_line(out, name, &buf[v0 as usize..v1 as usize]);
                continue;
            }
            if hop_by_hop::is_hop_by_hop(name)
                || fields.lists(&buf[..consumed], name)
                // The front door says which colour answered; a colour cannot.
                || name.eq_ignore_ascii_case(COLOR_HEADER.as_bytes())
                || (fields.transfer_encoding.is_some()
                    && name.eq_ignore_ascii_case(b"content-length"))
            {
                // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): a stale
                // length must not reach the client beside a body of another size.
                continue;
            }
            head::write_line(out, name, &buf[v0 as usize..v1 as usize]);
        }
        let framing = if switched {
            Framing::Switched
        } else {
            fields.framing(code, is_head_request)
        };
        let keep_alive = version == Some(1)
            && !matches!(framing, Framing::UntilClose | Framing::Switched)
            && !fields.connection_close;
        buf.advance(consumed);
        return Ok(Some(Head {
            status: code,
            framing,
            keep_alive,
            has_date: fields.has_date,
        }));
    }
}

/// What the framing and connection headers said.
#[derive(Default)]
struct Fields {
    /// Whether the last transfer coding is chunked, if there was a Transfer-Encoding.
    transfer_encoding: Option<bool>,
    content_length: Option<u64>,
    connection_close: bool,
    has_date: bool,
    /// Spans of the names `Connection` lists besides close / keep-alive: hop-by-hop too.
    connection_listed: Vec<(u32, u32)>,
}

impl Fields {
    fn read(head: &[u8], spans: &[Span]) -> Result<Self, HeadError> {
        let mut fields = Fields::default();
        for &(n0, n1, v0, v1) in spans {
            let name = &head[n0 as usize..n1 as usize];
            let value = &head[v0 as usize..v1 as usize];
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = parse_content_length(value)
                    .ok_or_else(|| HeadError::Malformed("invalid Content-Length".into()))?;
                if fields.content_length.is_some_and(|l| l != n) {
                    return Err(HeadError::Malformed(
                        "conflicting Content-Length values".into(),
                    ));
                }
                fields.content_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                // Chunked must be the final coding; anything else is read until close (§6.3).
                if let Some(last) = head::tokens(value).last() {
                    fields.transfer_encoding = Some(last.eq_ignore_ascii_case(b"chunked"));
                }
                fields.transfer_encoding.get_or_insert(false);
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in head::tokens(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        fields.connection_close = true;
                    } else if !token.eq_ignore_ascii_case(b"keep-alive")
                        && !hop_by_hop::is_end_to_end_essential(token)
                    {
                        let at = (token.as_ptr() as usize - head.as_ptr() as usize) as u32;
                        fields.connection_listed.push((at, at + token.len() as u32));
                    }
                }
            } else if name.eq_ignore_ascii_case(b"date") {
                fields.has_date = true;
            }
        }
        Ok(fields)
    }

    /// Whether `Connection` lists `name`.
    fn lists(&self, head: &[u8], name: &[u8]) -> bool {
        self.connection_listed
            .iter()
            .any(|&(a, b)| head[a as usize..b as usize].eq_ignore_ascii_case(name))
    }

    fn framing(&self, status: u16, is_head_request: bool) -> Framing {
        if is_head_request || status == 204 || status == 304 {
            return Framing::Empty;
        }
        match (self.transfer_encoding, self.content_length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) | (None, None) => Framing::UntilClose,
            (None, Some(0)) => Framing::Empty,
            (None, Some(n)) => Framing::Length(n),
        }
    }
}

/// A `Content-Length` value: digits, or a list of equal ones (RFC 9110 §8.6).
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    let mut length = None;
    for part in value.split(|b| *b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if length.is_some_and(|l| l != n) {
            return None;
        }
        length = Some(n);
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: bool = false;
    const HEAD: bool = true;

    /// The parsed head and the head written for the client, as text.
    fn parse_all(raw: &str, is_head: bool) -> Result<Option<(Head, String)>, HeadError> {
        let mut buf = BytesMut::from(raw.as_bytes());
        let mut out = Vec::new();
        Ok(parse(&mut buf, is_head, false, &mut Vec::new(), &mut out)?
            .map(|head| (head, String::from_utf8_lossy(&out).into_owned())))
    }

    fn framing_of(raw: &str, is_head: bool) -> (Framing, bool) {
        let (head, _) = parse_all(raw, is_head).expect("valid").expect("complete");
        (head.framing, head.keep_alive)
    }

    #[test]
    fn frames_bodies_as_rfc_9112_says() {
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", GET),
            (Framing::Length(12), true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
                GET
            ),
            (Framing::Chunked, true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
                GET
            ),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\n\r\n", GET),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 204 No Content\r\n\r\n", GET),
            (Framing::Empty, true)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n", HEAD),
            (Framing::Empty, true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n",
                GET
            ),
            (Framing::Length(2), false)
        );
        assert_eq!(
            framing_of("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n", GET),
            (Framing::Length(2), false)
        );
    }

    #[test]
    fn skips_interim_answers_and_leaves_the_body_in_the_buffer() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\n\r\nok"[..],
        );
        let mut out = Vec::new();
        let head = parse(&mut buf, GET, false, &mut Vec::new(), &mut out)
            .expect("valid")
            .expect("complete");
        assert_eq!(head.status, 200);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\n");
        assert_eq!(&buf[..], b"ok");
    }

    #[test]
    fn hop_by_hop_headers_stay_out_and_the_rest_is_kept_byte_for_byte() {
        let (head, out) = parse_all(
            "HTTP/1.1 200 Fine\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nX-Kept: a b\r\nx-kept: c\r\nDate: Sat, 28 Nov 2026 03:00:00 GMT\r\n\r\n",
            GET,
        )
        .expect("valid")
        .expect("complete");
        assert_eq!(
            out,
            "HTTP/1.1 200 Fine\r\nX-Kept: a b\r\nx-kept: c\r\nDate: Sat, 28 Nov 2026 03:00:00 GMT\r\n"
        );
        assert_eq!((head.framing, head.keep_alive), (Framing::Chunked, true));
        assert!(head.has_date);
    }

    #[test]
    fn connection_cannot_drop_the_length_and_a_colour_cannot_claim_its_colour() {
        let (head, out) = parse_all(
            "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\nX-Bluegreen-Color: green\r\n\r\n",
            GET,
        )
        .expect("valid")
        .expect("complete");
        assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
        assert_eq!(head.framing, Framing::Length(2));
    }

    #[test]
    fn a_missing_reason_phrase_gets_the_standard_one() {
        let (head, out) = parse_all("HTTP/1.1 404 \r\ncontent-length: 0\r\n\r\n", GET)
            .expect("valid")
            .expect("complete");
        assert_eq!(out, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n");
        assert!(!head.has_date);
    }

    #[test]
    fn partial_heads_wait_and_bad_ones_fail() {
        assert!(parse_all("HTTP/1.1 200 OK\r\ncontent-le", GET)
            .expect("partial is fine")
            .is_none());
        assert!(parse_all("NOT HTTP\r\n\r\n", GET).is_err());
        assert!(parse_all("HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n", GET).is_err());
        assert!(parse_all("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", GET).is_err());
        assert_eq!(
            parse_all("HTTP/1.1 101 Switching Protocols\r\n\r\n", GET).err(),
            Some(HeadError::Upgrade)
        );
        let huge = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD + 1));
        assert_eq!(parse_all(&huge, GET).err(), Some(HeadError::TooLarge));
    }

    #[test]
    fn a_101_to_an_upgrade_keeps_its_upgrade_line_and_leaves_the_new_protocol_in_the_buffer() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n\x81\x02hi"[..],
        );
        let mut out = Vec::new();
        let head = parse(&mut buf, GET, true, &mut Vec::new(), &mut out)
            .expect("valid")
            .expect("complete");
        assert_eq!(
            (head.status, head.framing, head.keep_alive),
            (101, Framing::Switched, false)
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc=\r\n"
        );
        assert_eq!(&buf[..], b"\x81\x02hi");
        // An interim 100 before the switch is still skipped.
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"[..],
        );
        let head = parse(&mut buf, GET, true, &mut Vec::new(), &mut Vec::new())
            .expect("valid")
            .expect("complete");
        assert_eq!(head.framing, Framing::Switched);
    }

    #[test]
    fn content_length_lists_must_agree() {
        assert_eq!(parse_content_length(b"12"), Some(12));
        assert_eq!(parse_content_length(b" 7 , 7"), Some(7));
        assert_eq!(parse_content_length(b"7, 8"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"+7"), None);
        assert_eq!(parse_content_length(b"99999999999999999999"), None);
    }
}
