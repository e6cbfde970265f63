//! Connection-scoped ("hop-by-hop") headers, which must not cross the proxy in either
//! direction (RFC 9110 §7.6.1): the fixed set below, and the names `Connection` lists.
//! Requests and answers are both filtered while their heads are parsed
//! (`downstream/request.rs`, `upstream/response.rs`), with this one list.

/// The fixed hop-by-hop header names, lower case.
const FIXED: [&[u8]; 7] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
];

/// Whether the header name `name` (any case) is one of the fixed hop-by-hop headers.
pub(crate) fn is_hop_by_hop(name: &[u8]) -> bool {
    // Lengths first: almost every header is none of these, and most differ in length.
    FIXED
        .iter()
        .any(|fixed| fixed.len() == name.len() && fixed.eq_ignore_ascii_case(name))
}

/// Whether `name` is a header that `Connection` must not be able to remove: the framing
/// (`Content-Length`) and `Host`. Otherwise `Connection: content-length` would make the
/// front door frame a body that the next hop does not know the length of: a smuggling
/// vector between the two.
pub(crate) fn is_end_to_end_essential(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"host")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_names_match_in_any_case_and_nothing_else_does() {
        for name in [
            "Connection",
            "TE",
            "transfer-encoding",
            "Keep-Alive",
            "UPGRADE",
        ] {
            assert!(is_hop_by_hop(name.as_bytes()), "{name}");
        }
        for name in [
            "content-length",
            "tee",
            "x-connection",
            "upgrade-insecure-requests",
        ] {
            assert!(!is_hop_by_hop(name.as_bytes()), "{name}");
        }
        assert!(is_end_to_end_essential(b"Content-Length") && is_end_to_end_essential(b"HOST"));
        assert!(!is_end_to_end_essential(b"x-secret"));
        let listed: Vec<&[u8]> = tokens(b" close , X-Secret,,keep-alive ").collect();
        assert_eq!(listed, [&b"close"[..], b"X-Secret", b"keep-alive"]);
    }
}
