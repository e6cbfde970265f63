//! Fault injection: deterministic error spread, added latency.

use std::sync::atomic::{AtomicU64, Ordering};

/// Decides which requests fail so that a rate `r` fails exactly `floor(n * r)` of the
/// first `n` requests: a 5% rate gives 50 failures per 1,000 requests, evenly spread,
/// which keeps gate tests reproducible.
#[derive(Debug)]
pub struct ErrorSpread {
    rate: f64,
    counter: AtomicU64,
}

impl ErrorSpread {
    /// A spread failing `rate` (0.0-1.0) of calls.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            counter: AtomicU64::new(0),
        }
    }

    /// Whether the next request should fail.
    pub fn next_fails(&self) -> bool {
        if self.rate <= 0.0 {
            return false;
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.rate).floor() > (n * self.rate).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorSpread;

    #[test]
    fn five_percent_is_fifty_per_thousand() {
        let s = ErrorSpread::new(0.05);
        let fails = (0..1000).filter(|_| s.next_fails()).count();
        assert_eq!(fails, 50);
    }

    #[test]
    fn zero_never_fails_and_one_always_fails() {
        let never = ErrorSpread::new(0.0);
        assert!((0..100).all(|_| !never.next_fails()));
        let always = ErrorSpread::new(1.0);
        assert!((0..100).all(|_| always.next_fails()));
    }
}
