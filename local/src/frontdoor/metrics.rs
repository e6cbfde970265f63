//! Per-colour sliding-window metrics: one-second buckets of request count, 5xx count
//! and a log-linear latency histogram, kept for about 17 minutes. The page's chart reads
//! them in windows aligned on the clock, so a window that has closed is computed once.

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
    /// The histogram's non-zero buckets lie in `lo..=hi` (empty when `lo > hi`): a
    /// second's latencies span a few dozen of the 384 buckets, so merging reads only those.
    lo: usize,
    hi: usize,
}

impl Slot {
    fn buckets(&self) -> std::ops::RangeInclusive<usize> {
        self.lo..=self.hi
    }
}

/// One window of the page's chart.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChartPoint {
    /// Requests answered in the window.
    pub requests: u64,
    /// Time the window covers, ms: its width once closed, the time since it opened (at
    /// least a second) for the current one.
    pub span_ms: u64,
    /// Their 95th percentile latency, ms; None without requests.
    pub p95_ms: Option<f64>,
}

impl ChartPoint {
    /// Requests per second over the window.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 * 1000.0 / self.span_ms.max(1) as f64
    }
}

/// The chart's closed windows already computed, by window index (`second / width`).
#[derive(Debug, Default)]
struct Closed {
    width: u64,
    points: std::collections::BTreeMap<u64, ChartPoint>,
}

/// The window of seconds `first..=last` (at most [`SLOTS`]): its requests and their p95
/// latency, merging the used buckets of each second into `hist`.
fn window(ring: &[Option<Slot>], hist: &mut [u64], first: u64, last: u64) -> ChartPoint {
    let seconds = (first..=last).filter_map(|second| {
        ring[(second % SLOTS as u64) as usize]
            .as_ref()
            .filter(|s| s.second == second && s.requests > 0)
    });
    let (mut lo, mut hi, mut requests) = (BUCKETS, 0, 0);
    for slot in seconds.clone() {
        (lo, hi) = (lo.min(slot.lo), hi.max(slot.hi));
    }
    if lo <= hi {
        hist[lo..=hi].fill(0);
    }
    for slot in seconds {
        requests += slot.requests;
        for idx in slot.buckets() {
            hist[idx] += u64::from(slot.hist[idx]);
        }
    }
    ChartPoint {
        requests,
        span_ms: (last + 1 - first) * 1000,
        p95_ms: quantile(hist, lo..=hi, requests, 0.95),
    }
}

/// The `q` quantile, ms, of `requests` latencies counted in `hist` (whose non-zero
/// buckets lie in `range`).
fn quantile(
    hist: &[u64],
    range: std::ops::RangeInclusive<usize>,
    requests: u64,
    q: f64,
) -> Option<f64> {
    if requests == 0 {
        return None;
    }
    let rank = ((q * requests as f64).ceil() as u64).clamp(1, requests);
    let mut seen = 0;
    for idx in range {
        seen += hist[idx];
        if seen >= rank {
            return Some(bucket_value(idx) / 1000.0);
        }
    }
    None
}

/// Metrics of one colour.
pub struct ColorMetrics {
    ring: Mutex<Vec<Option<Slot>>>,
    /// Taken before `ring` when both are (only by [`ColorMetrics::chart`]).
    closed: Mutex<Closed>,
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
            closed: Mutex::default(),
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
                (s.lo, s.hi) = (BUCKETS, 0);
                s
            }
            None => slot.insert(Slot {
                second,
                requests: 0,
                errors: 0,
                hist: Box::new([0; BUCKETS]),
                lo: BUCKETS,
                hi: 0,
            }),
        };
        slot.requests += 1;
        if status >= 500 {
            slot.errors += 1;
        }
        let bucket = bucket_of(micros);
        slot.hist[bucket] += 1;
        slot.lo = slot.lo.min(bucket);
        slot.hi = slot.hi.max(bucket);
    }

    /// Requests and their p95 latency in the `count` windows of `width` seconds up to
    /// `now_ms`, oldest first: the page's chart. Windows are aligned on the clock
    /// (`second / width`), the last one open. A closed window does not change, so it is
    /// merged once and kept: a frame merges the open window's seconds only, whatever
    /// the traffic (BENCHMARKS.md, `bench-page`). A response recorded with a time in a
    /// window that closed meanwhile (its time read just before the page's) is missed by
    /// the chart, not by the figures.
    pub fn chart(&self, now_ms: u64, width: u64, count: usize) -> Vec<ChartPoint> {
        let width = width.max(1);
        if count == 0 {
            return Vec::new();
        }
        let last_second = now_ms / 1000;
        let current = last_second / width;
        let oldest = (current + 1).saturating_sub(count as u64);
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if closed.width != width {
            *closed = Closed {
                width,
                points: Default::default(),
            };
        }
        closed.points.retain(|w, _| *w >= oldest);
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut hist = vec![0u64; BUCKETS];
        let mut out = vec![ChartPoint::default(); count - (current + 1 - oldest) as usize];
        for w in oldest..current {
            let point = *closed
                .points
                .entry(w)
                .or_insert_with(|| window(&ring, &mut hist, w * width, (w + 1) * width - 1));
            out.push(point);
        }
        let mut open = window(&ring, &mut hist, current * width, last_second);
        open.span_ms = now_ms
            .saturating_sub(current * width * 1000)
            .clamp(1000, width * 1000);
        out.push(open);
        out
    }

    /// Summarises the seconds overlapping `[since_ms, until_ms]`.
    pub fn summary(&self, color: Color, since_ms: u64, until_ms: u64) -> MetricsSummary {
        let (first, last) = (since_ms / 1000, until_ms / 1000);
        let mut hist = vec![0u64; BUCKETS];
        let (mut requests, mut errors) = (0u64, 0u64);
        let mut range = (BUCKETS, 0);
        {
            let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            for slot in ring.iter().flatten() {
                if slot.second < first || slot.second > last || slot.requests == 0 {
                    continue;
                }
                requests += slot.requests;
                errors += slot.errors;
                range = (range.0.min(slot.lo), range.1.max(slot.hi));
                for idx in slot.buckets() {
                    hist[idx] += u64::from(slot.hist[idx]);
                }
            }
        }
        let (lo, hi) = (range.0.min(BUCKETS - 1), range.1);
        let quantile = |q: f64| quantile(&hist, lo..=hi, requests, q);
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
    fn chart_buckets_requests_and_p95_by_window_oldest_first() {
        let m = ColorMetrics::new();
        // Seconds 100..=159: three windows of 20 s; 1, 2 and 3 requests a second, the
        // third window's first second with one at 100 ms, the rest at 1 ms and 10 ms.
        for second in 100..160u64 {
            let window = (second - 100) / 20;
            for n in 0..=window {
                let micros = match window {
                    0 => 1_000,
                    1 => 10_000,
                    _ if second == 140 && n == 0 => 100_000,
                    _ => 10_000,
                };
                m.record(second * 1000, 200, micros);
            }
        }
        // At 159.5 s the window of seconds 140..=159 is still open: 19.5 s so far.
        let chart = m.chart(159_500, 20, 3);
        let requests: Vec<u64> = chart.iter().map(|p| p.requests).collect();
        assert_eq!(requests, vec![20, 40, 60]);
        let spans: Vec<u64> = chart.iter().map(|p| p.span_ms).collect();
        assert_eq!(spans, vec![20_000, 20_000, 19_500]);
        assert_eq!(chart[1].per_second(), 2.0);
        let p95: Vec<f64> = chart.iter().map(|p| p.p95_ms.expect("requests")).collect();
        for (got, want) in p95.iter().zip([1.0, 10.0, 10.0]) {
            assert!((got - want).abs() / want < 0.05, "{p95:?}");
        }
        // The open window is read again at each frame: one slow request in 60 is under
        // the 5%, five in 64 are above it.
        for second in 156..=159 {
            m.record(second * 1000 + 700, 200, 100_000);
        }
        let p95 = m.chart(159_900, 20, 3)[2].p95_ms.expect("requests");
        assert!((p95 - 100.0).abs() / 100.0 < 0.05, "{p95}");
        // Once closed, it is kept whole; the new window opens with at least a second.
        m.record(160_200, 200, 1_000);
        let later = m.chart(160_300, 20, 3);
        assert_eq!(
            later.iter().map(|p| p.requests).collect::<Vec<_>>(),
            vec![40, 64, 1]
        );
        assert_eq!((later[1].span_ms, later[2].span_ms), (20_000, 1_000));
        // Windows before the clock's start, or older than the ring, are empty.
        let early = m.chart(159_500, 20, 10);
        assert_eq!(early.len(), 10);
        assert_eq!(early[0], ChartPoint::default());
        assert_eq!(early[7].requests, 20);
    }

    #[test]
    fn summary_and_chart_agree_on_a_window() {
        let m = ColorMetrics::new();
        for i in 0..600u64 {
            m.record(210_000 + i * 50, 200, 500 + (i * 7919) % 40_000);
        }
        let summary = m.summary(Color::Blue, 210_000, 239_999);
        let chart = m.chart(240_000, 30, 2);
        assert_eq!(chart[0].requests, summary.requests);
        assert_eq!(chart[0].p95_ms, summary.p95_ms);
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
