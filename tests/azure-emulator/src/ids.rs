//! Random identifiers: request ids, operation ids, tokens, host-name labels.

/// Fills `n` random bytes; falls back to a time-seeded mix if the OS source fails,
/// since these ids only need to be unique, not secret (tokens use [`secret_hex`]).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        let mut x = crate::clock::real_now_ms() | 1;
        for b in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    bytes
}

/// A random RFC 4122 version-4 UUID, lower case, as ARM prints request ids.
pub fn uuid() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `n` random lower-case letters and digits (revision suffixes, host labels).
pub fn alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes(n)
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// `n` random bytes as hex, for bearer tokens; `None` if the OS has no randomness,
/// so a token is never guessable.
pub fn secret_hex(n: usize) -> Option<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|x| format!("{x:02x}")).collect())
}
