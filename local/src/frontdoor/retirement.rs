//! When the tunnels of a colour that no longer gets traffic must end. A switch sends new
//! requests and upgrades to the new colour at once, but an open WebSocket stays where it
//! was opened: it may finish on its own until the environment's `drain_timeout` after
//! the switch (it is then counted as drained), and is closed at that deadline otherwise
//! (counted as cut). A colour routed again before its deadline keeps its tunnels.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The deadline of one colour's tunnels, and what became of them.
#[derive(Debug)]
pub struct Retirement {
    /// `None` while the colour is routed; the moment its tunnels are cut otherwise.
    deadline: watch::Sender<Option<Instant>>,
    /// Tunnels that ended on their own after the colour was retired.
    pub drained: AtomicU64,
    /// Tunnels the front door closed at the deadline.
    pub cut: AtomicU64,
    /// `drained` and `cut` of the current retirement only (since the colour last lost
    /// its traffic), for the audit entry of its stop.
    episode: [AtomicU64; 2],
}

impl Default for Retirement {
    fn default() -> Self {
        Self {
            deadline: watch::Sender::new(None),
            drained: AtomicU64::new(0),
            cut: AtomicU64::new(0),
            episode: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
}

impl Retirement {
    /// The colour gets traffic (again): its tunnels have no deadline.
    pub(crate) fn routed(&self) {
        self.deadline.send_if_modified(|d| d.take().is_some());
    }

    /// The colour gets no traffic any more: its tunnels end `drain` from now at the
    /// latest, or at the deadline an earlier switch set.
    pub(crate) fn retire(&self, drain: Duration) {
        self.deadline.send_if_modified(|d| {
            if d.is_some() {
                return false;
            }
            *d = Some(Instant::now() + drain);
            self.new_episode();
            true
        });
    }

    fn new_episode(&self) {
        for n in &self.episode {
            n.store(0, Ordering::Relaxed);
        }
    }

    /// How the tunnels of the current retirement ended so far: `(drained, cut)`.
    pub fn episode(&self) -> (u64, u64) {
        (
            self.episode[0].load(Ordering::Relaxed),
            self.episode[1].load(Ordering::Relaxed),
        )
    }

    /// Closes the colour's tunnels now (its process is about to stop).
    pub(crate) fn cut_now(&self) {
        let now = Instant::now();
        self.deadline.send_if_modified(|d| {
            if d.is_some_and(|d| d <= now) {
                return false;
            }
            if d.is_none() {
                self.new_episode();
            }
            *d = Some(now);
            true
        });
    }

    /// Whether the colour is retired (its tunnels have a deadline).
    pub(crate) fn is_retired(&self) -> bool {
        self.deadline.borrow().is_some()
    }

    /// A watch on the deadline, for one tunnel.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<Instant>> {
        self.deadline.subscribe()
    }

    /// Counts a tunnel that ended: cut at the deadline, or on its own while retired.
    pub(crate) fn count_end(&self, cut: bool) {
        if cut {
            self.cut.fetch_add(1, Ordering::Relaxed);
            self.episode[1].fetch_add(1, Ordering::Relaxed);
        } else if self.is_retired() {
            self.drained.fetch_add(1, Ordering::Relaxed);
            self.episode[0].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Resolves once the watched deadline is set and has passed; never while the colour
/// is routed.
pub(crate) async fn deadline_passed(deadline: &mut watch::Receiver<Option<Instant>>) {
    loop {
        let current = *deadline.borrow_and_update();
        match current {
            Some(at) => tokio::select! {
                () = tokio::time::sleep_until(at) => return,
                changed = deadline.changed() => if changed.is_err() {
                    // The front door is gone; the tunnel ends with its sockets.
                    std::future::pending::<()>().await;
                },
            },
            None => {
                if deadline.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_retired_colours_deadline_passes_and_routing_it_again_lifts_it() {
        let r = Retirement::default();
        let mut watch = r.subscribe();
        r.retire(Duration::from_millis(100));
        // A second switch does not push the deadline back.
        tokio::time::sleep(Duration::from_millis(50)).await;
        r.retire(Duration::from_secs(60));
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), deadline_passed(&mut watch))
            .await
            .expect("the deadline passes");
        assert!(started.elapsed() < Duration::from_secs(1));

        r.routed();
        assert!(!r.is_retired());
        let waiting = tokio::time::timeout(Duration::from_millis(200), deadline_passed(&mut watch));
        assert!(waiting.await.is_err(), "no deadline while routed");
        r.retire(Duration::from_secs(60));
        r.cut_now();
        tokio::time::timeout(Duration::from_secs(5), deadline_passed(&mut watch))
            .await
            .expect("cut at once");
        r.count_end(true);
        r.count_end(false);
        r.routed();
        r.count_end(false);
        assert_eq!(
            (
                r.cut.load(Ordering::Relaxed),
                r.drained.load(Ordering::Relaxed)
            ),
            (1, 1),
            "a tunnel that ends while its colour is routed is neither"
        );
        assert_eq!(r.episode(), (1, 1));
        // The next retirement counts afresh; the totals go on.
        r.retire(Duration::from_secs(60));
        r.count_end(true);
        assert_eq!(r.episode(), (0, 1));
        assert_eq!(r.cut.load(Ordering::Relaxed), 2);
    }
}
