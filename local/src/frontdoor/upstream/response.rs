//! Reading a colour's response head and deciding how its body is framed
//! (RFC 9112 §6.3), so the body can be streamed and the connection reused safely.

use bytes::{Buf, BytesMut};
use hyper::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::{Method, StatusCode};

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
pub fn parse(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, HeadError> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut slots);
        let consumed = match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(HeadError::TooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(HeadError::Malformed(e.to_string())),
        };
        let code = resp.code.unwrap_or(0);
        let status = StatusCode::from_u16(code).map_err(|e| HeadError::Malformed(e.to_string()))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(HeadError::Upgrade);
        }
        if status.is_informational() {
            // 100 / 103 are hints for the client of the colour, which we are: skip them.
            buf.advance(consumed);
            continue;
        }
        let http11 = resp.version == Some(1);
        let mut headers = HeaderMap::with_capacity(resp.headers.len());
        for h in resp.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| HeadError::Malformed(format!("bad header name {:?}", h.name)))?;
            let value = HeaderValue::from_bytes(h.value)
                .map_err(|_| HeadError::Malformed(format!("bad value of header {name}")))?;
            headers.append(name, value);
        }
        buf.advance(consumed);
        let framing = framing(&headers, status, method)?;
        if headers.contains_key(header::TRANSFER_ENCODING) {
            // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): a stale length
            // must not reach the client beside a body of another size.
            headers.remove(header::CONTENT_LENGTH);
        }
        let keep_alive = http11 && framing != Framing::UntilClose && !asks_close(&headers);
        return Ok(Some(Head {
            status,
            headers,
            framing,
            keep_alive,
        }));
    }
}

fn framing(headers: &HeaderMap, status: StatusCode, method: &Method) -> Result<Framing, HeadError> {
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Empty);
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        // Chunked must be the final coding; anything else is read until close (§6.3).
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|c| !c.is_empty());
        return Ok(match last {
            Some(c) if c.eq_ignore_ascii_case("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let mut length = None;
    for v in headers.get_all(header::CONTENT_LENGTH) {
        for part in v.as_bytes().split(|b| *b == b',') {
            let n = std::str::from_utf8(part)
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| HeadError::Malformed("invalid Content-Length".into()))?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::Malformed(
                    "conflicting Content-Length values".into(),
                ));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    })
}

fn asks_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(raw: &str, method: Method) -> Result<Option<Head>, HeadError> {
        let mut buf = BytesMut::from(raw.as_bytes());
        parse(&mut buf, &method)
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
        let head = parse(&mut buf, &Method::GET)
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
