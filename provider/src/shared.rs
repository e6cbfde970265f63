//! State shared by the provider and its resources once configured.
//!
//! Its own module so that resources depend on it, not on the provider that lists them.

use std::sync::{Arc, RwLock};

use tfplugin::diag::Diagnostic;
use tokio_util::sync::CancellationToken;

use crate::config::ProviderConfig;
use crate::http::Http;
use crate::notify::Notifier;
use crate::platform::azure::AzurePlatform;
use crate::platform::local::LocalPlatform;
use crate::platform::{Platform, TargetRef};
use crate::resources::planned_versions::PlannedVersions;

/// State shared by the provider and its resources once configured.
#[derive(Default)]
pub struct Shared {
    config: RwLock<Option<Arc<ProviderConfig>>>,
    /// Each platform is created on first use: a run that touches only local
    /// environments never builds an Azure client, and one that touches only
    /// Azure never starts the local daemon.
    local: tokio::sync::OnceCell<Arc<dyn Platform>>,
    azure: tokio::sync::OnceCell<Arc<AzurePlatform>>,
    /// Trusts the platform's extra CA, when its configuration names one.
    http: RwLock<Http>,
    /// Versions the environments planned in this run will run.
    pub planned: PlannedVersions,
    /// Cancelled when Terraform stops the provider (Ctrl-C): every ARM
    /// request and wait of the Azure platform then ends at once, including
    /// the waited app and route writes the engine does not drop itself.
    stop: CancellationToken,
}

impl Shared {
    /// The platform environments are looked up on by name alone (a traffic
    /// split, the data source, a migration's environment): Azure when the
    /// provider has an `azure` block, else the local platform.
    pub async fn platform(&self) -> Result<Arc<dyn Platform>, Diagnostic> {
        if self.config()?.azure.is_some() {
            self.azure().await.map(|p| p as Arc<dyn Platform>)
        } else {
            self.local().await
        }
    }

    /// The platform an environment's handle lives on.
    pub async fn platform_for(&self, target: &TargetRef) -> Result<Arc<dyn Platform>, Diagnostic> {
        match target {
            TargetRef::Local => self.local().await,
            TargetRef::Azure(_) => self.azure().await.map(|p| p as Arc<dyn Platform>),
        }
    }

    /// The local platform, connected (and the daemon started) on first use.
    pub async fn local(&self) -> Result<Arc<dyn Platform>, Diagnostic> {
        let config = self.config()?;
        self.local
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

    /// The Azure platform from the provider's `azure` block; an error with
    /// the fix when the provider has none.
    pub async fn azure(&self) -> Result<Arc<AzurePlatform>, Diagnostic> {
        let config = self.config()?;
        let Some(settings) = config.azure.as_ref() else {
            return Err(azure_block_missing());
        };
        self.azure
            .get_or_try_init(|| async {
                AzurePlatform::new(settings)
                    .map(|p| Arc::new(p.with_stop(self.stop.clone())))
                    .map_err(|e| Diagnostic::error("Cannot set up the Azure client", e.to_string()))
            })
            .await
            .cloned()
    }

    /// Cancels [`Shared`]'s stop token when `ctx` is stopped. Terraform's
    /// StopProvider is provider-wide and final, so the token stays cancelled.
    pub fn stop_with(&self, ctx: &tfplugin::provider::Ctx) {
        let (ctx, token) = (ctx.clone(), self.stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = ctx.stopped() => token.cancel(),
                () = token.cancelled() => {}
            }
        });
    }

    /// The HTTP client for gates.
    pub fn http(&self) -> Http {
        self.http.read().map(|h| h.clone()).unwrap_or_default()
    }

    /// The release alerts of the provider's `notification` blocks (none
    /// before `configure`).
    pub fn notifier(&self) -> Notifier {
        let notifications = self
            .config()
            .map(|c| c.notifications.clone())
            .unwrap_or_default();
        Notifier::new(notifications, self.http())
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

/// An Azure environment or import with no credentials to reach Azure.
pub fn azure_block_missing() -> Diagnostic {
    Diagnostic::error(
        "The provider has no azure block",
        "This environment runs on Azure, so the bluegreen provider needs Azure credentials and a cloud: add provider \"bluegreen\" { azure { subscription_id = ..., tenant_id = ..., client_id = ... } } (each argument falls back to the ARM_* variable azurerm reads), or give the environment a local block instead.",
    )
}

#[cfg(test)]
mod stop_tests {
    use super::*;
    use std::time::Duration;
    use tfplugin::provider::Ctx;

    #[tokio::test]
    async fn terraform_stop_cancels_the_token_the_azure_platform_waits_on() {
        let shared = Shared::default();
        let (tx, rx) = tokio::sync::watch::channel(false);
        shared.stop_with(&Ctx::new(rx));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!shared.stop.is_cancelled(), "no stop yet");
        tx.send(true).expect("send");
        tokio::time::timeout(Duration::from_secs(2), shared.stop.cancelled())
            .await
            .expect("the token follows Terraform's stop");
    }
}
