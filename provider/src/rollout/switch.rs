//! The atomic switch: one routing-table replacement, guarded by revision, then
//! the wait until every location of the front door serves it.

use std::time::Duration;

use super::attempt::Attempt;
use super::propagation::{await_propagation, Spread};
use super::ReleaseError;
use crate::platform::{now_ms, ReleasePhase, RouteChange, RouteReason, RoutingRevision};

/// When and from what the switch happened, for the watch.
#[derive(Debug, Clone)]
pub struct Switched {
    /// Unix ms from which every location served the switch.
    pub at_ms: u64,
    /// Routing revision after the switch.
    pub revision: RoutingRevision,
}

/// Routes all traffic to the attempt's colour, replacing any canary, if the
/// routing is still at the revision the attempt began from; waits until the
/// change is served everywhere, and puts the routing the attempt began from
/// back when that takes longer than the engine's deadline allows, `keep`
/// (the watch that follows) kept out. The routing put back is not waited
/// for: the deadline has passed, and the error says it was put back.
pub async fn switch_to(
    attempt: &mut Attempt<'_>,
    keep: Duration,
) -> Result<Switched, ReleaseError> {
    let engine = attempt.engine;
    let (environment, color) = (attempt.environment, attempt.color);
    engine.check_stop("the switch")?;
    attempt.enter(ReleasePhase::Switching).await;
    let from = attempt.snapshot.routing.clone();
    let change = RouteChange::all_to(color, from.revision.clone(), RouteReason::Switch);
    let revision = engine
        .platform
        .route(environment, change, engine.lease)
        .await?;
    attempt
        .step(format!("front door switched to {color}"))
        .await;
    let what = format!("the propagation of the switch to {color}");
    let budget = engine.time_left(keep);
    let spread = await_propagation(engine, environment, &revision, budget, &what).await?;
    match spread {
        Spread::Complete { waited: None } => {}
        Spread::Complete {
            waited: Some(waited),
        } => {
            attempt
                .step(format!(
                    "every front door location serves {color} after {:.1}s",
                    waited.as_secs_f64()
                ))
                .await
        }
        Spread::TimedOut { .. } => {
            let back = RouteChange {
                primary: from.primary,
                canary: from.canary.clone(),
                tenant_header: None,
                if_revision: revision,
                reason: RouteReason::Rollback,
            };
            engine
                .platform
                .route(environment, back, engine.lease)
                .await?;
            let restored = from
                .primary
                .map_or("no colour (nothing was live before)".to_string(), |c| {
                    c.to_string()
                });
            let err = ReleaseError::NotPropagated {
                color: color.to_string(),
                detail: spread.shortfall(keep).unwrap_or_default(),
                restored,
            };
            attempt.step(err.to_string()).await;
            return Err(err);
        }
    }
    crate::notify::sink::switched(&format!(
        "every request to {} now goes to {color} ({})",
        environment.name, attempt.version
    ));
    Ok(Switched {
        at_ms: now_ms(),
        revision,
    })
}
