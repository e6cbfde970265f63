//! Test bodies: recognisable byte patterns, and comparisons that do not print megabytes.

/// Deterministic bytes that are not a repetition of any small buffer size, so misplaced
/// pieces show.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + i / 251) as u8).wrapping_add(seed))
        .collect()
}

/// Compares bodies without printing megabytes when they differ.
pub fn assert_same_bytes(got: &[u8], want: &[u8]) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "body differs: {} bytes received, {} expected, first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}
