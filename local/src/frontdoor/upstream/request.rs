//! Writing a request to a colour: the head in one buffer (one write for a body-less
//! request), then the body as the client sends it.

use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::http::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How the request body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// As the client sent it, under its `Content-Length`.
    Length,
    /// Re-chunked: the client's length is unknown (it sent chunked).
    Chunked,
}

/// Picks the framing of the body towards the colour.
pub fn body_framing(headers: &HeaderMap, body: &Incoming) -> BodyFraming {
    if body.is_end_stream() {
        BodyFraming::None
    } else if headers.contains_key(header::CONTENT_LENGTH) {
        BodyFraming::Length
    } else {
        BodyFraming::Chunked
    }
}

/// Header lines the front door adds on the way to a colour. Written straight into the
/// request head rather than inserted into the request's header map first: those map
/// edits were 4% of the front door's instructions per request (callgrind).
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// `Host` for a client that sent none (HTTP/1.0): the colour's address.
    pub default_host: &'a HeaderValue,
    /// The client's address, appended to `X-Forwarded-For`.
    pub forwarded_for: Option<&'a HeaderValue>,
}

/// Encodes the request head (origin-form target, HTTP/1.1) into `out`: the client's
/// headers, minus `Expect`, then `Host` if missing, `X-Forwarded-For`, and
/// `X-Forwarded-Proto: http` unless the client set one. The header names and values come
/// from hyper's parser or from constants, so they cannot carry CR/LF.
pub fn encode_head(parts: &Parts, framing: BodyFraming, fwd: Forwarding<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or("/");
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let (mut saw_host, mut saw_proto) = (false, false);
    for (name, value) in &parts.headers {
        // The front door answers `Expect: 100-continue` itself (hyper does, when the
        // body is first read), so the colour gets the body without the handshake.
        if name == header::EXPECT {
            continue;
        }
        saw_host |= name == header::HOST;
        saw_proto |= name.as_str() == "x-forwarded-proto";
        line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !saw_host {
        line(out, b"host", fwd.default_host.as_bytes());
    }
    if let Some(ip) = fwd.forwarded_for {
        line(out, b"x-forwarded-for", ip.as_bytes());
    }
    if !saw_proto {
        line(out, b"x-forwarded-proto", b"http");
    }
    if framing == BodyFraming::Chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Why a request body could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Reading from the client failed (it went away, or sent a broken body).
    #[error("reading the request body from the client: {0}")]
    Client(#[source] hyper::Error),
    /// Writing to the colour failed.
    #[error("writing the request body to the colour: {0}")]
    Colour(#[source] std::io::Error),
}

/// Streams the client's body to the colour in the chosen framing.
pub async fn write_body(
    stream: &mut TcpStream,
    mut body: Incoming,
    framing: BodyFraming,
) -> Result<(), BodyError> {
    if framing == BodyFraming::None {
        return Ok(());
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Client)?;
        // Trailers from the client are dropped, as nginx does.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if framing == BodyFraming::Chunked {
            let size = format!("{:x}\r\n", data.len());
            stream
                .write_all(size.as_bytes())
                .await
                .map_err(BodyError::Colour)?;
        }
        stream.write_all(&data).await.map_err(BodyError::Colour)?;
        if framing == BodyFraming::Chunked {
            stream.write_all(b"\r\n").await.map_err(BodyError::Colour)?;
        }
    }
    if framing == BodyFraming::Chunked {
        stream
            .write_all(b"0\r\n\r\n")
            .await
            .map_err(BodyError::Colour)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::http::Request;

    #[test]
    fn head_is_origin_form_http11_without_expect() {
        let (parts, ()) = Request::get("http://example.test/a/b?c=1")
            .header("host", "example.test")
            .header("expect", "100-continue")
            .header("x-two", "1")
            .header("x-two", "2")
            .body(())
            .expect("request")
            .into_parts();
        let colour = HeaderValue::from_static("127.0.0.1:9");
        let ip = HeaderValue::from_static("127.0.0.2");
        let fwd = Forwarding {
            default_host: &colour,
            forwarded_for: Some(&ip),
        };
        let mut out = Vec::new();
        encode_head(&parts, BodyFraming::Chunked, fwd, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "GET /a/b?c=1 HTTP/1.1\r\nhost: example.test\r\nx-two: 1\r\nx-two: 2\r\nx-forwarded-for: 127.0.0.2\r\nx-forwarded-proto: http\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn a_client_without_host_gets_the_colours_and_keeps_its_own_proto() {
        let (parts, ()) = Request::get("/")
            .header("x-forwarded-proto", "https")
            .body(())
            .expect("request")
            .into_parts();
        let colour = HeaderValue::from_static("127.0.0.1:9");
        let fwd = Forwarding {
            default_host: &colour,
            forwarded_for: None,
        };
        let mut out = Vec::new();
        encode_head(&parts, BodyFraming::None, fwd, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "GET / HTTP/1.1\r\nx-forwarded-proto: https\r\nhost: 127.0.0.1:9\r\n\r\n"
        );
    }
}
