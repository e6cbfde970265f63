//! Building the resource's state from what the platform reports, keeping the
//! user's own arguments as they wrote them (or plans never converge).

use std::collections::BTreeMap;

use tfplugin::Value;

use crate::platform::{Color, EnvironmentState, TargetSpec};
use crate::rollout::ReleaseReport;

/// The `colors` map from the platform's view.
pub fn colors_value(state: &EnvironmentState) -> Value {
    let mut map = BTreeMap::new();
    for color in Color::ALL {
        let c = state.color(color);
        map.insert(
            color.as_str().to_string(),
            Value::object([
                ("version", Value::from(c.version.clone())),
                ("status", Value::from(c.phase.as_str())),
                ("address", Value::from(c.address.clone())),
            ]),
        );
    }
    Value::Map(map)
}

/// The `last_deployment` object of a report.
pub fn deployment_value(report: &ReleaseReport, message: Option<&str>) -> Value {
    Value::object([
        ("id", Value::from(report.id.as_str())),
        ("outcome", Value::from(report.outcome.as_str())),
        ("started_at", Value::from(report.started_at.as_str())),
        ("finished_at", Value::from(report.finished_at.as_str())),
        ("message", Value::from(message.unwrap_or(&report.message))),
    ])
}

/// Overwrites the platform-reported attributes of `base` with the truth.
/// `for_read` (Read and failed applies) also reports the live `version` and
/// the running candidate; a successful apply must return planned values as planned.
pub fn apply_truth(base: &mut Value, state: &EnvironmentState, for_read: bool) {
    let live = state.live_color();
    base.set("id", base.get("name").clone());
    base.set("live_color", Value::from(live.map(|c| c.as_str())));
    base.set("idle_color", Value::from(live.map(|c| c.other().as_str())));
    base.set("endpoint", Value::from(state.endpoint.as_str()));
    base.set("colors", colors_value(state));
    if !for_read {
        return;
    }
    // With nothing live there is no true version: an empty one makes the
    // next plan propose the release again.
    base.set(
        "version",
        Value::from(state.live_version().unwrap_or_default()),
    );
    // A candidate is what the idle colour runs; report it only while the user
    // has one, and leave it be once it was promoted (it is the live version).
    let promoted = base
        .get("candidate_version")
        .as_str()
        .is_some_and(|c| state.live_version().as_deref() == Some(c));
    if !base.get("candidate_version").is_null() && !promoted {
        let idle = live.map(|c| state.color(c.other()));
        let running = idle
            .filter(|c| c.phase == crate::platform::ColorPhase::Running)
            .and_then(|c| c.version);
        base.set("candidate_version", Value::from(running));
    }
}

/// Clears the resource's `previous_version` once the idle colour no longer
/// runs it (Read and failed applies; the data source has no such attribute).
pub fn forget_lost_rollback_target(base: &mut Value, state: &EnvironmentState) {
    let previous = rollback_target(base.get("previous_version"), state);
    base.set("previous_version", previous);
}

/// `previous` while the idle colour still runs it, so that setting `version`
/// to it is a pure front-door switch; null once a candidate, a failed or
/// rolled-back release, or a stop took its place.
pub fn rollback_target(previous: &Value, state: &EnvironmentState) -> Value {
    let Some(previous) = previous.as_str() else {
        return previous.clone();
    };
    let idle = state.live_color().map(|live| state.color(live.other()));
    // By version alone: a stopped colour reports none, and a crash the
    // platform is restarting must not forget the rollback target for good.
    let kept = idle.is_some_and(|c| c.version.as_deref() == Some(previous));
    if kept {
        Value::from(previous)
    } else {
        Value::Null
    }
}

/// The `local` block as the platform holds it, keeping the user's spelling
/// of `drain_timeout` when it means the same duration.
pub fn local_block_value(spec: &TargetSpec, prior_local: &Value) -> Value {
    let TargetSpec::Local {
        command,
        env,
        listen,
        drain_timeout,
        trust_forwarded_headers,
    } = spec;
    let prior_drain = prior_local.get("drain_timeout");
    let drain = match prior_drain.as_str().map(tfplugin::timeouts::parse_duration) {
        Some(Ok(d)) if d == *drain_timeout => prior_drain.clone(),
        _ => Value::from(tfplugin::timeouts::format_duration(*drain_timeout)),
    };
    // An env map the user left out stays null rather than becoming {}.
    let env_value = if env.is_empty() && prior_local.get("env").is_null() {
        Value::Null
    } else {
        Value::Map(
            env.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    };
    Value::object([
        (
            "command",
            Value::List(command.iter().map(|c| Value::from(c.as_str())).collect()),
        ),
        ("env", env_value),
        ("listen", Value::from(listen.as_str())),
        ("drain_timeout", drain),
        (
            "trust_forwarded_headers",
            Value::Bool(*trust_forwarded_headers),
        ),
    ])
}
