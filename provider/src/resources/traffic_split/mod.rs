//! Resource `bluegreen_traffic_split`: weighted canary and tenant routing by
//! version, with gated progressive ramps.

pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::plan::mark_unknown;
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::Schema;
use tfplugin::timeouts::{parse_duration, timeout_for};
use tfplugin::{AttributePath, Value};

use crate::platform::lease::HeldLock;
use crate::platform::{EnvironmentState, Platform, RouteChange, RouteReason};
use crate::resources::common::{lock_owner, release_diagnostic};
use crate::resources::planned_versions::PlannedRun;
use crate::resources::stop::StopSignal;
use crate::rollout::canary::{place, CanarySpec, Placement, Progressive};
use crate::rollout::{Engine, PostSwitch, ReleaseError};
use crate::shared::Shared;

/// Default timeout of each operation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

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

/// The split as configured.
struct SplitConfig {
    environment: String,
    canary: CanarySpec,
    progressive: Option<Progressive>,
}

fn read_config(config: &Value, diags: &mut Diagnostics) -> SplitConfig {
    let canary = config.get("canary");
    let cp = AttributePath::attr("canary");
    let weight = match canary.get("weight").as_i64() {
        Some(w) if (0..=100).contains(&w) => w as u8,
        None if canary.get("weight").is_null() || canary.get("weight").is_unknown() => 0,
        _ => {
            diags.error_at(
                cp.clone().then_attr("weight"),
                "Invalid weight",
                "weight is a percentage: a whole number from 0 to 100.",
            );
            0
        }
    };
    let tenants: Vec<String> = canary
        .get("tenants")
        .as_seq()
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    // Indexed over the list as written, so a path stays right beside unknown elements.
    let written = canary.get("tenants").as_seq().unwrap_or(&[]);
    for (i, t) in written.iter().enumerate() {
        let Some(t) = t.as_str() else { continue };
        let at = cp.clone().then_attr("tenants").then_index(i as i64);
        if t.trim().is_empty() {
            diags.error_at(
                at,
                "Empty tenant id",
                "Remove the empty string from tenants.",
            );
        } else if let Some(first) = written[..i].iter().position(|o| o.as_str() == Some(t)) {
            // The daemon would route it once anyway; a repeat is a typo or a merge slip.
            diags.error_at(
                at,
                "Duplicate tenant",
                format!(
                    "{t:?} is listed twice in tenants (first at index {first}): remove the repeat."
                ),
            );
        }
    }
    let tenant_header = config
        .get("tenant_header")
        .as_str()
        .unwrap_or("X-Tenant-ID")
        .to_string();
    if config.get("tenant_header").as_str().is_some()
        && (tenant_header.is_empty()
            || !tenant_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        diags.error_at(
            AttributePath::attr("tenant_header"),
            "Invalid tenant header",
            format!("{tenant_header:?} is not an HTTP header name, e.g. \"X-Tenant-ID\"."),
        );
    }
    let prog = config.get("progressive");
    let progressive = if prog.is_null() {
        None
    } else {
        let pp = AttributePath::attr("progressive");
        let mut steps = Vec::new();
        for (i, s) in prog.get("steps").as_seq().unwrap_or(&[]).iter().enumerate() {
            match s.as_i64() {
                Some(v) if (1..=100).contains(&v) => steps.push(v as u8),
                _ if s.is_unknown() => {}
                _ => diags.error_at(
                    pp.clone().then_attr("steps").then_index(i as i64),
                    "Invalid step",
                    "Each step is a percentage from 1 to 100.",
                ),
            }
        }
        if steps.windows(2).any(|w| w[0] >= w[1]) {
            diags.error_at(
                pp.clone().then_attr("steps"),
                "Steps must ascend",
                "List the weights in increasing order, e.g. [5, 10, 25].",
            );
        }
        let interval = match prog.get("interval").as_str().map(parse_duration) {
            None => Duration::from_secs(60),
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                diags.error_at(
                    pp.clone().then_attr("interval"),
                    "Invalid duration",
                    format!("{e}. Use e.g. \"60s\"."),
                );
                Duration::from_secs(60)
            }
        };
        let d = PostSwitch::default();
        Some(Progressive {
            steps,
            interval,
            rules: PostSwitch {
                window: interval,
                max_error_rate: prog
                    .get("max_error_rate")
                    .as_f64()
                    .unwrap_or(d.max_error_rate),
                max_p95_increase: prog
                    .get("max_p95_increase")
                    .as_f64()
                    .unwrap_or(d.max_p95_increase),
                min_requests: prog
                    .get("min_requests")
                    .as_i64()
                    .map_or(d.min_requests, |n| n.max(0) as u64),
                auto_rollback: true,
            },
        })
    };
    SplitConfig {
        environment: config
            .get("environment")
            .as_str()
            .unwrap_or_default()
            .to_string(),
        canary: CanarySpec {
            version: canary
                .get("version")
                .as_str()
                .unwrap_or_default()
                .to_string(),
            weight,
            tenants,
            tenant_header,
        },
        progressive,
    }
}

/// Fills the computed attributes and reports the routing as it really is.
fn truth_state(base: &Value, state: &EnvironmentState, for_read: bool) -> Value {
    let mut out = base.clone();
    out.set("id", base.get("environment").clone());
    let version = base
        .get("canary")
        .get("version")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let environment = base
        .get("environment")
        .as_str()
        .unwrap_or_default()
        .to_string();
    match place(state, &environment, &version) {
        Ok(Placement::Satisfied) => {
            out.set("satisfied", Value::Bool(true));
            out.set("canary_color", Value::Null);
        }
        Ok(Placement::On(color)) => {
            out.set("satisfied", Value::Bool(false));
            out.set("canary_color", Value::from(color.as_str()));
            if for_read {
                // Whatever the front door really does with that colour is the truth.
                let route = state.routing.canary.as_ref().filter(|c| c.color == color);
                let mut canary = base.get("canary").clone();
                canary.set(
                    "weight",
                    Value::int(route.map_or(0, |c| i64::from(c.weight))),
                );
                let tenants: Vec<Value> = route
                    .map(|c| c.tenants.iter().map(|t| Value::from(t.as_str())).collect())
                    .unwrap_or_default();
                let prior_tenants_null = base.get("canary").get("tenants").is_null();
                canary.set(
                    "tenants",
                    if tenants.is_empty() && prior_tenants_null {
                        Value::Null
                    } else {
                        Value::List(tenants)
                    },
                );
                out.set("canary", canary);
                out.set(
                    "tenant_header",
                    Value::from(state.routing.tenant_header.as_str()),
                );
            }
        }
        Err(_) => {
            // The canary version runs nowhere any more: nothing is routed to it.
            out.set("satisfied", Value::Bool(false));
            out.set("canary_color", Value::Null);
            if for_read {
                let mut canary = base.get("canary").clone();
                canary.set("weight", Value::int(0));
                out.set("canary", canary);
            }
        }
    }
    out
}

impl TrafficSplitResource {
    async fn platform(&self) -> Result<Arc<dyn Platform>, Diagnostic> {
        self.shared.platform().await
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest<'_>, op: &str) -> StateResponse {
        let mut diags = Diagnostics::new();
        let cfg = read_config(req.config, &mut diags);
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
        let lock = match HeldLock::acquire(&platform, &cfg.environment, &lock_owner()).await {
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
        };
        let result = tokio::time::timeout(
            timeout,
            engine.canary(&cfg.environment, &cfg.canary, cfg.progressive.as_ref()),
        )
        .await;
        let _ = lock.release(platform.as_ref()).await;
        let truth = platform.status(&cfg.environment).await.ok().flatten();
        match (result, truth) {
            // The report logged its steps as they happened.
            (Ok(Ok(_report)), Some(truth)) => {
                StateResponse::ok(truth_state(req.planned, &truth, false))
            }
            (Ok(Ok(_)), None) => StateResponse::with_diagnostics(
                req.prior.clone(),
                Diagnostic::error("Environment disappeared", format!("{:?} no longer exists on the platform.", cfg.environment)).into(),
            ),
            (Ok(Err(err)), truth) => {
                let state = match (req.prior.is_null(), truth) {
                    (true, _) | (_, None) => req.prior.clone(),
                    (false, Some(t)) => truth_state(req.prior, &t, true),
                };
                let mut d = release_diagnostic(&cfg.canary.version, &err);
                d.path = Some(AttributePath::attr("canary"));
                StateResponse::with_diagnostics(state, d.into())
            }
            (Err(_), _) => StateResponse::with_diagnostics(
                req.prior.clone(),
                Diagnostic::error("Traffic split timed out", format!("The {op} took longer than its timeout; raise timeouts {{ {op} = \"...\" }}.")).into(),
            ),
        }
    }
}

/// Leaves where the canary lands to the apply: known once the environment's
/// apply has deployed it.
fn defer_placement(planned: &mut PlanResponse) {
    mark_unknown(&mut planned.planned, &["canary_color", "satisfied"]);
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
        let _ = read_config(config, &mut diags);
        diags
    }

    async fn plan(
        &self,
        _ctx: &Ctx,
        req: PlanRequest<'_>,
        mut planned: PlanResponse,
    ) -> PlanResponse {
        let env = req.config.get("environment");
        let version = req.config.get("canary").get("version");
        // The canary must run somewhere by the time the split is applied: say
        // so at plan time, with the fix, unless this run deploys it.
        if let (Some(env), Some(version)) = (env.as_str(), version.as_str()) {
            if let Ok(platform) = self.platform().await {
                let planned_run = self.shared.planned.runs(env, version);
                match platform.status(env).await {
                    Ok(Some(state)) => match place(&state, env, version) {
                        Ok(Placement::Satisfied) => {
                            planned.planned.set("satisfied", Value::Bool(true));
                            planned.planned.set("canary_color", Value::Null);
                        }
                        Ok(Placement::On(color)) => {
                            planned.planned.set("satisfied", Value::Bool(false));
                            planned.planned.set("canary_color", Value::from(color.as_str()));
                        }
                        // The environment's apply, which Terraform runs first, deploys it.
                        Err(_) if planned_run == PlannedRun::Deploys => defer_placement(&mut planned),
                        Err(e) => planned.diagnostics.error_at(AttributePath::attr("canary").then_attr("version"), "Canary version is not deployed", e),
                    },
                    Ok(None) => match planned_run {
                        // Created in this run: Terraform applies it before the split.
                        PlannedRun::Deploys => defer_placement(&mut planned),
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
            mark_unknown(&mut planned.planned, &["canary_color", "satisfied"]);
        }
        planned
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, "create").await
    }

    async fn read(&self, _ctx: &Ctx, prior: &Value, _private: &[u8]) -> StateResponse {
        let env = prior
            .get("environment")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        match platform.status(&env).await {
            Ok(Some(state)) => StateResponse::ok(truth_state(prior, &state, true)),
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
        let env = prior
            .get("environment")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let platform = match self.platform().await {
            Ok(p) => p,
            Err(d) => return d.into(),
        };
        let state = match platform.status(&env).await {
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
        let lock = match HeldLock::acquire(&platform, &env, &lock_owner()).await {
            Ok(l) => l,
            Err(e) => return release_diagnostic("the split", &ReleaseError::Platform(e)).into(),
        };
        let result = platform
            .route(
                &env,
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
        let state = match platform.status(id).await {
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
        let base = Value::object([
            ("id", Value::from(id)),
            ("environment", Value::from(id)),
            (
                "tenant_header",
                Value::from(state.routing.tenant_header.as_str()),
            ),
            ("canary_color", Value::Null),
            ("satisfied", Value::Null),
            (
                "canary",
                Value::object([
                    ("version", Value::from(version)),
                    ("weight", Value::int(0)),
                    ("tenants", Value::Null),
                ]),
            ),
            ("progressive", Value::Null),
            ("timeouts", Value::Null),
        ]);
        StateResponse::ok(truth_state(&base, &state, true))
    }
}
