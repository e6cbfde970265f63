//! Resource `bluegreen_environment`: one application behind one front door,
//! with two colours, released by changing `version`.

pub mod azure_block;
pub mod model;
pub mod schema;
pub mod state;

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{decode, Field, IntoValue};
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::Schema;
use tfplugin::timeouts::{format_duration, timeout_for};
use tfplugin::{AttributePath, Value};

use crate::notify::{sink, EventKind, ReleaseContext, Sink};
use crate::platform::lease::HeldLock;
use crate::platform::{EnvironmentRef, Lease, Platform, PlatformError, TargetRef, TargetSpec};
use crate::resources::common::{listen_diagnostic, locate, lock_owner, release_diagnostic};
use crate::resources::stop::StopSignal;
use crate::rollout::propagation::deadline_within;
use crate::rollout::{Engine, Outcome, ReleaseError, ReleaseReport};
use crate::shared::{azure_block_missing, Shared};
use model::{EnvironmentConfig, EnvironmentModel, LocalModel};

/// The resource type.
pub struct EnvironmentResource {
    shared: Arc<Shared>,
}

impl EnvironmentResource {
    /// A resource bound to the provider's shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// Whether an argument whose change needs the platform to act (a release, a
/// pin, a redefinition) differs between `a` and `b`.
fn release_needed(a: &EnvironmentModel, b: &EnvironmentModel) -> bool {
    a.version != b.version
        || a.candidate_version != b.candidate_version
        || a.live_color != b.live_color
        || a.local != b.local
        || a.azure != b.azure
        || a.keep_previous != b.keep_previous
}

/// Leaves the computed attributes a release may change to the apply.
fn defer_release_outputs(planned: &mut EnvironmentModel) {
    planned.idle_color = Field::Unknown;
    planned.previous_version = Field::Unknown;
    planned.colors = Field::Unknown;
    planned.last_deployment = Field::Unknown;
}

/// `local.listen`, null when there is no `local` block.
fn listen_of(local: &Field<LocalModel>) -> Field<String> {
    local.known().map_or(Field::Null, |l| l.listen.clone())
}

/// The alert a converge's end gives: succeeded when a version went live,
/// rolled_back or failed with the diagnostic's reason; none when nothing moved
/// (nor for a candidate made ready: a release before it in the same converge
/// sent its `succeeded` before the candidate began, see `converge`).
fn outcome_event(
    outcome: &Result<Result<Option<ReleaseReport>, ReleaseError>, tokio::time::error::Elapsed>,
    op: &str,
    timeout: std::time::Duration,
) -> Option<(EventKind, String)> {
    match outcome {
        Ok(Ok(Some(r))) if matches!(r.outcome, Outcome::Released | Outcome::Switched) => {
            Some((EventKind::Succeeded, r.message.clone()))
        }
        Ok(Ok(_)) => None,
        Ok(Err(e)) if e.outcome() == Outcome::RolledBack => {
            Some((EventKind::RolledBack, e.to_string()))
        }
        Ok(Err(e)) => Some((EventKind::Failed, e.to_string())),
        Err(_) => Some((
            EventKind::Failed,
            format!("the {op} timed out after {}", format_duration(timeout)),
        )),
    }
}

/// A definition the platform refused, with the front door's own title when it could not listen.
fn define_diagnostic(name: &str, err: &PlatformError) -> Diagnostic {
    match err {
        PlatformError::Listen { address, reason } => listen_diagnostic(address, reason),
        other => platform_diagnostic(&format!("Defining environment {name:?} failed"), other),
    }
}

fn platform_diagnostic(summary: &str, err: &PlatformError) -> Diagnostic {
    Diagnostic::error(summary, err.to_string())
}

impl EnvironmentResource {
    /// The environment's platform and handle from the blocks state holds:
    /// an `azure` block names its resources; otherwise the local platform
    /// finds the environment by name.
    async fn held_environment(
        &self,
        held: &EnvironmentModel,
    ) -> Result<(Arc<dyn Platform>, EnvironmentRef), Diagnostic> {
        let name = held.name.as_deref().unwrap_or_default().to_string();
        if let Some(target) = azure_block::target_of(&held.azure) {
            let target = TargetRef::Azure(target);
            let platform = self.shared.platform_for(&target).await?;
            return Ok((platform, EnvironmentRef { name, target }));
        }
        let platform = self.shared.platform_for(&TargetRef::Local).await?;
        let environment = locate(platform.as_ref(), &name).await?;
        Ok((platform, environment))
    }

    /// Runs the release steps the configuration asks for; returns the last report.
    async fn converge(
        &self,
        engine: &Engine<'_>,
        cfg: &EnvironmentConfig,
        redefine: bool,
    ) -> Result<Option<ReleaseReport>, ReleaseError> {
        let name = &cfg.release.environment;
        // Compared with what the platform holds, not with prior state: a failed
        // apply may have defined a command that state never recorded.
        let held = engine.platform.status(name).await?.and_then(|s| s.spec);
        let definition_changed = held.as_ref().is_some_and(|h| !h.same_program(&cfg.target));
        // The daemon shows each colour's own checks from the health check's path: a
        // new path (or a daemon that never had one) is sent, restarting nothing.
        let health_path_changed = matches!(
            (&held, &cfg.target),
            (
                Some(TargetSpec::Local { health_path: held, .. }),
                TargetSpec::Local { health_path: wanted, .. },
            ) if held != wanted
        );
        if redefine || definition_changed || health_path_changed {
            engine
                .platform
                .define(name, &cfg.target, engine.lease)
                .await?;
        }
        let release = crate::rollout::ReleaseSpec {
            definition_changed,
            ..cfg.release.clone()
        };
        let cfg = &EnvironmentConfig {
            release,
            ..cfg.clone()
        };
        let status = engine.platform.status(name).await?;
        let live = status.as_ref().and_then(|s| s.live_color());
        let mut last = match cfg.live_color {
            Some(pin) if live.is_some() => {
                let runs = status.as_ref().and_then(|s| s.color(pin).version);
                if runs.as_deref() == Some(cfg.release.version.as_str()) {
                    Some(engine.pin(name, pin, &cfg.release.health).await?)
                } else if Some(pin) != live {
                    // Pinned to the idle colour: the release lands there anyway.
                    Some(engine.release(&cfg.release).await?)
                } else {
                    return Err(ReleaseError::Platform(PlatformError::Api(format!(
                        "live_color = \"{pin}\" pins traffic to {pin}, which runs {}, but version = {:?}. Set version to the version {pin} runs, or remove live_color",
                        runs.unwrap_or_else(|| "nothing".into()),
                        cfg.release.version
                    ))));
                }
            }
            _ => Some(engine.release(&cfg.release).await?),
        };
        if let Some(candidate) = cfg
            .candidate_version
            .as_ref()
            .filter(|c| **c != cfg.release.version)
        {
            // The release's `succeeded` goes out before the candidate's events,
            // which name the candidate (its failure is not the release's).
            if let Some(r) = last
                .as_ref()
                .filter(|r| matches!(r.outcome, Outcome::Released | Outcome::Switched))
            {
                sink::succeeded(&r.message);
            }
            let spec = crate::rollout::ReleaseSpec {
                version: candidate.clone(),
                ..cfg.release.clone()
            };
            last = Some(engine.prepare_candidate(&spec).await?);
        }
        Ok(last)
    }

    /// Create and update share this: lock, converge within the timeout, unlock,
    /// and report the truth in state whatever happened.
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest<'_>, creating: bool) -> StateResponse {
        let models = (
            decode::<EnvironmentModel>(req.config),
            decode::<EnvironmentModel>(req.planned),
            decode::<Field<EnvironmentModel>>(req.prior),
        );
        let (config, planned, prior) = match models {
            (Ok(c), Ok(p), Ok(pr)) => (c, p, pr),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return StateResponse::with_diagnostics(req.prior.clone(), d.into())
            }
        };
        let mut diags = Diagnostics::new();
        let cfg = model::read(&config, &mut diags);
        if diags.has_errors() {
            return StateResponse::with_diagnostics(req.prior.clone(), diags);
        }
        let op = if creating { "create" } else { "update" };
        let timeout = match timeout_for(req.config, op, schema::DEFAULT_APPLY_TIMEOUT) {
            Ok(t) => t,
            Err(d) => return StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        };
        let platform = match self
            .shared
            .platform_for(&cfg.release.environment.target)
            .await
        {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        };
        let name = cfg.release.environment.clone();
        let owner = lock_owner();
        if creating {
            // An environment must exist before it can be locked; defining is idempotent.
            if let Err(e) = platform
                .define(
                    &name,
                    &cfg.target,
                    &Lease {
                        owner: owner.clone(),
                    },
                )
                .await
            {
                return StateResponse::with_diagnostics(
                    Value::Null,
                    define_diagnostic(&name.name, &e).into(),
                );
            }
        }
        let lock = match HeldLock::acquire(&platform, &name, &owner).await {
            Ok(l) => l,
            Err(e) => {
                let d = release_diagnostic(&cfg.release.version, &ReleaseError::Platform(e));
                return StateResponse::with_diagnostics(req.prior.clone(), d.into());
            }
        };
        let redefine = !creating
            && prior.known().map(|p| (&p.local, &p.azure))
                != Some((&planned.local, &planned.azure));
        let prior_live = match platform.status(&name).await {
            Ok(s) => s.and_then(|s| s.live_version()),
            Err(_) => None,
        };
        let stop = StopSignal::watch(ctx);
        let engine = Engine {
            platform: platform.as_ref(),
            http: self.shared.http(),
            stop: stop.token(),
            lease: lock.lease(),
            deadline: deadline_within(timeout),
        };
        let alerts = Sink::new(
            self.shared.notifier(),
            ReleaseContext {
                environment: name.name.clone(),
                from_version: prior_live.clone(),
                to_version: cfg.release.version.clone(),
                ..ReleaseContext::default()
            },
        );
        let outcome = tokio::time::timeout(
            timeout,
            sink::scope(alerts.clone(), self.converge(&engine, &cfg, redefine)),
        )
        .await;
        if let Err(e) = lock.release(platform.as_ref()).await {
            tracing::warn!(environment = %name, error = %e, "releasing the environment lock failed; it lapses by itself");
        }
        let truth = platform.status(&name).await;
        // After the lock: a slow receiver holds up the apply, not the environment.
        let warnings = alerts
            .finish(
                outcome_event(&outcome, op, timeout)
                    .as_ref()
                    .map(|(k, r)| (*k, r.as_str())),
            )
            .await;
        // The version the converge was working on when it stopped: a failed
        // `candidate_version` is named, not the resource's live `version`.
        let failed_version = alerts.context().to_version;
        let mut response = match outcome {
            Ok(Ok(report)) => 'released: {
                let mut state = planned;
                let Ok(Some(truth)) = truth else {
                    break 'released StateResponse::with_diagnostics(
                        req.prior.clone(),
                        platform_diagnostic(
                            "Reading the environment after the release failed",
                            &truth.err().unwrap_or(PlatformError::Api(
                                "the environment disappeared".into(),
                            )),
                        )
                        .into(),
                    );
                };
                state::apply_truth(&mut state, &truth, false);
                let previous = match &report {
                    Some(r) if matches!(r.outcome, Outcome::Released | Outcome::Switched) => {
                        Field::from_option(prior_live.clone())
                    }
                    _ => prior
                        .known()
                        .map_or(Field::Null, |p| p.previous_version.clone()),
                };
                state.previous_version = state::rollback_target(&previous, &truth);
                state.last_deployment = match &report {
                    Some(r) => Field::Known(state::deployment_value(r, None)),
                    None => prior
                        .known()
                        .map_or(Field::Null, |p| p.last_deployment.clone()),
                };
                StateResponse::ok(state.into_value())
            }
            Ok(Err(err)) => self.failed_state(
                prior.known(),
                &planned,
                creating,
                &cfg,
                &failed_version,
                &err,
                truth.ok().flatten(),
            ),
            Err(_) => {
                let err = ReleaseError::Platform(PlatformError::Api(format!(
                    "the {op} timed out after {}; raise timeouts {{ {op} = \"...\" }} if releases legitimately take longer",
                    format_duration(timeout)
                )));
                self.failed_state(
                    prior.known(),
                    &planned,
                    creating,
                    &cfg,
                    &failed_version,
                    &err,
                    truth.ok().flatten(),
                )
            }
        };
        response.diagnostics.0.extend(warnings);
        response
    }

    /// After a failure: the prior state with the truth reported, so state
    /// keeps what is really live and the next plan proposes the release again.
    /// `version`: the one that failed (`version` or `candidate_version`).
    #[allow(clippy::too_many_arguments)]
    fn failed_state(
        &self,
        prior: Option<&EnvironmentModel>,
        planned: &EnvironmentModel,
        creating: bool,
        cfg: &EnvironmentConfig,
        version: &str,
        err: &ReleaseError,
        truth: Option<crate::platform::EnvironmentState>,
    ) -> StateResponse {
        let diag = release_diagnostic(version, err);
        let Some(prior) = prior.filter(|_| !creating) else {
            // Nothing was live before: keep nothing in state, the next apply creates again.
            return StateResponse::with_diagnostics(Value::Null, diag.into());
        };
        let mut state = prior.clone();
        // The user's non-release settings (gates, timeouts) are not what failed.
        state.health_check = planned.health_check.clone();
        state.websocket_check = planned.websocket_check.clone();
        state.smoke_test = planned.smoke_test.clone();
        state.post_switch = planned.post_switch.clone();
        state.timeouts = planned.timeouts.clone();
        if let Some(truth) = truth {
            state::apply_truth(&mut state, &truth, true);
            state::forget_lost_rollback_target(&mut state, &truth);
        }
        let mut report = ReleaseReport::start(&cfg.release.environment, version);
        report.finish(err.outcome(), err.to_string());
        state.last_deployment = Field::Known(state::deployment_value(&report, None));
        StateResponse::with_diagnostics(state.into_value(), diag.into())
    }
}

#[async_trait]
impl Resource for EnvironmentResource {
    fn type_name(&self) -> &str {
        "bluegreen_environment"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> Diagnostics {
        model::validate(config)
    }

    async fn plan(
        &self,
        _ctx: &Ctx,
        req: PlanRequest<'_>,
        mut planned: PlanResponse,
    ) -> PlanResponse {
        let models = (
            decode::<EnvironmentModel>(req.config),
            decode::<Field<EnvironmentModel>>(&planned.planned),
            decode::<Field<EnvironmentModel>>(req.prior),
        );
        let (config, mut p, prior) = match models {
            (Ok(c), Ok(Field::Known(p)), Ok(pr)) => (c, p, pr),
            // Nothing planned (a destroy): nothing to record or fill in.
            (Ok(_), Ok(_), Ok(_)) => return planned,
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                planned.diagnostics.push(d);
                return planned;
            }
        };
        if !config.azure.is_null() && self.shared.config().is_ok_and(|c| c.azure.is_none()) {
            planned
                .diagnostics
                .push(azure_block_missing().at(AttributePath::attr("azure")));
            return planned;
        }
        // A split planned in this run checks its canary against this.
        if let Some(name) = p.name.as_deref() {
            self.shared
                .planned
                .record(name, &[&p.version, &p.candidate_version]);
        }
        let Some(prior) = prior.known() else {
            return planned;
        };
        if release_needed(prior, &p) {
            defer_release_outputs(&mut p);
            if config.live_color.is_null() {
                p.live_color = Field::Unknown;
            }
            if listen_of(&prior.local) != listen_of(&p.local) {
                p.endpoint = Field::Unknown;
            }
            planned.planned = p.into_value();
        }
        planned
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, true).await
    }

    async fn read(&self, _ctx: &Ctx, prior: &Value, private: &[u8]) -> StateResponse {
        let held = match decode::<EnvironmentModel>(prior) {
            Ok(m) => m,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        let name = held.name.as_deref().unwrap_or_default().to_string();
        let (platform, environment) = match self.held_environment(&held).await {
            Ok(found) => found,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        match platform.status(&environment).await {
            Ok(None) => StateResponse::ok(Value::Null),
            Ok(Some(truth)) => {
                let mut state = held.clone();
                state::apply_truth(&mut state, &truth, true);
                state::forget_lost_rollback_target(&mut state, &truth);
                if let Some(local) = truth
                    .spec
                    .as_ref()
                    .and_then(|spec| state::local_block_value(spec, &held.local))
                {
                    state.local = Field::Known(local);
                }
                if let Some(azure) = truth
                    .spec
                    .as_ref()
                    .and_then(|spec| azure_block::block_value(spec, &held.azure))
                {
                    state.azure = Field::Known(azure);
                }
                let mut diags = Diagnostics::new();
                if let Some(why) = &truth.front_door_down {
                    // Not listening on anything: the plan then proposes `listen` again,
                    // and the apply binds it.
                    let address = listen_of(&state.local).into_known().unwrap_or_default();
                    if let Some(local) = state.local.known_mut() {
                        local.listen = Field::Null;
                    }
                    diags.push(
                        Diagnostic::warning(
                            format!("Front door of environment {name:?} is down"),
                            format!("It does not listen on {address}: {why}. Nothing reaches the application; terraform apply binds the address again once it is free."),
                        )
                        .at(AttributePath::attr("local").then_attr("listen")),
                    );
                }
                let mut out = StateResponse::with_diagnostics(state.into_value(), diags);
                out.private = private.to_vec();
                out
            }
            Err(e) => StateResponse::with_diagnostics(
                prior.clone(),
                platform_diagnostic(&format!("Reading environment {name:?} failed"), &e).into(),
            ),
        }
    }

    async fn update(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let models = (
            decode::<EnvironmentModel>(req.prior),
            decode::<EnvironmentModel>(req.planned),
        );
        let (prior, planned) = match models {
            (Ok(pr), Ok(p)) => (pr, p),
            (Err(d), _) | (_, Err(d)) => {
                return StateResponse::with_diagnostics(req.prior.clone(), d.into())
            }
        };
        if !release_needed(&prior, &planned) {
            // Only gates, watch settings or timeouts changed: nothing to do on the platform.
            return StateResponse::ok(req.planned.clone());
        }
        self.apply(ctx, req, false).await
    }

    async fn delete(&self, _ctx: &Ctx, prior: &Value, _private: &[u8]) -> Diagnostics {
        let held = match decode::<EnvironmentModel>(prior) {
            Ok(m) => m,
            Err(d) => return d.into(),
        };
        let name = held.name.as_deref().unwrap_or_default().to_string();
        let (platform, environment) = match self.held_environment(&held).await {
            Ok(found) => found,
            Err(d) => return d.into(),
        };
        let lock = match HeldLock::acquire(&platform, &environment, &lock_owner()).await {
            Ok(l) => l,
            Err(e) => {
                return release_diagnostic(
                    held.version.as_deref().unwrap_or_default(),
                    &ReleaseError::Platform(e),
                )
                .into()
            }
        };
        let result = platform.delete(&environment, lock.lease()).await;
        // The environment (and its lock) are gone on success; a failed unlock is harmless.
        let _ = lock.release(platform.as_ref()).await;
        match result {
            Ok(()) => Diagnostics::new(),
            Err(e) => {
                platform_diagnostic(&format!("Deleting environment {name:?} failed"), &e).into()
            }
        }
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> StateResponse {
        let found = if let Some(app) = azure_block::is_container_app_id(id) {
            self.locate_azure(&app).await
        } else if model::valid_name(id) {
            self.locate_local(id).await
        } else {
            return StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error("Invalid import id", format!("{id:?} is neither an environment name nor a Container App id. Import a local environment by its name (terraform import bluegreen_environment.NAME <environment name>), an Azure one by its Container App id (terraform import bluegreen_environment.NAME /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.App/containerApps/<app>).")).into(),
            );
        };
        let (platform, environment) = match found {
            Ok(found) => found,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        match platform.status(&environment).await {
            Ok(Some(truth)) => {
                // Read fills in the rest from the platform; the azure block
                // is needed now, since it is how read finds the environment.
                let azure = truth
                    .spec
                    .as_ref()
                    .and_then(|spec| azure_block::block_value(spec, &Field::Null));
                let state = EnvironmentModel {
                    id: Field::Known(environment.name.clone()),
                    name: Field::Known(environment.name.clone()),
                    keep_previous: Field::Known(true),
                    azure: Field::from_option(azure),
                    ..EnvironmentModel::default()
                };
                StateResponse::ok(state.into_value())
            }
            Ok(None) => StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error("Environment not found", format!("There is no environment {id:?} on the platform. Check the name with `bluegreen-local status`, or for Azure the Container App id (the provider finds an environment by the tags its first release wrote on the app).")).into(),
            ),
            Err(e) => StateResponse::with_diagnostics(Value::Null, platform_diagnostic("Import failed", &e).into()),
        }
    }
}

impl EnvironmentResource {
    /// An import by name: a local environment.
    async fn locate_local(
        &self,
        name: &str,
    ) -> Result<(Arc<dyn Platform>, EnvironmentRef), Diagnostic> {
        let platform = self.shared.platform_for(&TargetRef::Local).await?;
        let environment = locate(platform.as_ref(), name).await?;
        Ok((platform, environment))
    }

    /// An import by Container App id: the environment the app's tags describe.
    async fn locate_azure(
        &self,
        app: &crate::platform::azure::resource_id::ResourceId,
    ) -> Result<(Arc<dyn Platform>, EnvironmentRef), Diagnostic> {
        let azure = self.shared.azure().await?;
        let environment = azure.locate_by_app_id(app).await.map_err(|e| {
            Diagnostic::error(
                format!("Cannot find a bluegreen environment on the Container App {app}"),
                e.to_string(),
            )
        })?;
        Ok((azure as Arc<dyn Platform>, environment))
    }
}

#[cfg(test)]
mod alert_tests {
    use super::*;
    use crate::platform::EnvironmentRef;

    fn report(outcome: Outcome, message: &str) -> ReleaseReport {
        let mut r = ReleaseReport::start(&EnvironmentRef::local("shop"), "1.3.0");
        r.finish(outcome, message);
        r
    }

    #[tokio::test]
    async fn a_converge_ends_in_the_alert_it_deserves() {
        let t = std::time::Duration::from_secs(60);
        let kind = |outcome| outcome_event(&outcome, "update", t).map(|(k, _)| k);
        assert_eq!(
            kind(Ok(Ok(Some(report(Outcome::Released, "live"))))),
            Some(EventKind::Succeeded)
        );
        assert_eq!(
            kind(Ok(Ok(Some(report(Outcome::Switched, "pin"))))),
            Some(EventKind::Succeeded)
        );
        assert_eq!(kind(Ok(Ok(Some(report(Outcome::NoChange, "same"))))), None);
        // A candidate made ready: a release before it sent its own succeeded
        // before the candidate began (converge), this one is not a release.
        assert_eq!(
            kind(Ok(Ok(Some(report(Outcome::CandidateReady, "candidate"))))),
            None
        );
        let rolled = ReleaseError::RolledBack {
            detail: "error rate 5.00%".into(),
            restored_color: "blue".into(),
            restored_version: "1.2.0".into(),
        };
        assert_eq!(kind(Ok(Err(rolled))), Some(EventKind::RolledBack));
        assert_eq!(
            kind(Ok(Err(ReleaseError::Stopped("the switch".into())))),
            Some(EventKind::Failed)
        );
        let elapsed = tokio::time::timeout(std::time::Duration::ZERO, std::future::pending::<()>())
            .await
            .unwrap_err();
        let (k, reason) = outcome_event(&Err(elapsed), "update", t).unwrap();
        assert_eq!(k, EventKind::Failed);
        assert_eq!(reason, "the update timed out after 1m");
    }
}
