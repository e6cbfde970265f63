//! The provider's deliberate waits (poll intervals, `Retry-After`, LRO turns,
//! the post-switch watch), logged at debug level with how long each lasted:
//! `TF_LOG_PROVIDER=debug` then tells the provider's own time from time it
//! spent waiting on purpose, which is how `bench-azure` (BENCHMARKS.md)
//! measures the provider's own time per release.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Milliseconds waited in this process so far.
static TOTAL_MS: AtomicU64 = AtomicU64::new(0);

/// Records a wait that just ended: `what` as the wait names itself.
pub fn record(what: &str, waited: Duration) {
    let ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
    let total = TOTAL_MS.fetch_add(ms, Ordering::Relaxed).saturating_add(ms);
    tracing::debug!(wait = %what, waited_ms = ms, total_waited_ms = total, "paused");
}

/// Milliseconds waited in this process so far.
pub fn total() -> Duration {
    Duration::from_millis(TOTAL_MS.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_add_up() {
        let before = total();
        record("a test wait", Duration::from_millis(1500));
        record("another", Duration::from_millis(500));
        // Other tests may wait meanwhile: the total grows by at least ours.
        assert!(total() >= before + Duration::from_secs(2), "{:?}", total());
    }
}
