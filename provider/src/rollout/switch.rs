//! The atomic switch: one routing-table replacement, guarded by revision.

use super::attempt::Attempt;
use super::ReleaseError;
use crate::platform::{now_ms, RouteChange, RouteReason, RoutingRevision};

/// When and from what the switch happened, for the watch.
#[derive(Debug, Clone)]
pub struct Switched {
    /// Unix ms of the switch.
    pub at_ms: u64,
    /// Routing revision after the switch.
    pub revision: RoutingRevision,
}

/// Routes all traffic to the attempt's colour, replacing any canary, if the
/// routing is still at the revision the attempt began from.
pub async fn switch_to(attempt: &mut Attempt<'_>) -> Result<Switched, ReleaseError> {
    let engine = attempt.engine;
    engine.check_stop("the switch")?;
    let at_ms = now_ms();
    let change = RouteChange::all_to(
        attempt.color,
        attempt.snapshot.routing.revision.clone(),
        RouteReason::Switch,
    );
    let revision = engine
        .platform
        .route(attempt.environment, change, engine.lease)
        .await?;
    attempt.step(format!("front door switched to {}", attempt.color));
    Ok(Switched { at_ms, revision })
}
