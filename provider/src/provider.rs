//! The `bluegreen` provider: configuration and the resource types it offers.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::{Ctx, DataSource, Provider, Resource};
use tfplugin::schema::Schema;
use tfplugin::Value;

use crate::config::{self, ProcessEnv, ProviderConfig};

/// State shared by the provider and its resources once configured.
#[derive(Default)]
pub struct Shared {
    config: RwLock<Option<Arc<ProviderConfig>>>,
}

impl Shared {
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
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
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
