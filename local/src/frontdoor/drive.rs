//! One task per client connection: it polls the client connection and the upstream
//! connections that connection adopted ([`super::owned`]).
//!
//! A proxied request bounces between the two sides several times: the request is
//! handed to the upstream connection, the response head comes back, the client side
//! asks for body data, the upstream side delivers it. Each hand-off wakes the other
//! side. Every side here has a waker of its own that only raises a flag while the task
//! is running, and the task keeps polling flagged sides until none is left, so a whole
//! request usually takes two task polls (request in, response out) and polls only what
//! has something to do. A wake from outside (socket readiness) wakes the task itself.
//! The front door's stop signal is one more side, so it costs nothing until it fires.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::owned::{ConnFuture, OwnedUpstreams};

/// Rounds of polling flagged sides before yielding to other tasks, so one busy
/// connection cannot starve the others on its thread.
const MAX_ROUNDS: usize = 32;

/// What the side wakers share: whether the task is polling, and its own waker.
#[derive(Default)]
struct TaskWake {
    polling: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl TaskWake {
    fn wake_task(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(w) = task {
            w.wake();
        }
    }
}

/// The waker of one side: raises its flag, and wakes the task unless it is polling
/// (then it will see the flag before it stops).
struct SideWake {
    flag: AtomicBool,
    shared: Arc<TaskWake>,
}

impl Wake for SideWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::SeqCst);
        if !self.shared.polling.load(Ordering::SeqCst) {
            self.shared.wake_task();
        }
    }
}

struct Side {
    wake: Arc<SideWake>,
    waker: Waker,
}

impl Side {
    fn new(shared: &Arc<TaskWake>) -> Self {
        let wake = Arc::new(SideWake {
            // Every side is polled once at first.
            flag: AtomicBool::new(true),
            shared: shared.clone(),
        });
        let waker = Waker::from(wake.clone());
        Self { wake, waker }
    }

    fn take_flag(&self) -> bool {
        self.wake.flag.swap(false, Ordering::SeqCst)
    }

    fn is_flagged(&self) -> bool {
        self.wake.flag.load(Ordering::SeqCst)
    }
}

struct Upstream {
    id: u64,
    conn: ConnFuture,
    side: Side,
}

/// A future that completes when the front door stops.
pub(crate) type StopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Polls a client connection together with the upstream connections it adopted, and
/// shuts the client connection down gracefully when the front door stops.
pub(crate) struct Driven<F> {
    server: Pin<Box<F>>,
    server_side: Side,
    owned: Arc<OwnedUpstreams>,
    upstreams: Vec<Upstream>,
    /// Until it fires; then the client connection finishes its request and closes.
    stop: Option<(StopFuture, Side)>,
    on_stop: fn(Pin<&mut F>),
    shared: Arc<TaskWake>,
}

impl<F: Future> Driven<F> {
    /// Drives `server`, whose requests go through `owned`; `on_stop(server)` runs once
    /// `stop` completes.
    pub(crate) fn new(
        server: F,
        owned: Arc<OwnedUpstreams>,
        stop: StopFuture,
        on_stop: fn(Pin<&mut F>),
    ) -> Self {
        let shared = Arc::new(TaskWake::default());
        Self {
            server: Box::pin(server),
            server_side: Side::new(&shared),
            owned,
            upstreams: Vec::new(),
            stop: Some((stop, Side::new(&shared))),
            on_stop,
            shared,
        }
    }

    /// After the client connection has ended: its idle upstream connections go to the
    /// colour's shared pool, with their driving futures; the others are closed.
    pub(crate) fn hand_over(mut self) {
        let (idle, adopted) = self.owned.close();
        for (id, conn) in adopted {
            self.adopt(id, conn);
        }
        for i in idle {
            let Some(at) = self.upstreams.iter().position(|u| u.id == i.id) else {
                continue;
            };
            let up = self.upstreams.swap_remove(at);
            i.stats.pool.park(i.port, i.sender, up.conn);
        }
    }

    fn adopt(&mut self, id: u64, conn: ConnFuture) {
        let side = Side::new(&self.shared);
        self.upstreams.push(Upstream { id, conn, side });
    }

    /// Polls every flagged side until none is flagged; `Some` when the client
    /// connection has ended.
    fn run(&mut self) -> Option<F::Output> {
        for _ in 0..MAX_ROUNDS {
            let mut any = false;
            if let Some((stop, side)) = &mut self.stop {
                if side.take_flag() {
                    let mut cx = Context::from_waker(&side.waker);
                    if stop.as_mut().poll(&mut cx).is_ready() {
                        self.stop = None;
                        (self.on_stop)(self.server.as_mut());
                        self.server_side.wake.flag.store(true, Ordering::SeqCst);
                    }
                }
            }
            if self.server_side.take_flag() {
                any = true;
                let mut cx = Context::from_waker(&self.server_side.waker);
                if let Poll::Ready(out) = self.server.as_mut().poll(&mut cx) {
                    return Some(out);
                }
            }
            for (id, conn) in self.owned.take_adopted() {
                self.adopt(id, conn);
            }
            self.upstreams.retain_mut(|up| {
                if !up.side.take_flag() {
                    return true;
                }
                any = true;
                let mut cx = Context::from_waker(&up.side.waker);
                up.conn.as_mut().poll(&mut cx).is_pending()
            });
            if !any {
                break;
            }
        }
        None
    }

    fn any_flagged(&self) -> bool {
        self.server_side.is_flagged()
            || self.upstreams.iter().any(|u| u.side.is_flagged())
            || self
                .stop
                .as_ref()
                .is_some_and(|(_, side)| side.is_flagged())
    }
}

impl<F: Future> Future for Driven<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        {
            let mut task = this.shared.task.lock().unwrap_or_else(|p| p.into_inner());
            if !task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        this.shared.polling.store(true, Ordering::SeqCst);
        let out = this.run();
        this.shared.polling.store(false, Ordering::SeqCst);
        if let Some(out) = out {
            return Poll::Ready(out);
        }
        // A side woken after its last check but before `polling` was cleared did not
        // wake the task; the round limit also leaves flags set. Either way: again.
        if this.any_flagged() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
