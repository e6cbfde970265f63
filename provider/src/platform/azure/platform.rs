//! `trait Platform` on Azure: colours are the `blue`/`green` revision labels of
//! one Container App, the switch is one PATCH of a Front Door route's origin
//! group, canary and tenants are origin weights plus a rule.

use std::time::Duration;

use async_trait::async_trait;

use super::auth::CredentialOptions;
use super::client::{ArmClient, ArmOptions};
use super::error::AzureError;
use super::settings::AzureSettings;
use crate::platform::{
    Color, EnvironmentRef, EnvironmentState, Lease, Metrics, Platform, PlatformError, Propagation,
    RouteChange, RoutingRevision, TargetSpec,
};

/// The Azure platform: an ARM client for one subscription.
#[derive(Debug, Clone)]
pub struct AzurePlatform {
    client: ArmClient,
}

impl AzurePlatform {
    /// Builds the ARM client (no network yet).
    pub fn new(settings: &AzureSettings) -> Result<AzurePlatform, AzureError> {
        let client = ArmClient::new(
            settings,
            ArmOptions::default(),
            CredentialOptions::default(),
        )?;
        Ok(AzurePlatform { client })
    }

    /// The ARM client in use.
    pub fn client(&self) -> &ArmClient {
        &self.client
    }
}

fn not_yet(what: &str) -> PlatformError {
    PlatformError::Api(format!(
        "the Azure platform cannot {what} yet in this build of the provider"
    ))
}

#[async_trait]
impl Platform for AzurePlatform {
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
    async fn propagation(
        &self,
        _environment: &EnvironmentRef,
        _revision: &RoutingRevision,
    ) -> Result<Propagation, PlatformError> {
        Err(not_yet("probe propagation"))
    }
    async fn locate(&self, _name: &str) -> Result<EnvironmentRef, PlatformError> {
        Err(not_yet("locate an environment"))
    }
    async fn define(
        &self,
        _environment: &EnvironmentRef,
        _spec: &TargetSpec,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        Err(not_yet("define an environment"))
    }
    async fn status(
        &self,
        _environment: &EnvironmentRef,
    ) -> Result<Option<EnvironmentState>, PlatformError> {
        Err(not_yet("read an environment"))
    }
    async fn deploy(
        &self,
        _environment: &EnvironmentRef,
        _color: Color,
        _version: &str,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        Err(not_yet("deploy"))
    }
    async fn stop(
        &self,
        _environment: &EnvironmentRef,
        _color: Color,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        Err(not_yet("stop a colour"))
    }
    async fn route(
        &self,
        _environment: &EnvironmentRef,
        _change: RouteChange,
        _lease: &Lease,
    ) -> Result<RoutingRevision, PlatformError> {
        Err(not_yet("route"))
    }
    async fn metrics(
        &self,
        _environment: &EnvironmentRef,
        _color: Color,
        _since_ms: u64,
        _until_ms: u64,
    ) -> Result<Option<Metrics>, PlatformError> {
        Err(not_yet("read metrics"))
    }
    async fn lock(
        &self,
        _environment: &EnvironmentRef,
        _owner: &str,
        _ttl: Duration,
    ) -> Result<Lease, PlatformError> {
        Err(not_yet("lock"))
    }
    async fn renew(
        &self,
        _environment: &EnvironmentRef,
        _lease: &Lease,
        _ttl: Duration,
    ) -> Result<(), PlatformError> {
        Err(not_yet("renew a lock"))
    }
    async fn unlock(
        &self,
        _environment: &EnvironmentRef,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        Err(not_yet("unlock"))
    }
    async fn delete(
        &self,
        _environment: &EnvironmentRef,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        Err(not_yet("delete"))
    }
}
