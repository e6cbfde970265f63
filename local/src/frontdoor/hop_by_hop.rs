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
    }
}
