//! The `bluegreen` provider: configuration and the resource types it offers.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::diag::Diagnostics;
use tfplugin::provider::{Ctx, DataSource, Provider, Resource};
use tfplugin::schema::Schema;
use tfplugin::Value;

use crate::config::{self, ProcessEnv};
use crate::data_sources::environment::EnvironmentDataSource;
use crate::resources::environment::EnvironmentResource;
use crate::resources::migration::MigrationResource;
use crate::resources::traffic_split::TrafficSplitResource;
use crate::shared::Shared;

/// The provider.
#[derive(Default)]
pub struct BlueGreenProvider {
    shared: Arc<Shared>,
}

impl BlueGreenProvider {
    /// A fresh, unconfigured provider.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provider for BlueGreenProvider {
    fn type_name(&self) -> &str {
        "bluegreen"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(EnvironmentResource::new(self.shared.clone())),
            Arc::new(TrafficSplitResource::new(self.shared.clone())),
            Arc::new(MigrationResource::new(self.shared.clone())),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(EnvironmentDataSource::new(self.shared.clone()))]
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> Diagnostics {
        config::validate(config, &ProcessEnv)
    }

    async fn configure(&self, ctx: &Ctx, terraform_version: &str, config: &Value) -> Diagnostics {
        self.shared.stop_with(ctx);
        let (resolved, diags) = config::resolve(config, &ProcessEnv);
        if let Some(resolved) = resolved {
            tracing::info!(terraform_version, local_endpoint = %resolved.local.endpoint, azure = resolved.azure.is_some(), "provider configured");
            self.shared.set_config(resolved);
        }
        diags
    }
}
