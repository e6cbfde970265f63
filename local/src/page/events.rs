//! `GET /events`: server-sent events carrying the page's live part, re-rendered when
//! the routing, a colour or a release changes (checked every 100 ms, so a switch shows
//! within a few hundred ms) and at least once a second (the figures move). Read-only
//! and without the token, like the page; at most [`MAX_STREAMS`] at once. One producer
//! checks and renders for all streams while any is open, so the daemon's cost does not
//! grow with the number of pages.

use std::collections::hash_map::DefaultHasher;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use super::{render_live, snapshot};
use crate::daemon::Daemon;
use crate::server::ApiError;

/// Event streams served at once; one more is answered 503.
pub const MAX_STREAMS: usize = 64;
/// How often a stream looks for a change.
const TICK: Duration = Duration::from_millis(100);
/// A frame at least this often.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// The event streams' permits and their shared feed, held by the router.
#[derive(Debug, Clone)]
pub struct Streams {
    permits: Arc<Semaphore>,
    feed: Feed,
    /// True once the admin API stops: every stream ends, or the open pages would hold
    /// the daemon's exit (and a takeover) for ever.
    closing: watch::Receiver<bool>,
}

impl Streams {
    /// Streams that end when `closing` turns true.
    pub fn new(closing: watch::Receiver<bool>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_STREAMS)),
            feed: Arc::default(),
            closing,
        }
    }
}

/// What changes the page at once when it changes: environments, routing, colours'
/// processes and versions, releases' phases and steps. The figures are left to the
/// once-a-second frame.
fn fingerprint(d: &Daemon) -> u64 {
    let mut h = DefaultHasher::new();
    for env in d.list() {
        env.name.hash(&mut h);
        env.routing.revision.hash(&mut h);
        env.lock.as_ref().map(|l| &l.owner).hash(&mut h);
        for c in [&env.colors.blue, &env.colors.green] {
            c.version.hash(&mut h);
            c.status.to_string().hash(&mut h);
        }
        if let Some(r) = d.releases(&env.name).unwrap_or_default().first() {
            r.id.hash(&mut h);
            r.phase.as_str().hash(&mut h);
            (r.steps.len() as u64 + r.steps_dropped).hash(&mut h);
            r.updated_at.hash(&mut h);
        }
    }
    h.finish()
}

/// The frame every stream sends: one producer renders it for all of them, so a stream
/// costs a copy of the frame and no render of its own.
type Frame = Arc<str>;

/// Renders a frame when something changed or a second passed, while any stream
/// listens; then stops (the next stream starts another).
async fn produce(daemon: Daemon, tx: watch::Sender<Frame>, feed: Feed) {
    let mut last = (fingerprint(&daemon), Instant::now());
    loop {
        tokio::time::sleep(TICK).await;
        {
            // Under the feed's lock, so a stream cannot subscribe to a feed that ends.
            let mut current = lock(&feed);
            if tx.receiver_count() == 0 {
                *current = None;
                return;
            }
        }
        let fp = fingerprint(&daemon);
        if fp != last.0 || last.1.elapsed() >= HEARTBEAT {
            last = (fp, Instant::now());
            tx.send_replace(Frame::from(render_live(&snapshot(&daemon))));
        }
    }
}

type Feed = Arc<Mutex<Option<watch::Sender<Frame>>>>;

fn lock(feed: &Feed) -> std::sync::MutexGuard<'_, Option<watch::Sender<Frame>>> {
    feed.lock().unwrap_or_else(|p| p.into_inner())
}

/// A receiver of the current feed, starting one (with a first frame) when none runs.
fn subscribe(daemon: &Daemon, feed: &Feed) -> watch::Receiver<Frame> {
    let mut current = lock(feed);
    if let Some(tx) = current.as_ref() {
        let mut rx = tx.subscribe();
        // Its current frame is the first to send.
        rx.mark_changed();
        return rx;
    }
    let first = Frame::from(render_live(&snapshot(daemon)));
    let (tx, mut rx) = watch::channel(first);
    rx.mark_changed();
    *current = Some(tx.clone());
    tokio::spawn(produce(daemon.clone(), tx, feed.clone()));
    rx
}

/// `GET /events`.
pub async fn events(daemon: Daemon, streams: Streams) -> Response {
    let Ok(permit) = streams.permits.try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("{MAX_STREAMS} event streams are open, the limit: close a page or try again shortly"),
        )
        .into_response();
    };
    let rx = subscribe(&daemon, &streams.feed);
    // `retry` first: a dropped stream (daemon restart, idle cut) comes back within
    // half a second.
    let retry = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().retry(Duration::from_millis(500)))
    });
    let state = (rx, streams.closing.clone(), permit);
    let frames = futures_util::stream::unfold(state, |(mut rx, mut closing, permit)| async move {
        tokio::select! {
            changed = rx.changed() => changed.ok()?,
            _ = closing.wait_for(|c| *c) => return None,
        }
        let frame = rx.borrow_and_update().clone();
        Some((
            Ok(Event::default().event("live").data(&*frame)),
            (rx, closing, permit),
        ))
    });
    let stream = futures_util::StreamExt::chain(retry, frames);
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
