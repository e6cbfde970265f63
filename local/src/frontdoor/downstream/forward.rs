//! The request head as it goes to a colour: the client's request line and header lines
//! from the read buffer, minus what [`super::request::parse`] left out, plus the
//! forwarding headers. One buffer, one write for a body-less request.

use super::request::{BodyFraming, Parsed};
use crate::frontdoor::forwarding_headers::is_forwarded_for;
use crate::frontdoor::head::{write_line, Span};

/// Header lines the front door adds on the way to a colour.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// `Host` for a client that sent none (HTTP/1.0): the colour's address.
    pub default_host: &'a [u8],
    /// The client's address, appended to `X-Forwarded-For`.
    pub forwarded_for: &'a [u8],
}

/// Encodes the head of `req` (parsed from `buf`, its forwarded lines in `kept`) into
/// `out`: origin-form target, HTTP/1.1, the client's kept header lines byte for byte, then
/// `Host` if missing, `X-Forwarded-For` (the trusted client list, if any, then the
/// client's address, in one line), `X-Forwarded-Proto: http` and `X-Forwarded-Host` (the
/// request's host) unless trusted client values go on, and the body's framing as the
/// front door reads it: `Content-Length` as declared, or `Transfer-Encoding: chunked` for
/// a chunked body (which goes on re-chunked).
/// The parser has checked every byte: names are tokens, values hold no CR or LF.
pub fn encode_head(
    buf: &[u8],
    req: &Parsed,
    kept: &[Span],
    fwd: Forwarding<'_>,
    out: &mut Vec<u8>,
) {
    let part = |(a, b): (u32, u32)| &buf[a as usize..b as usize];
    out.clear();
    out.extend_from_slice(part(req.method));
    out.push(b' ');
    if req.slash {
        out.push(b'/');
    }
    out.extend_from_slice(part(req.target));
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for &(n0, n1, v0, v1) in kept {
        // Trusted `X-Forwarded-For` lines are joined into ours below.
        if req.forwarded_for && is_forwarded_for(part((n0, n1))) {
            continue;
        }
        write_line(out, part((n0, n1)), part((v0, v1)));
    }
    let host = match req.host {
        Some(span) => part(span),
        None => {
            write_line(out, b"host", fwd.default_host);
            fwd.default_host
        }
    };
    // One line, as nginx's `$proxy_add_x_forwarded_for`: applications that read only
    // the first line still get the whole list.
    out.extend_from_slice(b"x-forwarded-for: ");
    if req.forwarded_for {
        for &(n0, n1, v0, v1) in kept {
            let value = part((v0, v1)).trim_ascii();
            if is_forwarded_for(part((n0, n1))) && !value.is_empty() {
                out.extend_from_slice(value);
                out.extend_from_slice(b", ");
            }
        }
    }
    out.extend_from_slice(fwd.forwarded_for);
    out.extend_from_slice(b"\r\n");
    if !req.has_forwarded_proto {
        write_line(out, b"x-forwarded-proto", b"http");
    }
    if !req.has_forwarded_host {
        write_line(out, b"x-forwarded-host", host);
    }
    if req.upgrade {
        // The only hop-by-hop line that goes on: the colour must see the upgrade asked.
        write_line(out, b"connection", b"upgrade");
    }
    if req.body == BodyFraming::Chunked {
        write_line(out, b"transfer-encoding", b"chunked");
    } else if let Some(length) = req.content_length {
        write_line(out, b"content-length", length.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}
