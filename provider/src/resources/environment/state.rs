//! Building the resource's state from what the platform reports, keeping the
//! user's own arguments as they wrote them (or plans never converge).

use std::collections::BTreeMap;
use std::time::Duration;

use tfplugin::model::Field;

use super::model::{ColorModel, DeploymentModel, EnvironmentModel, LocalModel};
use super::schema::{DEFAULT_DRAIN_TIMEOUT_TEXT, DEFAULT_UPSTREAM_TIMEOUT_TEXT};
use crate::platform::{Color, EnvironmentState, TargetSpec};
use crate::rollout::ReleaseReport;

/// What the platform reports, in the attributes the resource and the data
/// source share.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The colour receiving traffic (null when nothing is live).
    pub live_color: Field<String>,
    /// The other colour (null when nothing is live).
    pub idle_color: Field<String>,
    /// The front door URL.
    pub endpoint: String,
    /// Per colour, its version, status and address.
    pub colors: BTreeMap<String, ColorModel>,
    /// The live version; empty with nothing live, so that the next plan
    /// proposes the release again.
    pub version: String,
}

/// The platform's view in the shared attributes.
pub fn reported(state: &EnvironmentState) -> Reported {
    let live = state.live_color();
    Reported {
        live_color: Field::from_option(live.map(|c| c.as_str().to_string())),
        idle_color: Field::from_option(live.map(|c| c.other().as_str().to_string())),
        endpoint: state.endpoint.clone(),
        colors: colors_value(state),
        version: state.live_version().unwrap_or_default(),
    }
}

/// The `colors` map from the platform's view.
pub fn colors_value(state: &EnvironmentState) -> BTreeMap<String, ColorModel> {
    Color::ALL
        .into_iter()
        .map(|color| {
            let c = state.color(color);
            let model = ColorModel {
                version: Field::from_option(c.version.clone()),
                status: Field::Known(c.phase.as_str().to_string()),
                address: Field::from_option(c.address.clone()),
            };
            (color.as_str().to_string(), model)
        })
        .collect()
}

/// The `last_deployment` object of a report.
pub fn deployment_value(report: &ReleaseReport, message: Option<&str>) -> DeploymentModel {
    DeploymentModel {
        id: Field::Known(report.id.clone()),
        outcome: Field::Known(report.outcome.as_str().to_string()),
        started_at: Field::Known(report.started_at.clone()),
        finished_at: Field::Known(report.finished_at.clone()),
        message: Field::Known(message.unwrap_or(&report.message).to_string()),
    }
}

/// Overwrites the platform-reported attributes of `base` with the truth.
/// `for_read` (Read and failed applies) also reports the live `version` and
/// the running candidate; a successful apply must return planned values as planned.
pub fn apply_truth(base: &mut EnvironmentModel, state: &EnvironmentState, for_read: bool) {
    let truth = reported(state);
    base.id = base.name.clone();
    base.live_color = truth.live_color;
    base.idle_color = truth.idle_color;
    base.endpoint = Field::Known(truth.endpoint);
    base.colors = Field::Known(truth.colors);
    if !for_read {
        return;
    }
    base.version = Field::Known(truth.version);
    // A candidate is what the idle colour runs; report it only while the user
    // has one, and leave it be once it was promoted (it is the live version).
    let promoted = base
        .candidate_version
        .as_deref()
        .is_some_and(|c| state.live_version().as_deref() == Some(c));
    if !base.candidate_version.is_null() && !promoted {
        let live = state.live_color();
        let idle = live.map(|c| state.color(c.other()));
        let running = idle
            .filter(|c| c.phase == crate::platform::ColorPhase::Running)
            .and_then(|c| c.version);
        base.candidate_version = Field::from_option(running);
    }
}

/// Clears the resource's `previous_version` once the idle colour no longer
/// runs it (Read and failed applies; the data source has no such attribute).
pub fn forget_lost_rollback_target(base: &mut EnvironmentModel, state: &EnvironmentState) {
    base.previous_version = rollback_target(&base.previous_version, state);
}

/// `previous` while the idle colour still runs it, so that setting `version`
/// to it is a pure front-door switch; null once a candidate, a failed or
/// rolled-back release, or a stop took its place.
pub fn rollback_target(previous: &Field<String>, state: &EnvironmentState) -> Field<String> {
    let Some(previous) = previous.as_deref() else {
        return previous.clone();
    };
    let idle = state.live_color().map(|live| state.color(live.other()));
    // By version alone: a stopped colour reports none, and a crash the
    // platform is restarting must not forget the rollback target for good.
    let kept = idle.is_some_and(|c| c.version.as_deref() == Some(previous));
    if kept {
        Field::Known(previous.to_string())
    } else {
        Field::Null
    }
}

/// The `local` block as the platform holds it, keeping the user's spelling of
/// `drain_timeout` and `upstream_timeout` when it means the same duration, and the
/// schema's spelling of a default (an import knows no spelling: `60s`, not `1m`, or
/// the plan of a configuration that leaves it out would differ); `None` for a spec of
/// another platform (which has no `local` block).
pub fn local_block_value(spec: &TargetSpec, prior_local: &Field<LocalModel>) -> Option<LocalModel> {
    let TargetSpec::Local {
        command,
        env,
        listen,
        drain_timeout,
        upstream_timeout,
        trust_forwarded_headers,
        ..
    } = spec
    else {
        return None;
    };
    let spelled = |prior: Option<&Field<String>>, held: Duration, default: &str| {
        let prior = prior.cloned().unwrap_or(Field::Null);
        match prior.as_deref().map(tfplugin::timeouts::parse_duration) {
            Some(Ok(d)) if d == held => prior,
            _ if tfplugin::timeouts::parse_duration(default) == Ok(held) => {
                Field::Known(default.to_owned())
            }
            _ => Field::Known(tfplugin::timeouts::format_duration(held)),
        }
    };
    let prior = prior_local.known();
    let drain = spelled(
        prior.map(|l| &l.drain_timeout),
        *drain_timeout,
        DEFAULT_DRAIN_TIMEOUT_TEXT,
    );
    let upstream = spelled(
        prior.map(|l| &l.upstream_timeout),
        *upstream_timeout,
        DEFAULT_UPSTREAM_TIMEOUT_TEXT,
    );
    // An env map the user left out stays null rather than becoming {}.
    let prior_env_null = prior_local.known().is_none_or(|l| l.env.is_null());
    let env_value = if env.is_empty() && prior_env_null {
        Field::Null
    } else {
        Field::Known(
            env.iter()
                .map(|(k, v)| (k.clone(), Field::Known(v.clone())))
                .collect(),
        )
    };
    Some(LocalModel {
        command: Field::Known(command.iter().cloned().map(Field::Known).collect()),
        env: env_value,
        listen: Field::Known(listen.clone()),
        drain_timeout: drain,
        upstream_timeout: upstream,
        trust_forwarded_headers: Field::Known(*trust_forwarded_headers),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use tfplugin::model::Field;

    use super::local_block_value;
    use crate::platform::TargetSpec;
    use crate::resources::environment::model::LocalModel;

    fn timeouts(
        drain: Duration,
        upstream: Duration,
        prior: &Field<LocalModel>,
    ) -> (String, String) {
        let spec = TargetSpec::Local {
            command: vec!["app".into()],
            env: BTreeMap::new(),
            listen: "127.0.0.1:8080".into(),
            drain_timeout: drain,
            upstream_timeout: upstream,
            trust_forwarded_headers: false,
            health_path: None,
        };
        let local = local_block_value(&spec, prior).expect("a local block");
        let text = |f: &Field<String>| f.as_deref().unwrap_or_default().to_owned();
        (text(&local.drain_timeout), text(&local.upstream_timeout))
    }

    #[test]
    fn timeouts_keep_the_users_spelling_or_the_schemas_default() {
        let (s30, s60, s90) = (
            Duration::from_secs(30),
            Duration::from_secs(60),
            Duration::from_secs(90),
        );
        // An import knows no spelling: defaults as the schema writes them, so that a
        // configuration leaving them out plans nothing.
        assert_eq!(
            timeouts(s30, s60, &Field::Null),
            ("30s".into(), "60s".into())
        );
        assert_eq!(
            timeouts(s90, s90, &Field::Null),
            ("1m30s".into(), "1m30s".into())
        );
        let prior = Field::Known(LocalModel {
            drain_timeout: Field::Known("0.5m".into()),
            upstream_timeout: Field::Known("1m".into()),
            ..LocalModel::default()
        });
        assert_eq!(timeouts(s30, s60, &prior), ("0.5m".into(), "1m".into()));
        // Changed behind Terraform's back: the new value, in the canonical spelling.
        assert_eq!(timeouts(s90, s90, &prior), ("1m30s".into(), "1m30s".into()));
    }
}
