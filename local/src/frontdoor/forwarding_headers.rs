//! The `X-Forwarded-*` header names the front door sets itself, unless the environment
//! trusts the client's (`trust_forwarded_headers`). Their own module because both the
//! request parser (which drops the client's lines) and the head writer (which adds the
//! front door's) need them.

/// Whether `name` (any case) is `X-Forwarded-For`, `X-Forwarded-Proto` or
/// `X-Forwarded-Host`.
pub(crate) fn is_forwarding(name: &[u8]) -> bool {
    is_forwarded_for(name)
        || (name.len() == 17 && name.eq_ignore_ascii_case(b"x-forwarded-proto"))
        || (name.len() == 16 && name.eq_ignore_ascii_case(b"x-forwarded-host"))
}

/// Whether `name` (any case) is `X-Forwarded-For`.
pub(crate) fn is_forwarded_for(name: &[u8]) -> bool {
    // Length first: almost no header is 15 bytes long and named like this one.
    name.len() == 15 && name.eq_ignore_ascii_case(b"x-forwarded-for")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_three_forwarding_headers_in_any_case() {
        assert!(is_forwarding(b"X-Forwarded-For"));
        assert!(is_forwarding(b"x-forwarded-proto"));
        assert!(is_forwarding(b"X-FORWARDED-HOST"));
        assert!(!is_forwarding(b"x-forwarded-port"));
        assert!(!is_forwarding(b"forwarded"));
        assert!(is_forwarded_for(b"x-forwarded-FOR"));
        assert!(!is_forwarded_for(b"x-forwarded-host"));
    }
}
