//! Reading and writing HTTP/1.1 heads in place, shared by both legs of the front door:
//! where header lines lie in a read buffer, list-header tokens, and the lines written.

/// The non-empty comma-separated tokens of a list header such as `Connection`, trimmed.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Where a header's name and value lie in a parsed head: name start, end, value start,
/// end. Kept per connection, so that parsing allocates nothing for them.
pub(crate) type Span = (u32, u32, u32, u32);

/// The spans of the header lines of `headers`, as offsets into `buf` (which they borrow).
pub(crate) fn spans_of(buf: &[u8], headers: &[httparse::Header<'_>], out: &mut Vec<Span>) {
    let base = buf.as_ptr() as usize;
    let offset = |p: *const u8| (p as usize - base) as u32;
    out.clear();
    out.extend(headers.iter().map(|h| {
        let name = offset(h.name.as_ptr());
        let value = offset(h.value.as_ptr());
        (
            name,
            name + h.name.len() as u32,
            value,
            value + h.value.len() as u32,
        )
    }));
}

/// Writes `name: value CRLF`.
pub(crate) fn write_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `HTTP/1.1 CODE REASON CRLF` into `out` (cleared first), with the standard reason
/// phrase when `reason` is empty.
pub(crate) fn status_line(out: &mut Vec<u8>, code: u16, reason: &str) {
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[
        b'0' + (code / 100 % 10) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]);
    let reason = if reason.is_empty() {
        hyper::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("")
    } else {
        reason
    };
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_tokens_are_trimmed_and_empty_ones_skipped() {
        let listed: Vec<&[u8]> = tokens(b" close , X-Secret,,keep-alive ").collect();
        assert_eq!(listed, [&b"close"[..], b"X-Secret", b"keep-alive"]);
    }

    #[test]
    fn status_lines_carry_a_reason() {
        let mut out = b"stale".to_vec();
        status_line(&mut out, 404, "");
        assert_eq!(out, b"HTTP/1.1 404 Not Found\r\n");
        status_line(&mut out, 200, "Fine");
        assert_eq!(out, b"HTTP/1.1 200 Fine\r\n");
    }
}
