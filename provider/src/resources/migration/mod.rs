//! Resource `bluegreen_migration`: Flyway-compatible SQL migrations applied
//! with the release, classified expand/contract at plan time and gated on
//! the versions the environment's colours run.

pub mod model;
pub mod schema;
pub mod state;

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{decode, Field, IntoValue};
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::Schema;
use tfplugin::{AttributePath, Value};

use crate::migrate::gate::{self, Traffic};
use crate::migrate::history::DEFAULT_TABLE;
use crate::migrate::runner::Applied;
use crate::migrate::{DatabaseUrl, HistoryTable, Migration, MigrationSet, Session, Status};
use crate::resources::common::status_by_name;
use crate::shared::Shared;
use model::{MigrationConfig, MigrationModel};

/// Leaves the computed attributes a plan predicts to the apply.
fn defer_outputs(planned: &mut MigrationModel) {
    planned.applied_version = Field::Unknown;
    planned.pending = Field::Unknown;
    planned.applied = Field::Unknown;
}

/// Reports the history and the folder in the computed attributes; with
/// `only_unknown`, only in those the plan left unknown (apply returns what
/// the plan promised).
fn report_status(state: &mut MigrationModel, status: &Status<'_>, only_unknown: bool) {
    let fill = |slot_unknown: bool| !only_unknown || slot_unknown;
    if fill(state.applied_version.is_unknown()) {
        state.applied_version =
            Field::from_option(status.applied_version.as_ref().map(ToString::to_string));
    }
    if fill(state.pending.is_unknown()) {
        state.pending = Field::Known(state::pending_list(status.pending.iter().copied()));
    }
    if fill(state.applied.is_unknown()) {
        state.applied = Field::Known(state::applied_list(&status.applied));
    }
}

/// The resource type.
pub struct MigrationResource {
    shared: Arc<Shared>,
}

impl MigrationResource {
    /// A resource bound to the provider's shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

fn at(attr: &str) -> AttributePath {
    AttributePath::attr(attr)
}

/// The resource id: the database without credentials, and the table.
pub fn resource_id(url: &DatabaseUrl, table: &str) -> String {
    format!("{}#{table}", url.identity())
}

/// Loads the folder, as diagnostics at `source_dir` when it cannot.
fn load_set(cfg: &MigrationConfig) -> Result<MigrationSet, Diagnostics> {
    let Some(dir) = &cfg.source_dir else {
        return Err(
            Diagnostic::error("source_dir unknown", "source_dir is not known yet.")
                .at(at("source_dir"))
                .into(),
        );
    };
    MigrationSet::load(dir).map_err(|errors| {
        let mut diags = Diagnostics::new();
        for e in errors.0 {
            diags.error_at(
                at("source_dir"),
                "Invalid migrations folder",
                format!("{e}"),
            );
        }
        diags
    })
}

/// The folder's problems against the history, as plan/apply errors.
fn problem_diagnostics(status: &Status<'_>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for p in &status.problems {
        diags.error_at(at("source_dir"), p.summary(), p.detail());
    }
    diags
}

/// squawk's lock-safety warnings for the migrations this apply runs.
fn lint_diagnostics(migrations: &[&Migration]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for m in migrations
        .iter()
        .filter(|m| !m.analysis.warnings.is_empty())
    {
        let lines: Vec<String> = m
            .analysis
            .warnings
            .iter()
            .map(|w| w.located(&m.script))
            .collect();
        diags.warning_at(
            at("source_dir"),
            format!("Lock-safety findings in {}", m.script),
            format!(
                "squawk's linter flags statements that may block traffic while they run:\n  {}",
                lines.join("\n  ")
            ),
        );
    }
    diags
}

/// The (script, checksum) pairs the plan's `applied` list promised, when it
/// was known at plan time.
fn planned_scripts(planned: &MigrationModel) -> Option<Vec<(String, i32)>> {
    // Anything in it unknown: the plan promised nothing in particular.
    if !planned.applied.clone().into_value().is_wholly_known() {
        return None;
    }
    Some(
        planned
            .applied
            .known()?
            .iter()
            .filter_map(|e| {
                let script = e.script.known()?.clone();
                let checksum = i32::try_from(e.checksum.known()?.as_i64()?).ok()?;
                Some((script, checksum))
            })
            .collect(),
    )
}

fn session_diagnostic(summary: &str, e: &crate::migrate::MigrateError) -> Diagnostic {
    Diagnostic::error(summary, e.to_string()).at(at("database_url"))
}

impl MigrationResource {
    /// Who serves traffic, for the gate. Reaches the platform only when it
    /// has to (an environment is set and a breaking migration is pending).
    async fn traffic(&self, environment: Option<&str>) -> Result<Traffic, Diagnostic> {
        let Some(name) = environment else {
            return Ok(Traffic::NoEnvironment);
        };
        let platform = self.shared.platform().await?;
        match status_by_name(platform.as_ref(), name).await {
            Ok(Some(state)) => Ok(Traffic::from_state(name, &state)),
            Ok(None) => Ok(Traffic::Absent),
            Err(e) => Err(Diagnostic::error(
                format!("Cannot read environment {name:?}"),
                format!("{e}. The colours' versions decide whether breaking migrations may run."),
            )
            .at(at("environment"))),
        }
    }

    /// The gate's refusals as diagnostics (none with allow_breaking).
    async fn gate(&self, cfg: &MigrationConfig, migrations: &[&Migration]) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if cfg.allow_breaking || !migrations.iter().any(|m| m.analysis.class.is_breaking()) {
            return diags;
        }
        let environment = match &cfg.environment {
            Some(e) => e.as_deref(),
            // Not known before apply: apply checks again.
            None => return diags,
        };
        let traffic = match self.traffic(environment).await {
            Ok(t) => t,
            Err(d) => return d.into(),
        };
        for r in gate::check(migrations, &traffic) {
            diags.error_at(
                at("allow_breaking"),
                format!("Breaking migration {} refused", r.script),
                r.detail,
            );
        }
        diags
    }

    /// Reads the history; the session is closed again.
    async fn history(
        cfg: &MigrationConfig,
    ) -> Result<Vec<crate::migrate::history::HistoryRow>, Diagnostic> {
        let (Some(url), Some(table)) = (&cfg.database_url, &cfg.history_table) else {
            return Err(Diagnostic::error(
                "Database unknown",
                "database_url is not known yet.",
            ));
        };
        let mut session = Session::open(url, table, cfg.lock_timeout)
            .await
            .map_err(|e| session_diagnostic("Cannot connect to the database", &e))?;
        let rows = session
            .history()
            .await
            .map_err(|e| session_diagnostic("Cannot read the migration history", &e));
        session.close().await;
        rows
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest<'_>, creating: bool) -> StateResponse {
        let failed_state = if creating {
            Value::Null
        } else {
            req.prior.clone()
        };
        let models = (
            decode::<MigrationModel>(req.config),
            decode::<MigrationModel>(req.planned),
            decode::<Field<MigrationModel>>(&failed_state),
        );
        let (config, planned, mut failed) = match models {
            (Ok(c), Ok(p), Ok(f)) => (c, p, f),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return StateResponse::with_diagnostics(failed_state, d.into())
            }
        };
        let mut diags = Diagnostics::new();
        let cfg = model::read(&config, &mut diags);
        if diags.has_errors() {
            return StateResponse::with_diagnostics(failed_state, diags);
        }
        let set = match load_set(&cfg) {
            Ok(s) => s,
            Err(d) => return StateResponse::with_diagnostics(failed_state, d),
        };
        let (Some(url), Some(table)) = (cfg.database_url.clone(), cfg.history_table.clone()) else {
            return StateResponse::with_diagnostics(
                failed_state,
                Diagnostic::error("Database unknown", "database_url is not known at apply.")
                    .at(at("database_url"))
                    .into(),
            );
        };
        let mut session = match Session::open(&url, &table, cfg.lock_timeout).await {
            Ok(s) => s,
            Err(e) => {
                return StateResponse::with_diagnostics(
                    failed_state,
                    session_diagnostic("Cannot connect to the database", &e).into(),
                )
            }
        };
        let outcome = self.migrate(ctx, &cfg, &set, &mut session, &planned).await;
        // The truth after the run, whatever happened.
        let truth = session.history().await;
        session.close().await;
        match outcome {
            Ok(()) => {
                // Apply returns what the plan promised; the next refresh reports
                // anything that changed since (e.g. a file added after the plan).
                let mut state = planned;
                if state.id.is_unknown() {
                    let table = config.history_table.as_deref().unwrap_or(DEFAULT_TABLE);
                    state.id = Field::Known(resource_id(&url, table));
                }
                if let Ok(rows) = &truth {
                    report_status(&mut state, &Status::new(&set, rows), true);
                }
                StateResponse::with_diagnostics(state.into_value(), diags)
            }
            Err(mut errors) => {
                if let (Some(state), Ok(rows)) = (failed.known_mut(), &truth) {
                    report_status(state, &Status::new(&set, rows), false);
                }
                diags.extend(std::mem::take(&mut errors));
                StateResponse::with_diagnostics(failed.into_value(), diags)
            }
        }
    }

    /// Under the lock: compare again, gate again, run what the plan promised.
    async fn migrate(
        &self,
        ctx: &Ctx,
        cfg: &MigrationConfig,
        set: &MigrationSet,
        session: &mut Session,
        planned: &MigrationModel,
    ) -> Result<(), Diagnostics> {
        session.lock(cfg.lock_timeout).await.map_err(|e| {
            Diagnostics::from(
                session_diagnostic("Cannot take the migration lock", &e).at(at("lock_timeout")),
            )
        })?;
        let rows = session.history().await.map_err(|e| {
            Diagnostics::from(session_diagnostic("Cannot read the migration history", &e))
        })?;
        let status = Status::new(set, &rows);
        let problems = problem_diagnostics(&status);
        if problems.has_errors() {
            return Err(problems);
        }
        let target = cfg.target_version.clone().flatten();
        // Never past what the plan showed: a file added since waits for the next plan.
        // Run what the plan showed, nothing more: a file added or edited since
        // the plan waits for the next plan.
        let promised = planned_scripts(planned);
        let to_apply: Vec<&Migration> = status
            .to_apply(target.as_ref())
            .into_iter()
            .filter(|m| {
                promised
                    .as_ref()
                    .is_none_or(|p| p.contains(&(m.script.clone(), m.checksum)))
            })
            .collect();
        let refusals = self.gate(cfg, &to_apply).await;
        if refusals.has_errors() {
            return Err(refusals);
        }
        for m in to_apply {
            if ctx.is_stopped() {
                return Err(Diagnostic::error("Migration interrupted", format!("Terraform asked the provider to stop before {}. The migrations before it are applied; apply again to continue.", m.script)).into());
            }
            match session.apply(m).await {
                Ok(Applied::Ran(took)) => {
                    tracing::info!(script = %m.script, millis = took.as_millis() as u64, class = %m.analysis.class, "migration applied")
                }
                Ok(Applied::AlreadyApplied) => {
                    tracing::info!(script = %m.script, "migration already applied by another run")
                }
                Err(e) => {
                    let detail = match &e {
                        crate::migrate::MigrateError::Statement { committed: None, .. } => format!(
                            "{e}\nNothing of {} was applied and no history row was written. Fix the migration (or the data it trips on) and apply again.",
                            m.script
                        ),
                        _ => format!("{e}"),
                    };
                    return Err(Diagnostic::error(
                        format!("Migration {} failed", m.script),
                        detail,
                    )
                    .at(at("source_dir"))
                    .into());
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for MigrationResource {
    fn type_name(&self) -> &str {
        "bluegreen_migration"
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
        if planned.planned.is_null() {
            planned.diagnostics.push(Diagnostic::warning(
                "Destroying bluegreen_migration leaves the database untouched",
                "The migrations stay applied and the history table stays as it is; only Terraform forgets this resource.",
            ));
            return planned;
        }
        let models = (
            decode::<MigrationModel>(req.config),
            decode::<MigrationModel>(&planned.planned),
        );
        let (config, mut p) = match models {
            (Ok(c), Ok(p)) => (c, p),
            (Err(d), _) | (_, Err(d)) => {
                planned.diagnostics.push(d);
                return planned;
            }
        };
        let cfg = model::read(&config, &mut planned.diagnostics);
        if planned.diagnostics.has_errors() {
            return planned;
        }
        if !cfg.is_known() {
            // Depends on something not created yet: known after apply.
            defer_outputs(&mut p);
            if req.prior.is_null() {
                p.id = Field::Unknown;
            }
            planned.planned = p.into_value();
            return planned;
        }
        let set = match load_set(&cfg) {
            Ok(s) => s,
            Err(d) => {
                planned.diagnostics.extend(d);
                return planned;
            }
        };
        let rows = match Self::history(&cfg).await {
            Ok(r) => r,
            // A database created in the same apply cannot be read yet: what
            // will run is known after apply (which gates and validates again).
            Err(d) if req.prior.is_null() => {
                planned.diagnostics.push(Diagnostic::warning(
                    "Pending migrations known after apply",
                    format!("The database cannot be read at plan time ({}: {}), so the plan cannot list the pending migrations. Apply connects again; if the database is not there by then, apply fails.", d.summary, d.detail),
                ).at(at("database_url")));
                defer_outputs(&mut p);
                planned.planned = p.into_value();
                return planned;
            }
            Err(d) => {
                planned.diagnostics.push(d);
                return planned;
            }
        };
        let status = Status::new(&set, &rows);
        planned.diagnostics.extend(problem_diagnostics(&status));
        let target = cfg.target_version.clone().flatten();
        let to_apply = status.to_apply(target.as_ref());
        planned.diagnostics.extend(self.gate(&cfg, &to_apply).await);
        planned.diagnostics.extend(lint_diagnostics(&to_apply));
        let staying: Vec<&Migration> = status
            .pending
            .iter()
            .copied()
            .filter(|m| !to_apply.iter().any(|a| std::ptr::eq(*a, *m)))
            .collect();
        p.applied_version = Field::from_option(status.applied_version_after(&to_apply));
        p.pending = Field::Known(state::pending_list(staying));
        p.applied = Field::Known(state::applied_list(&status.applied_after(&to_apply)));
        if req.prior.is_null() || p.id.as_deref().is_none_or(str::is_empty) {
            if let Some(url) = &cfg.database_url {
                // The configured spelling: the id must not change with the current schema.
                let table = config.history_table.as_deref().unwrap_or(DEFAULT_TABLE);
                p.id = Field::Known(resource_id(url, table));
            }
        }
        planned.planned = p.into_value();
        planned
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, true).await
    }

    async fn read(&self, _ctx: &Ctx, prior: &Value, private: &[u8]) -> StateResponse {
        let held = match decode::<MigrationModel>(prior) {
            Ok(m) => m,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        let mut diags = Diagnostics::new();
        let cfg = model::read(&held, &mut diags);
        if diags.has_errors() || !cfg.is_known() {
            return StateResponse::with_diagnostics(prior.clone(), diags);
        }
        let rows = match Self::history(&cfg).await {
            Ok(r) => r,
            Err(d) => return StateResponse::with_diagnostics(prior.clone(), d.into()),
        };
        let mut state = held;
        // Without the folder (moved, or read elsewhere) the history still tells what is applied.
        let loaded = load_set(&cfg).ok();
        let empty = MigrationSet::default();
        let status = Status::new(loaded.as_ref().unwrap_or(&empty), &rows);
        let pending = state.pending.clone();
        report_status(&mut state, &status, false);
        if loaded.is_none() {
            state.pending = pending;
        }
        let mut out = StateResponse::with_diagnostics(state.into_value(), diags);
        out.private = private.to_vec();
        out
    }

    async fn update(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        self.apply(ctx, req, false).await
    }

    async fn delete(&self, _ctx: &Ctx, _prior: &Value, _private: &[u8]) -> Diagnostics {
        Diagnostic::warning(
            "The database was left untouched",
            "Destroying bluegreen_migration does not undo migrations or drop the history table; Terraform only forgets the resource.",
        )
        .into()
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> StateResponse {
        match import_state(id, &|name| std::env::var(name).ok()) {
            Ok(state) => StateResponse::ok(state),
            Err(d) => StateResponse::with_diagnostics(Value::Null, d.into()),
        }
    }
}

/// How an import id reads.
pub const IMPORT_FORMAT: &str =
    "database_url_env=<ENV_VAR>,source_dir=<folder>[,history_table=<table>]";

/// The state an import id describes. The database URL comes from an
/// environment variable so the secret never appears on a command line.
pub fn import_state(id: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, Diagnostic> {
    let invalid = |why: String| {
        Diagnostic::error(
            "Invalid import id",
            format!("{why}. Import with: terraform import bluegreen_migration.NAME '{IMPORT_FORMAT}', e.g. 'database_url_env=TF_VAR_database_url,source_dir=./migrations'."),
        )
    };
    let mut url_env = None;
    let mut source_dir = None;
    let mut history_table = None;
    for part in id.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(invalid(format!("{part:?} is not key=value")));
        };
        match key.trim() {
            "database_url_env" => url_env = Some(value.trim().to_string()),
            "source_dir" => source_dir = Some(value.trim().to_string()),
            "history_table" => history_table = Some(value.trim().to_string()),
            other => return Err(invalid(format!("unknown key {other:?}"))),
        }
    }
    let url_env = url_env.ok_or_else(|| invalid("database_url_env is missing".into()))?;
    let source_dir = source_dir.ok_or_else(|| invalid("source_dir is missing".into()))?;
    let raw = env(&url_env).filter(|v| !v.is_empty()).ok_or_else(|| {
        Diagnostic::error("Database URL not set", format!("The environment variable {url_env} named by the import id is not set. Export the database URL in it, then import again."))
    })?;
    let url = DatabaseUrl::parse(&raw)
        .map_err(|e| Diagnostic::error("Invalid database URL", format!("{url_env}: {e}")))?;
    let table = history_table.unwrap_or_else(|| DEFAULT_TABLE.to_string());
    HistoryTable::parse(&table).map_err(|e| invalid(e.to_string()))?;
    // Read fills in the rest from the history table.
    let state = MigrationModel {
        id: Field::Known(resource_id(&url, &table)),
        database_url: Field::Known(raw),
        source_dir: Field::Known(source_dir),
        history_table: Field::Known(table),
        allow_breaking: Field::Known(false),
        lock_timeout: Field::Known(schema::DEFAULT_LOCK_TIMEOUT_TEXT.to_string()),
        ..MigrationModel::default()
    };
    Ok(state.into_value())
}
