//! The atomic switch: one routing-table replacement, guarded by revision.

use super::{Engine, ReleaseError, ReleaseReport};
use crate::platform::{now_ms, Color, RouteChange, RouteReason};

/// When and from what the switch happened, for the watch.
#[derive(Debug, Clone)]
pub struct Switched {
    /// Unix ms of the switch.
    pub at_ms: u64,
    /// Routing revision after the switch.
    pub revision: u64,
}

/// Routes all traffic to `color`, replacing any canary, if the routing is still at `revision`.
pub async fn switch_to(
    engine: &Engine<'_>,
    environment: &str,
    color: Color,
    revision: u64,
    report: &mut ReleaseReport,
) -> Result<Switched, ReleaseError> {
    engine.check_stop("the switch")?;
    let at_ms = now_ms();
    let change = RouteChange::all_to(color, revision, RouteReason::Switch);
    let revision = engine
        .platform
        .route(environment, change, engine.lease)
        .await?;
    report.step(format!("front door switched to {color}"));
    Ok(Switched { at_ms, revision })
}
