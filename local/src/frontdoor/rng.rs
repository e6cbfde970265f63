//! A per-thread xorshift generator for weighted routing: cheap, and good enough to
//! split traffic by percentage (not for secrets).

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Fall back to the clock if the OS source fails: a weak seed only skews a canary share.
    getrandom::u64().unwrap_or_else(|_| crate::time::now_ms() | 1) | 1
}

/// A uniform integer in `0..100`.
pub fn percent() -> u8 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        ((x >> 32) % 100) as u8
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn roughly_uniform() {
        let below_ten = (0..100_000).filter(|_| super::percent() < 10).count();
        assert!((9_000..11_000).contains(&below_ten), "{below_ten}");
    }
}
