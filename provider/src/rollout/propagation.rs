//! Waiting for a routing change to reach every location of the front door: a
//! cloud front door accepts a change at once and serves it everywhere minutes
//! later, and figures measured before then mix the old routing with the new.

use std::time::{Duration, Instant};

use super::clock::format_duration;
use super::{Engine, ReleaseError, ReleaseReport};
use crate::platform::{EnvironmentRef, Propagation, RoutingRevision};

/// Time kept back from a resource's timeout for what follows a wait that gave
/// up: putting the routing back, reading the platform's truth into state,
/// releasing the lock. A tenth of the timeout when that is less.
pub const RESERVE: Duration = Duration::from_secs(60);

/// The engine's deadline for an operation Terraform allows `timeout` from now.
pub fn deadline_within(timeout: Duration) -> Instant {
    Instant::now() + timeout.saturating_sub(RESERVE.min(timeout / 10))
}

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

impl Spread {
    /// "1 of 3 front door locations served it after 12.0s, …" when the
    /// deadline passed first (`keep` is what was kept out of the wait for
    /// what follows it); `None` when the change is served everywhere.
    pub fn shortfall(&self, keep: Duration) -> Option<String> {
        match *self {
            Spread::Complete { .. } => None,
            Spread::TimedOut {
                converged,
                locations,
                waited,
            } => Some(format!(
                "{converged} of {locations} front door locations served it after {:.1}s, all the time the resource's timeouts left for it{}; raise timeouts {{ create, update }} to wait longer",
                waited.as_secs_f64(),
                if keep.is_zero() {
                    String::new()
                } else {
                    format!(" less {} for what follows", format_duration(keep))
                }
            )),
        }
    }
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

/// Waits, for as long as the deadline allows, for a routing change that
/// nothing follows (a rollback, the final canary route); records how long it
/// took in `report` and returns the shortfall when it is not served everywhere.
pub async fn settle(
    engine: &Engine<'_>,
    environment: &EnvironmentRef,
    revision: &RoutingRevision,
    what: &str,
    served: &str,
    report: &mut ReleaseReport,
) -> Result<Option<String>, ReleaseError> {
    let what = format!("the propagation of {what}");
    let spread = await_propagation(
        engine,
        environment,
        revision,
        engine.time_left(Duration::ZERO),
        &what,
    )
    .await?;
    if let Spread::Complete {
        waited: Some(waited),
    } = spread
    {
        report.step(format!(
            "every front door location serves {served} after {:.1}s",
            waited.as_secs_f64()
        ));
    }
    Ok(spread.shortfall(Duration::ZERO))
}
