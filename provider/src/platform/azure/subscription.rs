//! The subscription when neither `subscription_id` nor `ARM_SUBSCRIPTION_ID`
//! names one and the Azure CLI credential is configured: the CLI's current
//! subscription, from `az account show`, as azurerm takes it.

use std::ffi::OsString;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::error::AzureError;

/// Longest wait for `az account show` (the CLI starts Python: seconds).
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// What to do when the CLI gives no subscription.
const FIX: &str = "set subscription_id in the provider's azure block or ARM_SUBSCRIPTION_ID, or log the Azure CLI in (`az login`, then `az account set --subscription <id>`)";

#[derive(Deserialize)]
struct Account {
    id: Option<String>,
}

/// The Azure CLI's current subscription id. `environment` is added to the
/// CLI's environment (the credential options' `PATH`, as for its tokens).
pub async fn from_azure_cli(
    environment: &[(OsString, OsString)],
    stop: &CancellationToken,
) -> Result<String, AzureError> {
    let problem = |why: String| {
        AzureError::Settings(format!(
            "azure.subscription_id is not set and the Azure CLI gives no subscription ({why}): {FIX}."
        ))
    };
    // Through the shell, as azure_identity runs `az` for tokens: `az` is often a script.
    let run = tokio::process::Command::new("/bin/sh")
        .args(["-c", "az account show --output json"])
        .envs(environment.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true)
        .output();
    let output = tokio::select! {
        biased;
        _ = stop.cancelled() => return Err(AzureError::Cancelled("asking the Azure CLI for its subscription".into())),
        done = tokio::time::timeout(CLI_TIMEOUT, run) => match done {
            Err(_) => return Err(problem(format!("`az account show` did not answer within {} s", CLI_TIMEOUT.as_secs()))),
            Ok(Err(e)) => return Err(problem(format!("cannot run `az account show`: {e}"))),
            Ok(Ok(output)) => output,
        },
    };
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.trim();
        let said = if said.is_empty() {
            format!("exit status {}", output.status)
        } else {
            said.chars().take(300).collect()
        };
        return Err(problem(format!("`az account show` failed: {said}")));
    }
    let account: Account = serde_json::from_slice(&output.stdout)
        .map_err(|e| problem(format!("`az account show` did not print an account: {e}")))?;
    account
        .id
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| problem("`az account show` printed no id".into()))
}
