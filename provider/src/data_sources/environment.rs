//! Data source `bluegreen_environment`: where a release will land.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::diag::Diagnostic;
use tfplugin::model::{decode, Field, IntoValue};
use tfplugin::provider::{Ctx, DataSource, StateResponse};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{AttributePath, Value};

use crate::resources::common::status_by_name;
use crate::resources::environment::model::ColorModel;
use crate::resources::environment::{schema::computed_attributes, state};
use crate::shared::Shared;

tfplugin::model! {
    /// The data source's value: every attribute of its schema.
    #[derive(Debug, Clone, Default)]
    pub struct EnvironmentDataModel {
        /// The environment name.
        pub id: Field<String>,
        /// Environment name.
        pub name: Field<String>,
        /// The live version.
        pub version: Field<String>,
        /// The colour receiving traffic.
        pub live_color: Field<String>,
        /// The colour not receiving traffic.
        pub idle_color: Field<String>,
        /// The front door URL.
        pub endpoint: Field<String>,
        /// Per colour: version, status and address.
        pub colors: Field<std::collections::BTreeMap<String, ColorModel>>,
    }
}

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
        let config = match decode::<EnvironmentDataModel>(config) {
            Ok(c) => c,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        let name = config.name.as_deref().unwrap_or_default().to_string();
        let platform = match self.shared.platform().await {
            Ok(p) => p,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        match status_by_name(platform.as_ref(), &name).await {
            Ok(Some(truth)) => {
                let truth = state::reported(&truth);
                let out = EnvironmentDataModel {
                    id: Field::Known(name.clone()),
                    version: Field::Known(truth.version),
                    live_color: truth.live_color,
                    idle_color: truth.idle_color,
                    endpoint: Field::Known(truth.endpoint),
                    colors: Field::Known(truth.colors),
                    ..config
                };
                StateResponse::ok(out.into_value())
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

#[cfg(test)]
mod tests {
    use tfplugin::model::coverage;
    use tfplugin::provider::DataSource;

    use super::*;

    #[test]
    fn the_model_covers_the_schema() {
        let schema = EnvironmentDataSource::new(Arc::new(Shared::default())).schema();
        assert_eq!(
            coverage::<EnvironmentDataModel>(&schema.block),
            (vec![], vec![])
        );
    }
}
