//! Waiting for a routing change to reach every location of the front door: a
//! cloud front door accepts a change at once and serves it everywhere minutes
//! later, and figures measured before then mix the old routing with the new.

use std::time::{Duration, Instant};

use super::{Engine, ReleaseError};
use crate::platform::{EnvironmentRef, Propagation, RoutingRevision};

/// How a wait for propagation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Every location serves the change; `waited` is `None` when it did at the first look.
    Complete {
        /// How long it took, when it was not immediate.
        waited: Option<Duration>,
    },
    /// The deadline passed first.
    TimedOut {
        /// Locations that served the change at the last look.
        converged: u32,
        /// All locations.
        locations: u32,
        /// Time waited.
        waited: Duration,
    },
}

/// Polls [`crate::platform::Platform::propagation`] at the platform's cadence
/// until the routing at `revision` is served everywhere or `timeout` passes.
pub async fn await_propagation(
    engine: &Engine<'_>,
    environment: &EnvironmentRef,
    revision: &RoutingRevision,
    timeout: Duration,
    what: &str,
) -> Result<Spread, ReleaseError> {
    let started = Instant::now();
    let poll = engine.platform.poll_interval();
    let mut pending_seen = false;
    loop {
        engine.check_stop(what)?;
        let state = engine
            .until_stopped(what, engine.platform.propagation(environment, revision))
            .await??;
        match state {
            Propagation::Complete => {
                return Ok(Spread::Complete {
                    waited: pending_seen.then(|| started.elapsed()),
                })
            }
            Propagation::Pending {
                converged,
                locations,
            } => {
                pending_seen = true;
                let waited = started.elapsed();
                if waited >= timeout {
                    return Ok(Spread::TimedOut {
                        converged,
                        locations,
                        waited,
                    });
                }
                engine.pause(poll.min(timeout - waited), what).await?;
            }
        }
    }
}
