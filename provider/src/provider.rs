//! The `bluegreen` provider: configuration and the resource types it offers.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::{Ctx, DataSource, Provider, Resource};
use tfplugin::schema::Schema;
use tfplugin::Value;

use crate::config::{self, ProcessEnv, ProviderConfig};
use crate::data_sources::environment::EnvironmentDataSource;
use crate::http::Http;
use crate::platform::local::LocalPlatform;
use crate::platform::Platform;
use crate::resources::environment::EnvironmentResource;
use crate::resources::migration::MigrationResource;
use crate::resources::planned_versions::PlannedVersions;
use crate::resources::traffic_split::TrafficSplitResource;

/// State shared by the provider and its resources once configured.
#[derive(Default)]
pub struct Shared {
    config: RwLock<Option<Arc<ProviderConfig>>>,
    platform: tokio::sync::OnceCell<Arc<dyn Platform>>,
    http: Http,
    /// Versions the environments planned in this run will run.
    pub planned: PlannedVersions,
}

impl Shared {
    /// The platform, connected (and the local daemon started) on first use.
    pub async fn platform(&self) -> Result<Arc<dyn Platform>, Diagnostic> {
        let config = self.config()?;
        self.platform
            .get_or_try_init(|| async {
                LocalPlatform::connect(&config.local)
                    .await
                    .map(|p| Arc::new(p) as Arc<dyn Platform>)
                    .map_err(|e| {
                        Diagnostic::error("Cannot reach the local platform", e.to_string())
                    })
            })
            .await
            .cloned()
    }

    /// The HTTP client for gates.
    pub fn http(&self) -> Http {
        self.http.clone()
    }

    /// The configuration, or an error diagnostic when `configure` has not run.
    pub fn config(&self) -> Result<Arc<ProviderConfig>, Diagnostic> {
        self.config
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| Diagnostic::error("Provider not configured", "Terraform did not configure the bluegreen provider before using it. Check the provider block for errors."))
    }
}

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
        config::resolve(config, &ProcessEnv).1
    }

    async fn configure(&self, _ctx: &Ctx, terraform_version: &str, config: &Value) -> Diagnostics {
        let (resolved, diags) = config::resolve(config, &ProcessEnv);
        if let Some(resolved) = resolved {
            tracing::info!(terraform_version, local_endpoint = %resolved.local.endpoint, azure = resolved.azure.is_some(), "provider configured");
            if let Ok(mut slot) = self.shared.config.write() {
                *slot = Some(Arc::new(resolved));
            }
        }
        diags
    }
}
