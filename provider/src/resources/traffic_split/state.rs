//! Building the split's state from the routing the platform reports, keeping
//! the user's own arguments as they wrote them.

use tfplugin::model::Field;
use tfplugin::Number;

use super::model::SplitModel;
use crate::platform::EnvironmentState;
use crate::rollout::canary::{place, Placement};

/// Fills the computed attributes and reports the routing as it really is.
/// `for_read` (Read, import and failed applies) also reports the weight and
/// tenants the front door applies; a successful apply returns them as planned.
pub fn truth_state(base: &SplitModel, state: &EnvironmentState, for_read: bool) -> SplitModel {
    let mut out = base.clone();
    out.id = base.environment.clone();
    let version = canary_version(base);
    let environment = base.environment.as_deref().unwrap_or_default();
    match place(state, environment, &version) {
        Ok(Placement::Satisfied) => {
            out.satisfied = Field::Known(true);
            out.canary_color = Field::Null;
        }
        Ok(Placement::On(color)) => {
            out.satisfied = Field::Known(false);
            out.canary_color = Field::Known(color.as_str().to_string());
            if for_read {
                // Whatever the front door really does with that colour is the truth.
                let route = state.routing.canary.as_ref().filter(|c| c.color == color);
                if let Some(canary) = out.canary.known_mut() {
                    canary.weight =
                        Field::Known(Number::Int(route.map_or(0, |c| i64::from(c.weight))));
                    let tenants: Vec<Field<String>> = route
                        .map(|c| c.tenants.iter().cloned().map(Field::Known).collect())
                        .unwrap_or_default();
                    // A tenant list the user left out stays null rather than becoming [].
                    if !(tenants.is_empty() && canary.tenants.is_null()) {
                        canary.tenants = Field::Known(tenants);
                    }
                }
                out.tenant_header = Field::Known(state.routing.tenant_header.clone());
            }
        }
        Err(_) => {
            // The canary version runs nowhere any more: nothing is routed to it.
            out.satisfied = Field::Known(false);
            out.canary_color = Field::Null;
            if for_read {
                if let Some(canary) = out.canary.known_mut() {
                    canary.weight = Field::Known(Number::Int(0));
                }
            }
        }
    }
    out
}

/// The canary version, empty when not (yet) known.
pub fn canary_version(split: &SplitModel) -> String {
    split
        .canary
        .known()
        .and_then(|c| c.version.as_deref())
        .unwrap_or_default()
        .to_string()
}
