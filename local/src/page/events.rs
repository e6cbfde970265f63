//! `GET /events`: server-sent events carrying the page's live part, re-rendered when
//! the routing, a colour or a release changes (checked every 100 ms, so a switch shows
//! within a few hundred ms) and at least once a second (the figures move). Read-only
//! and without the token, like the page; at most [`MAX_STREAMS`] at once, each costing
//! one small fingerprint per tick and a render only when it sends.

use std::collections::hash_map::DefaultHasher;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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

/// The permits of the event streams, shared by the router.
#[derive(Debug, Clone)]
pub struct Streams(Arc<Semaphore>);

impl Default for Streams {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(MAX_STREAMS)))
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

struct Stream {
    daemon: Daemon,
    _permit: OwnedSemaphorePermit,
    last: Option<(u64, Instant)>,
}

impl Stream {
    async fn next_frame(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.last.is_some() {
                // Never busy: at most one check per tick.
                tokio::time::sleep(TICK).await;
            }
            let fp = fingerprint(&self.daemon);
            let due = match self.last {
                None => true,
                Some((last_fp, sent)) => last_fp != fp || sent.elapsed() >= HEARTBEAT,
            };
            if due {
                self.last = Some((fp, Instant::now()));
                let html = render_live(&snapshot(&self.daemon));
                return Some((Ok(Event::default().event("live").data(html)), self));
            }
        }
    }
}

/// `GET /events`.
pub async fn events(daemon: Daemon, streams: Streams) -> Response {
    let Ok(permit) = streams.0.try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("{MAX_STREAMS} event streams are open, the limit: close a page or try again shortly"),
        )
        .into_response();
    };
    let first = Stream {
        daemon,
        _permit: permit,
        last: None,
    };
    // `retry` first: a dropped stream (daemon restart, idle cut) comes back within
    // half a second.
    let retry = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().retry(Duration::from_millis(500)))
    });
    let frames = futures_util::stream::unfold(first, Stream::next_frame);
    let stream = futures_util::StreamExt::chain(retry, frames);
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
