//! Reading a colour's response head and deciding how its body is framed
//! (RFC 9112 §6.3), so the body can be streamed and the connection reused safely.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use hyper::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::{Method, StatusCode};

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
}

/// Where a header's name and value lie in the head: name start, end, value start, end.
/// Kept per connection, so that parsing allocates nothing for them.
pub type Span = (u32, u32, u32, u32);

/// A parsed final response head.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// Whether the connection can carry another request once the body is read.
    pub keep_alive: bool,
}

/// A response head that is not HTTP/1.x or breaks its rules.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    #[error("the colour's answer is not HTTP/1.1: {0}")]
    Malformed(String),
    #[error("the colour's response head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("the colour answered 101 Switching Protocols, which the front door does not proxy")]
    Upgrade,
}

/// Parses one final response head from the front of `buf`, skipping interim (1xx)
/// answers; `None` means more bytes are needed. Consumed bytes are removed from `buf`.
///
/// Hop-by-hop headers (RFC 9110 §7.6.1: the fixed set and those `Connection` lists)
/// are left out of [`Head::headers`]; header values share the read buffer instead of
/// being copied. One pass over the headers decides the framing too: building this map
/// was the largest cost of the upstream leg (callgrind, BENCHMARKS.md §3b).
pub fn parse(
    buf: &mut BytesMut,
    method: &Method,
    spans: &mut Vec<Span>,
) -> Result<Option<Head>, HeadError> {
    loop {
        spans.clear();
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
            let base = buf.as_ptr() as usize;
            let offset = |p: *const u8| (p as usize - base) as u32;
            spans.extend(resp.headers.iter().map(|h| {
                let name = offset(h.name.as_ptr());
                let value = offset(h.value.as_ptr());
                (
                    name,
                    name + h.name.len() as u32,
                    value,
                    value + h.value.len() as u32,
                )
            }));
            (consumed, resp.code.unwrap_or(0), resp.version)
        };
        let status = StatusCode::from_u16(code).map_err(|e| HeadError::Malformed(e.to_string()))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(HeadError::Upgrade);
        }
        if status.is_informational() {
            // 100 / 103 are hints for the client of the colour, which we are: skip them.
            buf.advance(consumed);
            continue;
        }
        let head = buf.split_to(consumed).freeze();
        let mut fields = Fields::default();
        let mut headers = HeaderMap::with_capacity(spans.len());
        for &(n0, n1, v0, v1) in spans.iter() {
            let raw_name = &head[n0 as usize..n1 as usize];
            let name = HeaderName::from_bytes(raw_name).map_err(|_| {
                HeadError::Malformed(format!(
                    "bad header name {:?}",
                    String::from_utf8_lossy(raw_name)
                ))
            })?;
            let value = head.slice(v0 as usize..v1 as usize);
            if fields.note(&name, &value)? {
                continue;
            }
            let value = HeaderValue::from_maybe_shared(value)
                .map_err(|_| HeadError::Malformed(format!("bad value of header {name}")))?;
            headers.append(name, value);
        }
        for listed in &fields.connection_listed {
            headers.remove(listed);
        }
        let framing = fields.framing(status, method);
        if framing == Framing::Chunked || fields.transfer_encoding.is_some() {
            // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): a stale length
            // must not reach the client beside a body of another size.
            headers.remove(header::CONTENT_LENGTH);
        }
        let keep_alive =
            version == Some(1) && framing != Framing::UntilClose && !fields.connection_close;
        return Ok(Some(Head {
            status,
            headers,
            framing,
            keep_alive,
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
    /// Names `Connection` lists besides close / keep-alive: hop-by-hop too.
    connection_listed: Vec<HeaderName>,
}

impl Fields {
    /// Notes a header; true if it is hop-by-hop and stays out of the answer.
    fn note(&mut self, name: &HeaderName, value: &[u8]) -> Result<bool, HeadError> {
        if name == header::CONTENT_LENGTH {
            for part in value.split(|b| *b == b',') {
                let n = std::str::from_utf8(part)
                    .ok()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| HeadError::Malformed("invalid Content-Length".into()))?;
                if self.content_length.is_some_and(|l| l != n) {
                    return Err(HeadError::Malformed(
                        "conflicting Content-Length values".into(),
                    ));
                }
                self.content_length = Some(n);
            }
            return Ok(false);
        }
        if name == header::TRANSFER_ENCODING {
            // Chunked must be the final coding; anything else is read until close (§6.3).
            if let Some(last) = tokens(value).last() {
                self.transfer_encoding = Some(last.eq_ignore_ascii_case(b"chunked"));
            }
            self.transfer_encoding.get_or_insert(false);
            return Ok(true);
        }
        if name == header::CONNECTION {
            for token in tokens(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.connection_close = true;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                    if let Ok(listed) = HeaderName::from_bytes(token) {
                        self.connection_listed.push(listed);
                    }
                }
            }
            return Ok(true);
        }
        Ok(hop_by_hop::is_hop_by_hop(name))
    }

    fn framing(&self, status: StatusCode, method: &Method) -> Framing {
        if method == Method::HEAD
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
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

/// The non-empty comma-separated tokens of a list header, trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(raw: &str, method: Method) -> Result<Option<Head>, HeadError> {
        let mut buf = BytesMut::from(raw.as_bytes());
        parse(&mut buf, &method, &mut Vec::new())
    }

    fn framing_of(raw: &str, method: Method) -> (Framing, bool) {
        let head = parse_all(raw, method).expect("valid").expect("complete");
        (head.framing, head.keep_alive)
    }

    #[test]
    fn frames_bodies_as_rfc_9112_says() {
        let get = || Method::GET;
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", get()),
            (Framing::Length(12), true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
                get()
            ),
            (Framing::Chunked, true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
                get()
            ),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\n\r\n", get()),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 204 No Content\r\n\r\n", get()),
            (Framing::Empty, true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n",
                Method::HEAD
            ),
            (Framing::Empty, true)
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n",
                get()
            ),
            (Framing::Length(2), false)
        );
        assert_eq!(
            framing_of("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n", get()),
            (Framing::Length(2), false)
        );
    }

    #[test]
    fn skips_interim_answers_and_leaves_the_body_in_the_buffer() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\n\r\nok"[..],
        );
        let head = parse(&mut buf, &Method::GET, &mut Vec::new())
            .expect("valid")
            .expect("complete");
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(
            head.headers.get("x-a").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert!(head.headers.get("link").is_none());
        assert_eq!(&buf[..], b"ok");
    }

    #[test]
    fn hop_by_hop_headers_stay_out_and_values_are_kept_byte_for_byte() {
        let head = parse_all(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nX-Kept: a b\r\nx-kept: c\r\n\r\n",
            Method::GET,
        )
        .expect("valid")
        .expect("complete");
        let names: Vec<&str> = head.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-kept"]);
        let kept: Vec<&[u8]> = head
            .headers
            .get_all("x-kept")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        assert_eq!(kept, [&b"a b"[..], b"c"]);
        assert_eq!((head.framing, head.keep_alive), (Framing::Chunked, true));
    }

    #[test]
    fn partial_heads_wait_and_bad_ones_fail() {
        assert!(parse_all("HTTP/1.1 200 OK\r\ncontent-le", Method::GET)
            .expect("partial is fine")
            .is_none());
        assert!(parse_all("NOT HTTP\r\n\r\n", Method::GET).is_err());
        assert!(parse_all(
            "HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n",
            Method::GET
        )
        .is_err());
        assert!(parse_all("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", Method::GET).is_err());
        assert_eq!(
            parse_all("HTTP/1.1 101 Switching Protocols\r\n\r\n", Method::GET).err(),
            Some(HeadError::Upgrade)
        );
        let huge = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD + 1));
        assert_eq!(
            parse_all(&huge, Method::GET).err(),
            Some(HeadError::TooLarge)
        );
    }
}
