//! Data source `bluegreen_environment`: where a release will land.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::diag::Diagnostic;
use tfplugin::provider::{Ctx, DataSource, StateResponse};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{AttributePath, Value};

use crate::resources::environment::{schema::computed_attributes, state};
use crate::shared::Shared;

/// The data source type.
pub struct EnvironmentDataSource {
    shared: Arc<Shared>,
}

impl EnvironmentDataSource {
    /// A data source bound to the provider's shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl DataSource for EnvironmentDataSource {
    fn type_name(&self) -> &str {
        "bluegreen_environment"
    }

    fn schema(&self) -> Schema {
        Schema::new(computed_attributes(
            Block::new()
                .description("Live colour, idle colour, versions per colour and endpoint of an environment: for pipelines that need to know where a release will land.")
                .attr(Attribute::string("id").computed().description("The environment name."))
                .attr(Attribute::string("name").required().description("Environment name."))
                .attr(Attribute::string("version").computed().description("The live version (empty when nothing is live)."))
                .attr(Attribute::string("live_color").computed().description("The colour receiving traffic.")),
        ))
    }

    async fn read(&self, _ctx: &Ctx, config: &Value) -> StateResponse {
        let name = config.get("name").as_str().unwrap_or_default().to_string();
        let platform = match self.shared.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        match platform.status(&name).await {
            Ok(Some(truth)) => {
                let mut out = config.clone();
                out.set("id", Value::from(name.as_str()));
                state::apply_truth(&mut out, &truth, true);
                StateResponse::ok(out)
            }
            Ok(None) => StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error(
                    "Environment not found",
                    format!("There is no environment named {name:?} on the platform."),
                )
                .at(AttributePath::attr("name"))
                .into(),
            ),
            Err(e) => StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error("Reading the environment failed", e.to_string()).into(),
            ),
        }
    }
}
