//! Canary routing by version: find the colour that runs the canary version,
//! replace the routing table in one step, and ramp the weight gated on the
//! canary's metrics against the live colour's.

use std::time::{Duration, Instant};

use super::propagation::{await_propagation, settle};
use super::unjudged_steps::{UnjudgedStep, UnjudgedSteps};
use super::watch::breach;
use super::{Engine, Outcome, PostSwitch, ReleaseError, ReleaseReport};
use crate::platform::{
    now_ms, CanaryRoute, Color, ColorPhase, EnvironmentRef, EnvironmentState, PlatformError,
    RouteChange, RouteReason, RoutingRevision,
};

/// The canary a user declared, by version.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySpec {
    /// Version that receives canary traffic.
    pub version: String,
    /// Final percent of requests without a tenant header.
    pub weight: u8,
    /// Tenants always routed to the canary.
    pub tenants: Vec<String>,
    /// Tenant header name.
    pub tenant_header: String,
}

/// Gated ramp to the final weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Progressive {
    /// Intermediate weights, ascending, each below the final weight.
    pub steps: Vec<u8>,
    /// Time each step is watched.
    pub interval: Duration,
    /// Thresholds judged at each step.
    pub rules: PostSwitch,
}

/// Where the canary stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// The canary version is the live version: nothing to split.
    Satisfied,
    /// The canary version runs on this (idle) colour.
    On(Color),
}

/// Finds where `version` runs, or explains what to do.
pub fn place(
    state: &EnvironmentState,
    environment: &str,
    version: &str,
) -> Result<Placement, String> {
    if state.live_version().as_deref() == Some(version) {
        return Ok(Placement::Satisfied);
    }
    let live = state.live_color();
    for color in Color::ALL {
        let c = state.color(color);
        if Some(color) != live && c.version.as_deref() == Some(version) {
            if c.phase != ColorPhase::Running {
                return Err(format!("version {version} is on {color} of environment \"{environment}\" but it is {}: apply the environment again to redeploy it", c.phase.as_str()));
            }
            return Ok(Placement::On(color));
        }
    }
    Err(format!(
        "version {version} does not run on any colour of environment \"{environment}\". Deploy it with candidate_version = \"{version}\" on the bluegreen_environment, in this apply or an earlier one (with environment set to the environment's name attribute, Terraform deploys it before the split)"
    ))
}

impl Engine<'_> {
    /// Installs the canary at its final weight, ramping through `progressive`
    /// first; a step that breaches sends everything back to the live colour.
    pub async fn canary(
        &self,
        environment: &EnvironmentRef,
        canary: &CanarySpec,
        progressive: Option<&Progressive>,
    ) -> Result<ReleaseReport, ReleaseError> {
        let mut report = ReleaseReport::start(environment, &canary.version);
        let state = self.status(environment).await?;
        let live = state.live_color().ok_or_else(|| {
            ReleaseError::Platform(PlatformError::Api(format!(
                "environment \"{environment}\" has no live colour"
            )))
        })?;
        let mut revision = state.routing.revision.clone();
        let color = match place(&state, &environment.name, &canary.version)
            .map_err(|e| ReleaseError::Platform(PlatformError::Api(e)))?
        {
            Placement::Satisfied => {
                if state.routing.canary.is_some() {
                    self.check_stop("the canary routing")?;
                    revision = self
                        .platform
                        .route(
                            environment,
                            RouteChange::all_to(live, revision, RouteReason::Route),
                            self.lease,
                        )
                        .await?;
                    report.step(format!(
                        "{} is live: canary routing removed (revision {revision})",
                        canary.version
                    ));
                    let removal = "the removal of the canary routing";
                    let served = format!("{live} alone");
                    if let Some(shortfall) =
                        settle(self, environment, &revision, removal, &served, &mut report).await?
                    {
                        return Err(ReleaseError::RouteNotPropagated {
                            change: format!("{removal} ({} is live)", canary.version),
                            shortfall,
                        });
                    }
                    report.finish(
                        Outcome::Routed,
                        format!("{} is live on {live}; no canary", canary.version),
                    );
                } else {
                    report.finish(
                        Outcome::NoChange,
                        format!("{} is live on {live}", canary.version),
                    );
                }
                return Ok(report);
            }
            Placement::On(color) => color,
        };
        let route = |weight: u8, tenants: Vec<String>, rev: RoutingRevision| RouteChange {
            primary: Some(live),
            canary: Some(CanaryRoute {
                color,
                weight,
                tenants,
            }),
            tenant_header: Some(canary.tenant_header.clone()),
            if_revision: rev,
            reason: RouteReason::Route,
        };
        let mut unjudged = None;
        if let Some(p) = progressive {
            let tally = unjudged.insert(UnjudgedSteps::new(&canary.version, color, p));
            // The ramp's alerts are about the canary beside the live colour.
            crate::notify::sink::candidate(
                live.to_string(),
                state.color(live).version,
                color.to_string(),
                canary.version.clone(),
            );
            let current = state
                .routing
                .canary
                .as_ref()
                .filter(|c| c.color == color)
                .map_or(0, |c| c.weight);
            for &step in p
                .steps
                .iter()
                .filter(|s| **s > current && **s < canary.weight)
            {
                let at_step = format!("the canary ramp at {step}%");
                self.check_stop(&at_step)?;
                revision = self
                    .platform
                    .route(
                        environment,
                        route(step, canary.tenants.clone(), revision.clone()),
                        self.lease,
                    )
                    .await?;
                report.step(format!("canary {} on {color} at {step}%", canary.version));
                // The step's watch follows: its interval is kept out of the wait.
                let budget = self.time_left(p.interval);
                let spread =
                    await_propagation(self, environment, &revision, budget, &at_step).await?;
                if let Some(shortfall) = spread.shortfall(p.interval) {
                    // Put back without waiting: the deadline has passed.
                    self.platform
                        .route(
                            environment,
                            RouteChange::all_to(live, revision.clone(), RouteReason::Rollback),
                            self.lease,
                        )
                        .await?;
                    let reason = format!("the {step}% step did not propagate: {shortfall}");
                    report.step(format!("canary set back to 0% at {step}%: {reason}"));
                    return Err(ReleaseError::CanaryRolledBack {
                        detail: format!("{} at {step}%: {reason}", canary.version),
                        restored_color: live.to_string(),
                        restored_version: state.color(live).version.unwrap_or_default(),
                    });
                }
                // The step is judged on traffic routed everywhere.
                let since = now_ms();
                let started = Instant::now();
                loop {
                    let done = started.elapsed() >= p.interval;
                    if !done {
                        self.pause(
                            (p.interval / 10)
                                .clamp(Duration::from_millis(100), Duration::from_secs(2))
                                .max(self.platform.poll_interval()),
                            &at_step,
                        )
                        .await?;
                    }
                    let now = now_ms();
                    let m = self
                        .platform
                        .metrics(environment, color, since, now)
                        .await?;
                    let base = self.platform.metrics(environment, live, since, now).await?;
                    let reason = m.as_ref().and_then(|m| breach(m, base.as_ref(), &p.rules));
                    if let Some(reason) = reason {
                        // Back to 0% and every tenant to the live colour, in one step.
                        let back = self
                            .platform
                            .route(
                                environment,
                                RouteChange::all_to(live, revision.clone(), RouteReason::Rollback),
                                self.lease,
                            )
                            .await?;
                        let live_version = state.color(live).version.unwrap_or_default();
                        report.step(format!("canary set back to 0% at {step}%: {reason}"));
                        let detail = format!("{} at {step}%: {reason}", canary.version);
                        let set_back = "the canary's set-back to 0%";
                        let served = format!("{live} alone");
                        return Err(
                            match settle(self, environment, &back, set_back, &served, &mut report)
                                .await?
                            {
                                None => ReleaseError::CanaryRolledBack {
                                    detail,
                                    restored_color: live.to_string(),
                                    restored_version: live_version,
                                },
                                Some(shortfall) => ReleaseError::RollbackNotPropagated {
                                    breach: format!("canary ramp: {detail}"),
                                    restored_color: live.to_string(),
                                    restored_version: live_version,
                                    shortfall,
                                },
                            },
                        );
                    }
                    if done {
                        // Too few requests, or none, or no figures: not a
                        // pass. The ramp goes on (nothing showed the canary
                        // is bad) and the apply warns once it is over.
                        tally.ramped += 1;
                        let min = p.rules.min_requests;
                        if let Some(s) = UnjudgedStep::from_step(step, m.as_ref(), min) {
                            report.step(tally.step(&s));
                            tally.steps.push(s);
                        } else if let Some(m) = m {
                            report.step(format!(
                                "step {step}% passed: {} canary requests, error rate {:.2}%",
                                m.requests,
                                m.error_rate * 100.0
                            ));
                        }
                        break;
                    }
                }
            }
        }
        let wanted = route(canary.weight, canary.tenants.clone(), revision.clone());
        let unchanged = state.routing.canary.as_ref() == wanted.canary.as_ref()
            && state.routing.tenant_header == canary.tenant_header
            && progressive.is_none();
        if unchanged {
            report.finish(
                Outcome::NoChange,
                format!(
                    "canary {} on {color} already receives {}% and {} tenant(s)",
                    canary.version,
                    canary.weight,
                    canary.tenants.len()
                ),
            );
            return Ok(report);
        }
        self.check_stop("the canary routing")?;
        revision = self.platform.route(environment, wanted, self.lease).await?;
        report.step(format!(
            "canary {} on {color}: {}% of untagged requests and {} tenant(s) (revision {revision})",
            canary.version,
            canary.weight,
            canary.tenants.len()
        ));
        let route = format!(
            "the canary route of {} on {color} at {}%",
            canary.version, canary.weight
        );
        let served = format!("the canary at {}%", canary.weight);
        if let Some(shortfall) =
            settle(self, environment, &revision, &route, &served, &mut report).await?
        {
            return Err(ReleaseError::RouteNotPropagated {
                change: route,
                shortfall,
            });
        }
        let message = format!(
            "canary {} on {color} receives {}% of untagged requests and {} tenant(s); {live} serves the rest",
            canary.version,
            canary.weight,
            canary.tenants.len()
        );
        // Once, now that the ramp is over: steps that saw too little traffic.
        let message = match unjudged.filter(|u| !u.steps.is_empty()) {
            Some(u) => {
                u.report(&environment.name, canary.weight);
                format!("{message}; {}", u.note())
            }
            None => message,
        };
        report.finish(Outcome::Routed, message);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{ColorState, RoutingTable};
    use std::collections::BTreeMap;

    fn state(blue: &str, green: &str, live: Color) -> EnvironmentState {
        let c = |v: &str| ColorState {
            version: Some(v.into()),
            phase: ColorPhase::Running,
            address: None,
            instance_id: None,
            restarts: 0,
            last_exit: None,
            log_tail: vec![],
            outdated: false,
            connections: None,
        };
        EnvironmentState {
            endpoint: String::new(),
            routing: RoutingTable {
                revision: RoutingRevision::new("1"),
                primary: Some(live),
                canary: None,
                tenant_header: "X-Tenant-ID".into(),
                updated_by: None,
            },
            colors: BTreeMap::from([(Color::Blue, c(blue)), (Color::Green, c(green))]),
            spec: None,
            front_door_down: None,
        }
    }

    #[test]
    fn places_the_canary_by_version() {
        let s = state("1.2.0", "1.3.0", Color::Blue);
        assert_eq!(place(&s, "api", "1.3.0"), Ok(Placement::On(Color::Green)));
        assert_eq!(place(&s, "api", "1.2.0"), Ok(Placement::Satisfied));
        assert!(place(&s, "api", "9.9.9")
            .unwrap_err()
            .contains("candidate_version = \"9.9.9\""));
    }
}
