//! The emulator as the provider sees it: a private cloud with custom endpoints, its own CA
//! file and a service principal with a client secret (the CLI credential switched off).
//! Shared by every test crate here, so one place says how a test reaches the emulator.

use bluegreen_azure_emulator::EmulatorInfo;
use terraform_provider_bluegreen::config::Env;
use terraform_provider_bluegreen::platform::azure::settings::{self, AzureBlock, AzureSettings};

/// No environment variables: the tests' own `ARM_*` must not leak into the settings.
pub struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// Resolved settings that reach `info`'s emulator.
pub fn settings_for(info: &EmulatorInfo) -> AzureSettings {
    let block = AzureBlock {
        subscription_id: Some(info.subscription_id.clone()),
        tenant_id: Some(info.tenant_id.clone()),
        client_id: Some(info.client_id.clone()),
        client_secret: Some(info.client_secret.clone()),
        resource_manager_endpoint: Some(format!("{}/", info.base_url)),
        authority_host: Some(info.base_url.clone()),
        ca_certificate_file: Some(info.ca_file.display().to_string()),
        use_cli: Some(false),
        ..AzureBlock::default()
    };
    settings::resolve(&block, &NoEnv).expect("emulator settings resolve")
}
