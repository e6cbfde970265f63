//! Reads of an environment reused for a moment: the engine asks for the
//! status several times in a row between two waits, and each status is three
//! ARM GETs (app, revisions, route). bench-azure counted 15 GETs within
//! milliseconds before every deploy (four status reads and the deploy's own
//! two), 6 with this (BENCHMARKS.md, "Issue 14: Azure releases"). A read
//! younger than [`FRESH_FOR`] answers the next call instead; any write through
//! the platform forgets every read, so a caller never misses its own write.
//! Polls are the platform's poll interval apart (2 s), longer than
//! [`FRESH_FOR`], so every poll still asks Azure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a read answers later calls: half the poll interval.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Recent reads by key, and a generation that every write advances.
#[derive(Debug)]
pub struct RecentReads<T> {
    fresh_for: Duration,
    inner: Mutex<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    generation: u64,
    entries: HashMap<String, (Instant, T)>,
}

impl<T: Clone> RecentReads<T> {
    /// Reads stay fresh for `fresh_for` after they completed.
    pub fn new(fresh_for: Duration) -> Self {
        RecentReads {
            fresh_for,
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The generation to hand to [`RecentReads::keep`] once a read started now completes.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// A fresh read of `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<T> {
        let inner = self.lock();
        inner
            .entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.fresh_for)
            .map(|(_, value)| value.clone())
    }

    /// Keeps a read that completed now, unless a write happened since it
    /// started (`generation` is what [`RecentReads::generation`] said then).
    pub fn keep(&self, key: String, generation: u64, value: T) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.entries.insert(key, (Instant::now(), value));
        }
    }

    /// Forgets every read: something was written.
    pub fn forget(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_answers_until_it_is_stale_or_something_was_written() {
        let recent = RecentReads::new(Duration::from_millis(200));
        assert_eq!(recent.get("orders"), None);
        recent.keep("orders".into(), recent.generation(), 1);
        assert_eq!(recent.get("orders"), Some(1));
        assert_eq!(recent.get("payments"), None);
        recent.forget();
        assert_eq!(recent.get("orders"), None, "a write forgets every read");

        recent.keep("orders".into(), recent.generation(), 2);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(
            recent.get("orders"),
            None,
            "a read older than fresh_for is not reused"
        );
    }

    #[test]
    fn a_read_that_overlapped_a_write_is_not_kept() {
        let recent = RecentReads::new(Duration::from_secs(60));
        let started = recent.generation();
        recent.forget(); // a write completes while the read is in flight
        recent.keep("orders".into(), started, 1);
        assert_eq!(recent.get("orders"), None);
    }
}
