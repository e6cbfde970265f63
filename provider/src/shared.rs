//! State shared by the provider and its resources once configured.
//!
//! Its own module so that resources depend on it, not on the provider that lists them.

use std::sync::{Arc, RwLock};

use tfplugin::diag::Diagnostic;

use crate::config::ProviderConfig;
use crate::http::Http;
use crate::platform::local::LocalPlatform;
use crate::platform::Platform;
use crate::resources::planned_versions::PlannedVersions;

/// State shared by the provider and its resources once configured.
#[derive(Default)]
pub struct Shared {
    config: RwLock<Option<Arc<ProviderConfig>>>,
    platform: tokio::sync::OnceCell<Arc<dyn Platform>>,
    /// Trusts the platform's extra CA, when its configuration names one.
    http: RwLock<Http>,
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
        self.http.read().map(|h| h.clone()).unwrap_or_default()
    }

    /// The configuration, or an error diagnostic when `configure` has not run.
    pub fn config(&self) -> Result<Arc<ProviderConfig>, Diagnostic> {
        self.config
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| Diagnostic::error("Provider not configured", "Terraform did not configure the bluegreen provider before using it. Check the provider block for errors."))
    }

    /// Records the configuration `configure` resolved.
    pub fn set_config(&self, config: ProviderConfig) {
        // `resolve` already refused a file that does not load.
        let ca_file = config
            .azure
            .as_ref()
            .and_then(|a| a.ca_certificate_file.as_deref());
        if let Some(http) = ca_file.and_then(|f| Http::with_ca_file(f).ok()) {
            if let Ok(mut slot) = self.http.write() {
                *slot = http;
            }
        }
        if let Ok(mut slot) = self.config.write() {
            *slot = Some(Arc::new(config));
        }
    }
}
