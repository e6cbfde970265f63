//! The provider configuration: the `local` and `azure` blocks and the
//! `notification` blocks (read by [`crate::notify::config`]), read through
//! their typed models, with the environment-variable fallbacks platform
//! engineers know from azurerm. The `azure` block is resolved by
//! [`settings::resolve`], the one place its rules live.

pub mod model;
mod schema;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use tfplugin::model::{decode, Field};
use tfplugin::{AttributePath, Diagnostics, Value};

pub use crate::env::{Env, ProcessEnv};
pub use schema::schema;

use crate::notify::config as notify_config;
use crate::notify::Notification;
use crate::platform::azure::settings::{self, AzureSettings, SettingProblem};
use crate::platform::local::LocalConfig;
use model::{AzureBlockModel, LocalBlockModel, ProviderModel, Unknowns};

/// Default admin endpoint of the local platform daemon.
pub const DEFAULT_LOCAL_ENDPOINT: &str = "http://127.0.0.1:7480";
/// Default state directory of the local platform daemon.
pub const DEFAULT_LOCAL_STATE_DIR: &str = ".bluegreen";

/// The whole resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Local platform settings (always resolved: it is the default platform).
    pub local: LocalConfig,
    /// Azure settings, when an `azure` block is present (its arguments fall
    /// back to the `ARM_*` variables). Rejected until Azure is implemented.
    pub azure: Option<AzureSettings>,
    /// Release alerts, from the `notification` blocks.
    pub notifications: Vec<Notification>,
}

/// Checks the configuration as `ValidateProviderConfig` sees it, where values
/// from variables are not known yet: a problem is reported only if it stands
/// whatever those values turn out to be.
pub fn validate(config: &Value, env: &dyn Env) -> Diagnostics {
    match decode::<ProviderModel>(config) {
        Ok(model) => {
            let (_, diags) = resolve_model(&model, env);
            diags
        }
        Err(e) => Diagnostics(vec![e]),
    }
}

/// Resolves the configuration `ConfigureProvider` receives with its
/// fallbacks, reporting every problem at its attribute path. An `azure` value not known until apply is
/// an error here: Azure calls cannot be planned without it.
pub fn resolve(config: &Value, env: &dyn Env) -> (Option<ProviderConfig>, Diagnostics) {
    let model = match decode::<ProviderModel>(config) {
        Ok(model) => model,
        Err(e) => return (None, Diagnostics(vec![e])),
    };
    let (resolved, mut diags) = resolve_model(&model, env);
    if let Some(azure) = model.azure.known() {
        for name in azure.unknown_attributes() {
            diags.error_at(
                AttributePath::attr("azure").then_attr(name.as_str()),
                "Azure setting not known until apply",
                format!(
                    "azure.{name} comes from a value Terraform knows only after apply, but the provider \
                     needs its Azure settings to plan. Set it from a variable or a data source, or leave \
                     it out so that its environment variable applies."
                ),
            );
        }
    }
    if diags.has_errors() {
        (None, diags)
    } else {
        (resolved, diags)
    }
}

/// The settings alone, without `resolve`'s refusal of values not known
/// until apply (tests of what validate sees).
#[cfg(test)]
fn resolve_settings(config: &Value, env: &dyn Env) -> (Option<ProviderConfig>, Diagnostics) {
    match decode::<ProviderModel>(config) {
        Ok(model) => resolve_model(&model, env),
        Err(e) => (None, Diagnostics(vec![e])),
    }
}

fn resolve_model(config: &ProviderModel, env: &dyn Env) -> (Option<ProviderConfig>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let no_local = LocalBlockModel::default();
    let local = resolve_local(config.local.known().unwrap_or(&no_local), env, &mut diags);
    // Only the block selects Azure: the ARM_* variables also configure
    // azurerm, often in the same configuration, so they fill in the block's
    // arguments but never choose the platform on their own.
    let azure = match &config.azure {
        Field::Known(block) => resolve_azure(block, env, &mut diags),
        Field::Null | Field::Unknown => None,
    };
    let notifications = notify_config::resolve(&config.notification, &mut diags);
    if diags.has_errors() {
        (None, diags)
    } else {
        (
            Some(ProviderConfig {
                local,
                azure,
                notifications,
            }),
            diags,
        )
    }
}

/// The block's value, else the first variable set. An unknown value is
/// skipped: its fallback stands in until it is known.
fn string_or_env(value: &Field<String>, env: &dyn Env, var: &str) -> Option<String> {
    value.known().cloned().or_else(|| env.var(var))
}

fn resolve_local(block: &LocalBlockModel, env: &dyn Env, diags: &mut Diagnostics) -> LocalConfig {
    let path = AttributePath::attr("local");
    let endpoint = string_or_env(&block.endpoint, env, "BLUEGREEN_LOCAL_ENDPOINT")
        .unwrap_or_else(|| DEFAULT_LOCAL_ENDPOINT.to_string());
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        diags.error_at(
            path.clone().then_attr("endpoint"),
            "Invalid local platform endpoint",
            format!("{endpoint:?} is not an http:// or https:// URL. Use e.g. \"{DEFAULT_LOCAL_ENDPOINT}\"."),
        );
    }
    let state_dir = string_or_env(&block.state_dir, env, "BLUEGREEN_LOCAL_STATE_DIR")
        .unwrap_or_else(|| DEFAULT_LOCAL_STATE_DIR.to_string());
    if state_dir.trim().is_empty() {
        diags.error_at(
            path.then_attr("state_dir"),
            "Empty state_dir",
            "Set a directory path, or remove the argument to use \".bluegreen\".",
        );
    }
    LocalConfig {
        endpoint,
        state_dir: PathBuf::from(state_dir),
        autostart: block.autostart.known().copied().unwrap_or(true),
    }
}

/// The `azure` block through [`settings::resolve`]. With unknown values the
/// block is resolved twice, those values taken as unset and as set to a valid
/// value, and only the problems both report are kept: the others depend on
/// what the unknown values turn out to be. Settings are then not returned.
fn resolve_azure(
    block: &AzureBlockModel,
    env: &dyn Env,
    diags: &mut Diagnostics,
) -> Option<AzureSettings> {
    check_ca_certificate_file(block, diags);
    let written = settings::resolve(&block.to_block(Unknowns::Unset), env);
    if block.unknown_attributes().is_empty() {
        return match written {
            Ok(settings) => Some(settings),
            Err(e) => {
                report(&e.problems, diags);
                None
            }
        };
    }
    let assumed = settings::resolve(&block.to_block(Unknowns::Valid), env);
    let problems = |r: &Result<AzureSettings, settings::SettingsError>| match r {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.clone(),
    };
    let assumed = problems(&assumed);
    let standing: Vec<SettingProblem> = problems(&written)
        .into_iter()
        .filter(|p| assumed.contains(p))
        .collect();
    report(&standing, diags);
    None
}

/// Each problem at its attribute, with its text (which names the variable
/// the attribute falls back to).
fn report(problems: &[SettingProblem], diags: &mut Diagnostics) {
    for problem in problems {
        diags.error_at(
            AttributePath::parse(&problem.attribute),
            "Invalid Azure setting",
            problem.to_string(),
        );
    }
}

/// The gates trust the CA file for HTTPS revision addresses: a missing file,
/// or one that is not PEM, fails here, not at the first release.
fn check_ca_certificate_file(block: &AzureBlockModel, diags: &mut Diagnostics) {
    let Some(file) = block.ca_certificate_file.known().map(PathBuf::from) else {
        return;
    };
    let path = AttributePath::attr("azure").then_attr("ca_certificate_file");
    if !file.is_file() {
        diags.error_at(
            path,
            "CA certificate file not found",
            format!(
                "{} does not exist or is not a file. Point it at a PEM bundle.",
                file.display()
            ),
        );
    } else if let Err(e) = crate::http::trust::Trust::load(Some(&file)) {
        diags.error_at(
            path,
            "CA certificate file not usable",
            format!("{e}. Point it at a PEM bundle of CA certificates."),
        );
    }
}
