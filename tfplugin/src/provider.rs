//! The traits a provider implements. The server decodes every call into cty
//! values with the schema's implied type and hands them to these traits.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::Schema;
use crate::value::{decode_json_lenient, AttributePath, Value};

/// Per-call context: lets long operations notice Terraform's Stop (Ctrl-C).
#[derive(Debug, Clone)]
pub struct Ctx {
    stop: watch::Receiver<bool>,
}

impl Ctx {
    /// A context tied to a stop signal.
    pub fn new(stop: watch::Receiver<bool>) -> Self {
        Self { stop }
    }
    /// A context that is never stopped (tests, CLI).
    pub fn detached() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `stopped()` pends instead of firing.
        std::mem::forget(tx);
        Self { stop: rx }
    }
    /// True once Terraform asked the provider to stop.
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }
    /// Resolves when Terraform asks the provider to stop.
    pub async fn stopped(&self) {
        let mut rx = self.stop.clone();
        // An error means the sender is gone: the server is shutting down, which is a stop too.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// Inputs to planning a managed resource change.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// Current state; `Null` when the resource is being created.
    pub prior: &'a Value,
    /// Configuration, with unknowns where it depends on other resources.
    pub config: &'a Value,
    /// Private bytes stored with the prior state.
    pub prior_private: &'a [u8],
}

/// A planned change.
#[derive(Debug, Default)]
pub struct PlanResponse {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change forces replacement (added to the ones the schema marks).
    pub requires_replace: Vec<AttributePath>,
    /// Private bytes handed to apply.
    pub private: Vec<u8>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

/// The outcome of create, update or read.
#[derive(Debug, Default)]
pub struct StateResponse {
    /// The new state. For read, `Null` means the object is gone. On a failed
    /// create/update this must still be the truth (what is really live).
    pub state: Value,
    /// Private bytes stored with the state.
    pub private: Vec<u8>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

impl StateResponse {
    /// A successful response.
    pub fn ok(state: Value) -> Self {
        Self {
            state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
    /// A response carrying diagnostics and the state that is true now.
    pub fn with_diagnostics(state: Value, diagnostics: Diagnostics) -> Self {
        Self {
            state,
            private: Vec::new(),
            diagnostics,
        }
    }
}

/// Inputs to applying a change.
#[derive(Debug)]
pub struct ApplyRequest<'a> {
    /// Current state (`Null` on create).
    pub prior: &'a Value,
    /// The state the plan promised (known values must come back unchanged).
    pub planned: &'a Value,
    /// Configuration.
    pub config: &'a Value,
    /// Private bytes from the plan.
    pub private: &'a [u8],
}

/// A Terraform provider.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Provider type name, e.g. `bluegreen`.
    fn type_name(&self) -> &str;
    /// The provider configuration schema.
    fn schema(&self) -> Schema;
    /// Managed resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    /// Data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
    /// Static checks of the provider configuration.
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Called once with the provider configuration before resources are used.
    async fn configure(&self, ctx: &Ctx, terraform_version: &str, config: &Value) -> Diagnostics;
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// Full type name, e.g. `bluegreen_environment`.
    fn type_name(&self) -> &str;
    /// The resource schema.
    fn schema(&self) -> Schema;
    /// Static checks of a configuration (values may be unknown).
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Upgrades stored state JSON of schema `version` to the current schema.
    /// The default accepts the current version only.
    async fn upgrade_state(
        &self,
        _ctx: &Ctx,
        version: i64,
        json: &[u8],
    ) -> Result<Value, Diagnostics> {
        let schema = self.schema();
        if version != schema.version {
            return Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "The state of this {} was written with schema version {version}, and this \
                     provider release only reads version {}. Use the provider release that \
                     wrote it, or remove the resource from state and import it again.",
                    self.type_name(),
                    schema.version
                ),
            )
            .into());
        }
        decode_json_lenient(json, &schema.value_type()).map_err(|e| {
            Diagnostic::error("Stored state does not match the schema", e.to_string()).into()
        })
    }
    /// Refines a plan. `planned` arrives with the generic rules applied
    /// (defaults, unknown computed values on create, prior computed values kept on update).
    async fn plan(&self, _ctx: &Ctx, _req: PlanRequest<'_>, planned: PlanResponse) -> PlanResponse {
        planned
    }
    /// Creates the object.
    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse;
    /// Reads the object's real state; `Null` when it no longer exists.
    async fn read(&self, ctx: &Ctx, state: &Value, private: &[u8]) -> StateResponse;
    /// Updates the object in place.
    async fn update(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse;
    /// Deletes the object.
    async fn delete(&self, ctx: &Ctx, prior: &Value, private: &[u8]) -> Diagnostics;
    /// Imports by id: returns a state that read will complete.
    async fn import(&self, _ctx: &Ctx, _id: &str) -> StateResponse {
        StateResponse::with_diagnostics(
            Value::Null,
            Diagnostic::error(
                "Import not supported",
                format!(
                    "{} cannot be imported; declare it and let Terraform create it.",
                    self.type_name()
                ),
            )
            .into(),
        )
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// Full type name, e.g. `bluegreen_environment`.
    fn type_name(&self) -> &str;
    /// The data source schema.
    fn schema(&self) -> Schema;
    /// Static checks of a configuration.
    async fn validate(&self, _ctx: &Ctx, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Reads: returns the config with computed attributes filled in.
    async fn read(&self, ctx: &Ctx, config: &Value) -> StateResponse;
}
