//! Per-colour sliding-window metrics: one-second buckets of request count, 5xx count
//! and a log-linear latency histogram, kept for about 17 minutes.

use std::sync::Mutex;

use crate::api::{Color, MetricsSummary};

/// Seconds kept; a ring indexed by `second % SLOTS`.
const SLOTS: usize = 1024;
/// Sub-buckets per power of two: bucket width is at most 1/16 of its lower bound,
/// so a bucket's midpoint is within ~3% of any value in it.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Latencies are capped at 2^27 µs (~134 s).
const MAX_EXP: u32 = 26;
const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) as u64 * SUB) as usize;

fn bucket_of(micros: u64) -> usize {
    let v = micros.min((1 << (MAX_EXP + 1)) - 1);
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let sub = (v >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// Midpoint of a bucket, in microseconds.
fn bucket_value(idx: usize) -> f64 {
    let idx = idx as u64;
    if idx < SUB {
        return idx as f64;
    }
    let exp = (idx / SUB) as u32 + SUB_BITS - 1;
    let sub = idx % SUB;
    let width = 1u64 << (exp - SUB_BITS);
    let lower = (SUB + sub) << (exp - SUB_BITS);
    lower as f64 + width as f64 / 2.0
}

struct Slot {
    second: u64,
    requests: u64,
    errors: u64,
    hist: Box<[u32; BUCKETS]>,
}

/// Metrics of one colour.
pub struct ColorMetrics {
    ring: Mutex<Vec<Option<Slot>>>,
}

impl std::fmt::Debug for ColorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColorMetrics").finish_non_exhaustive()
    }
}

impl Default for ColorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ColorMetrics {
    /// Empty metrics.
    pub fn new() -> Self {
        let mut ring = Vec::with_capacity(SLOTS);
        ring.resize_with(SLOTS, || None);
        Self {
            ring: Mutex::new(ring),
        }
    }

    /// Records one response at `now_ms` with `status` after `micros` to headers.
    pub fn record(&self, now_ms: u64, status: u16, micros: u64) {
        let second = now_ms / 1000;
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut ring[(second % SLOTS as u64) as usize];
        let slot = match slot {
            Some(s) if s.second == second => s,
            Some(s) => {
                // Recycle the expired second's buffers instead of reallocating.
                s.second = second;
                s.requests = 0;
                s.errors = 0;
                s.hist.fill(0);
                s
            }
            None => slot.insert(Slot {
                second,
                requests: 0,
                errors: 0,
                hist: Box::new([0; BUCKETS]),
            }),
        };
        slot.requests += 1;
        if status >= 500 {
            slot.errors += 1;
        }
        slot.hist[bucket_of(micros)] += 1;
    }

    /// Requests per `width` seconds in the `count` windows ending with second
    /// `last_second` (oldest first): the page's chart. Reads counters only, not the
    /// histograms, so it stays cheap for every frame of every page.
    pub fn requests_series(&self, last_second: u64, width: u64, count: usize) -> Vec<u64> {
        let width = width.max(1);
        let span = width * count as u64;
        let first = (last_second + 1).saturating_sub(span);
        let mut out = vec![0u64; count];
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        for slot in ring.iter().flatten() {
            if slot.second < first || slot.second > last_second {
                continue;
            }
            let i = ((slot.second - first) / width) as usize;
            if let Some(n) = out.get_mut(i) {
                *n += slot.requests;
            }
        }
        out
    }

    /// Summarises the seconds overlapping `[since_ms, until_ms]`.
    pub fn summary(&self, color: Color, since_ms: u64, until_ms: u64) -> MetricsSummary {
        let (first, last) = (since_ms / 1000, until_ms / 1000);
        let mut hist = vec![0u64; BUCKETS];
        let (mut requests, mut errors) = (0u64, 0u64);
        {
            let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            for slot in ring.iter().flatten() {
                if slot.second < first || slot.second > last {
                    continue;
                }
                requests += slot.requests;
                errors += slot.errors;
                for (acc, n) in hist.iter_mut().zip(slot.hist.iter()) {
                    *acc += u64::from(*n);
                }
            }
        }
        let quantile = |q: f64| -> Option<f64> {
            if requests == 0 {
                return None;
            }
            let rank = ((q * requests as f64).ceil() as u64).clamp(1, requests);
            let mut seen = 0;
            for (idx, n) in hist.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Some(bucket_value(idx) / 1000.0);
                }
            }
            None
        };
        MetricsSummary {
            color,
            since: since_ms,
            until: until_ms,
            requests,
            errors_5xx: errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            p50_ms: quantile(0.50),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
            // Filled in by the caller, which holds the colour's live counters.
            connections: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in [
            0u64, 1, 15, 16, 17, 31, 32, 100, 1000, 12_345, 1_000_000, 60_000_000,
        ] {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v}");
            last = b;
            if v >= 16 {
                let mid = bucket_value(b);
                assert!((mid - v as f64).abs() / v as f64 <= 0.07, "{v} -> {mid}");
            }
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn percentiles_within_five_percent() {
        let m = ColorMetrics::new();
        // 1..=1000 ms uniformly: p50 = 500, p95 = 950, p99 = 990.
        for i in 1..=1000u64 {
            m.record(10_000 + i, if i % 20 == 0 { 503 } else { 200 }, i * 1000);
        }
        let s = m.summary(Color::Blue, 10_000, 12_000);
        assert_eq!(s.requests, 1000);
        assert_eq!(s.errors_5xx, 50);
        assert!((s.error_rate - 0.05).abs() < 1e-9);
        for (got, want) in [(s.p50_ms, 500.0), (s.p95_ms, 950.0), (s.p99_ms, 990.0)] {
            let got = got.expect("has requests");
            assert!((got - want).abs() / want < 0.05, "{got} vs {want}");
        }
    }

    #[test]
    fn series_buckets_requests_by_window_oldest_first() {
        let m = ColorMetrics::new();
        // Seconds 100..=159: three windows of 20 s; 1, 2 and 3 requests a second.
        for second in 100..160u64 {
            for _ in 0..=(second - 100) / 20 {
                m.record(second * 1000, 200, 1000);
            }
        }
        assert_eq!(m.requests_series(159, 20, 3), vec![20, 40, 60]);
        // A longer span than the ring holds has empty windows first.
        assert_eq!(m.requests_series(159, 20, 5), vec![0, 0, 20, 40, 60]);
    }

    #[test]
    fn window_selects_seconds_and_recycles_old_ones() {
        let m = ColorMetrics::new();
        m.record(5_000, 200, 1000);
        m.record(6_500, 500, 1000);
        assert_eq!(m.summary(Color::Green, 6_000, 7_000).requests, 1);
        // Same ring slot, SLOTS seconds later: the old second is gone.
        m.record(5_000 + SLOTS as u64 * 1000, 200, 1000);
        assert_eq!(m.summary(Color::Green, 0, 5_999).requests, 0);
        let empty = m.summary(Color::Green, 0, 1);
        assert_eq!((empty.requests, empty.p99_ms), (0, None));
    }
}
