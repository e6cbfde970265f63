//! Resource `bluegreen_traffic_split`: weighted canary and tenant routing by
//! version, with gated progressive ramps.

pub mod model;
pub mod schema;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{decode, Field, IntoValue};
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::Schema;
use tfplugin::timeouts::timeout_for;
use tfplugin::{AttributePath, Number, Value};

use crate::notify::{sink, EventKind, ReleaseContext, Sink};
use crate::platform::lease::HeldLock;
use crate::platform::{Platform, RouteChange, RouteReason};
use crate::resources::common::{locate, lock_owner, release_diagnostic, status_by_name};
use crate::resources::planned_versions::PlannedRun;
use crate::resources::stop::StopSignal;
use crate::rollout::canary::{place, Placement};
use crate::rollout::propagation::deadline_within;
use crate::rollout::{Engine, ReleaseError};
use crate::shared::Shared;

use model::{read_config, CanaryModel, SplitModel};
use state::truth_state;

/// Default timeout of each operation: a cloud front door may take 20 minutes
/// and more to serve a routing change everywhere (DESIGN §3), and the apply
/// waits for it, at each progressive step and at the final route.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The resource type.
pub struct TrafficSplitResource {
    shared: Arc<Shared>,
}

impl TrafficSplitResource {
    /// A resource bound to the provider's shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl TrafficSplitResource {
    async fn platform(&self) -> Result<Arc<dyn Platform>, Diagnostic> {
        self.shared.platform().await
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest<'_>, op: &str) -> StateResponse {
        let models = (
            decode::<SplitModel>(req.config),
            decode::<SplitModel>(req.planned),
            decode::<Field<SplitModel>>(req.prior),
        );
        let (config, planned, prior) = match models {
            (Ok(c), Ok(p), Ok(pr)) => (c, p, pr),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return StateResponse::with_diagnostics(req.prior.clone(), d.into())
            }
        };
        let mut diags = Diagnostics::new();
        let cfg = read_config(&config, &mut diags);
        if diags.has_errors() {
            return StateResponse::with_diagnostics(req.prior.clone(), diags);
        }
        let timeout = match timeout_for(req.config, op, DEFAULT_TIMEOUT) {
            Ok(t) => t,
            Err(d) => return StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        };
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        };
        let environment = match locate(platform.as_ref(), &cfg.environment).await {
            Ok(e) => e,
            Err(d) => return StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        };
        let lock = match HeldLock::acquire(&platform, &environment, &lock_owner()).await {
            Ok(l) => l,
            Err(e) => {
                return StateResponse::with_diagnostics(
                    req.prior.clone(),
                    release_diagnostic(&cfg.canary.version, &ReleaseError::Platform(e)).into(),
                )
            }
        };
        let stop = StopSignal::watch(ctx);
        let engine = Engine {
            platform: platform.as_ref(),
            http: self.shared.http(),
            stop: stop.token(),
            lease: lock.lease(),
            deadline: deadline_within(timeout),
        };
        // The ramp's own warnings (steps too quiet to judge) go to this sink.
        let ramp_alerts = Sink::new(
            self.shared.notifier(),
            ReleaseContext {
                environment: environment.name.clone(),
                to_version: cfg.canary.version.clone(),
                ..ReleaseContext::default()
            },
        );
        let result = sink::scope(
            ramp_alerts.clone(),
            tokio::time::timeout(
                timeout,
                engine.canary(&environment, &cfg.canary, cfg.progressive.as_ref()),
            ),
        )
        .await;
        let _ = lock.release(platform.as_ref()).await;
        let truth = platform.status(&environment).await.ok().flatten();
        let warnings = self
            .alert(
                &ramp_alerts,
                &environment.name,
                &cfg.canary.version,
                &result,
                truth.as_ref(),
                op,
            )
            .await;
        let mut response = match (result, truth) {
            // The report logged its steps as they happened.
            (Ok(Ok(_report)), Some(truth)) => {
                StateResponse::ok(truth_state(&planned, &truth, false).into_value())
            }
            (Ok(Ok(_)), None) => StateResponse::with_diagnostics(
                req.prior.clone(),
                Diagnostic::error("Environment disappeared", format!("{:?} no longer exists on the platform.", cfg.environment)).into(),
            ),
            (Ok(Err(err)), truth) => {
                let state = match (prior.known(), truth) {
                    (Some(prior), Some(t)) => truth_state(prior, &t, true).into_value(),
                    _ => req.prior.clone(),
                };
                let mut d = release_diagnostic(&cfg.canary.version, &err);
                d.path = Some(AttributePath::attr("canary"));
                StateResponse::with_diagnostics(state, d.into())
            }
            (Err(_), _) => StateResponse::with_diagnostics(
                req.prior.clone(),
                Diagnostic::error("Traffic split timed out", format!("The {op} took longer than its timeout; raise timeouts {{ {op} = \"...\" }}.")).into(),
            ),
        };
        response.diagnostics.0.extend(warnings);
        response
    }

    /// A canary that was rolled back or failed is an alert (critical) to the
    /// provider's `notification` blocks; one that went as planned is not a
    /// release and says nothing, unless its ramp had steps too quiet to judge
    /// (a warning, sent through `ramp`). Returns the warnings for the apply:
    /// those steps, and alerts not delivered.
    async fn alert<T>(
        &self,
        ramp: &Sink,
        environment: &str,
        version: &str,
        result: &Result<Result<T, ReleaseError>, tokio::time::error::Elapsed>,
        truth: Option<&crate::platform::EnvironmentState>,
        op: &str,
    ) -> Vec<Diagnostic> {
        let outcome = match result {
            Ok(Ok(_)) => return ramp.finish(None).await,
            Ok(Err(e)) if e.outcome() == crate::rollout::Outcome::RolledBack => {
                (EventKind::RolledBack, e.to_string())
            }
            Ok(Err(e)) => (EventKind::Failed, e.to_string()),
            Err(_) => (
                EventKind::Failed,
                format!("the traffic split's {op} timed out"),
            ),
        };
        // What serves now is what the canary went back to.
        let live = truth.and_then(|t| t.live_color());
        let context = ReleaseContext {
            environment: environment.to_string(),
            from_version: truth.and_then(|t| t.live_version()),
            to_version: version.to_string(),
            from_color: live.map(|c| c.to_string()),
            to_color: live.map(|c| c.other().to_string()),
            figures: None,
        };
        Sink::new(self.shared.notifier(), context)
            .finish(Some((outcome.0, outcome.1.as_str())))
            .await
    }
}

/// Leaves where the canary lands to the apply: known once the environment's
/// apply has deployed it.
fn defer_placement(planned: &mut SplitModel) {
    planned.canary_color = Field::Unknown;
    planned.satisfied = Field::Unknown;
}

#[async_trait]
impl Resource for TrafficSplitResource {
    fn type_name(&self) -> &str {
        "bluegreen_traffic_split"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        match decode::<SplitModel>(config) {
            Ok(config) => {
                let _ = read_config(&config, &mut diags);
            }
            Err(d) => diags.push(d),
        }
        diags
    }

    async fn plan(
        &self,
        _ctx: &Ctx,
        req: PlanRequest<'_>,
        mut planned: PlanResponse,
    ) -> PlanResponse {
        let models = (
            decode::<SplitModel>(req.config),
            decode::<Field<SplitModel>>(&planned.planned),
        );
        let (config, mut model) = match models {
            (Ok(c), Ok(Field::Known(p))) => (c, p),
            // Nothing planned (a destroy): nothing to fill in.
            (Ok(_), Ok(_)) => return planned,
            (Err(d), _) | (_, Err(d)) => {
                planned.diagnostics.push(d);
                return planned;
            }
        };
        let version = config.canary.known().and_then(|c| c.version.as_deref());
        // The canary must run somewhere by the time the split is applied: say
        // so at plan time, with the fix, unless this run deploys it.
        if let (Some(env), Some(version)) = (config.environment.as_deref(), version) {
            if let Ok(platform) = self.platform().await {
                let planned_run = self.shared.planned.runs(env, version);
                match status_by_name(platform.as_ref(), env).await {
                    Ok(Some(state)) => match place(&state, env, version) {
                        Ok(Placement::Satisfied) => {
                            model.satisfied = Field::Known(true);
                            model.canary_color = Field::Null;
                        }
                        Ok(Placement::On(color)) => {
                            model.satisfied = Field::Known(false);
                            model.canary_color = Field::Known(color.as_str().to_string());
                        }
                        // The environment's apply, which Terraform runs first, deploys it.
                        Err(_) if planned_run == PlannedRun::Deploys => defer_placement(&mut model),
                        Err(e) => planned.diagnostics.error_at(AttributePath::attr("canary").then_attr("version"), "Canary version is not deployed", e),
                    },
                    Ok(None) => match planned_run {
                        // Created in this run: Terraform applies it before the split.
                        PlannedRun::Deploys => defer_placement(&mut model),
                        PlannedRun::DoesNotDeploy => planned.diagnostics.error_at(
                            AttributePath::attr("canary").then_attr("version"),
                            "Canary version is not deployed",
                            format!("environment {env:?} is created in this run, but neither its version nor its candidate_version is {version}. Set candidate_version = \"{version}\" on the bluegreen_environment."),
                        ),
                        PlannedRun::NotPlanned => planned.diagnostics.error_at(
                            AttributePath::attr("environment"),
                            "Environment not found",
                            format!("There is no environment {env:?} yet, and this configuration does not create one: declare the bluegreen_environment and set environment to its name attribute (bluegreen_environment.NAME.name) so Terraform creates it first."),
                        ),
                    },
                    Err(e) => planned.diagnostics.warning_at(AttributePath::attr("environment"), "Could not check the canary placement", e.to_string()),
                }
            }
        } else if !req.prior.is_null() {
            defer_placement(&mut model);
        }
        planned.planned = model.into_value();
        planned
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, "create").await
    }

    async fn read(&self, _ctx: &Ctx, prior: &Value, _private: &[u8]) -> StateResponse {
        let split = match decode::<SplitModel>(prior) {
            Ok(s) => s,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        let env = split.environment.as_deref().unwrap_or_default();
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        match status_by_name(platform.as_ref(), env).await {
            Ok(Some(state)) => StateResponse::ok(truth_state(&split, &state, true).into_value()),
            // The environment is gone, and so is its routing.
            Ok(None) => StateResponse::ok(Value::Null),
            Err(e) => StateResponse::with_diagnostics(
                prior.clone(),
                Diagnostic::error("Reading the traffic split failed", e.to_string()).into(),
            ),
        }
    }

    async fn update(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, "update").await
    }

    async fn delete(&self, _ctx: &Ctx, prior: &Value, _private: &[u8]) -> Diagnostics {
        let split = match decode::<SplitModel>(prior) {
            Ok(s) => s,
            Err(d) => return d.into(),
        };
        let env = split.environment.into_known().unwrap_or_default();
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return d.into(),
        };
        let environment = match locate(platform.as_ref(), &env).await {
            Ok(e) => e,
            Err(d) => return d.into(),
        };
        let state = match platform.status(&environment).await {
            Ok(Some(s)) => s,
            Ok(None) => return Diagnostics::new(),
            Err(e) => {
                return Diagnostic::error("Reading the environment failed", e.to_string()).into()
            }
        };
        let Some(live) = state.live_color() else {
            return Diagnostics::new();
        };
        if state.routing.canary.is_none() {
            return Diagnostics::new();
        }
        let lock = match HeldLock::acquire(&platform, &environment, &lock_owner()).await {
            Ok(l) => l,
            Err(e) => return release_diagnostic("the split", &ReleaseError::Platform(e)).into(),
        };
        let result = platform
            .route(
                &environment,
                RouteChange::all_to(live, state.routing.revision, RouteReason::Route),
                lock.lease(),
            )
            .await;
        let _ = lock.release(platform.as_ref()).await;
        match result {
            Ok(_) => Diagnostics::new(),
            Err(e) => Diagnostic::error(
                "Returning all traffic to the live colour failed",
                e.to_string(),
            )
            .into(),
        }
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> StateResponse {
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        let state = match status_by_name(platform.as_ref(), id).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return StateResponse::with_diagnostics(
                    Value::Null,
                    Diagnostic::error(
                        "Environment not found",
                        format!("There is no environment named {id:?}."),
                    )
                    .into(),
                )
            }
            Err(e) => {
                return StateResponse::with_diagnostics(
                    Value::Null,
                    Diagnostic::error("Import failed", e.to_string()).into(),
                )
            }
        };
        let Some(canary) = state.routing.canary.clone() else {
            return StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error("No canary to import", format!("Environment {id:?} routes no canary traffic; declare the split and apply instead.")).into(),
            );
        };
        let version = state.color(canary.color).version.unwrap_or_default();
        let base = SplitModel {
            id: Field::Known(id.to_string()),
            environment: Field::Known(id.to_string()),
            tenant_header: Field::Known(state.routing.tenant_header.clone()),
            canary: Field::Known(CanaryModel {
                version: Field::Known(version),
                weight: Field::Known(Number::Int(0)),
                tenants: Field::Null,
            }),
            ..SplitModel::default()
        };
        StateResponse::ok(truth_state(&base, &state, true).into_value())
    }
}
