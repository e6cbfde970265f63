//! Tokens for Resource Manager: the configured credentials are tried in the
//! settings' order, the first that yields a token is kept for the process,
//! its token is cached until five minutes before expiry, and a 401 from ARM
//! rebuilds it once (a token can be revoked or expire early server-side,
//! while every credential's own cache would hand the same one back).
//!
//! Secrets, tokens and assertions never reach a log line or an error: errors
//! carry the credential kind and the authority's own message only.

use std::ffi::OsString;
use std::io;
use std::process::Output;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential};
use azure_core::http::ClientOptions;
use azure_core::time::{Duration as TimeDuration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    Executor, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::assertion::FederatedToken;
use super::error::AzureError;
use super::managed_identity::ManagedIdentity;
use super::settings::{AzureSettings, CredentialSource};
use super::transport::Transport;

/// Refresh a cached token this long before it expires (what azure_identity does).
const REFRESH_MARGIN_S: i64 = 300;

/// An azure_identity error with its causes: the credential's own message
/// ("ClientSecretCredential authentication failed. non-transport error…")
/// hides what went wrong underneath (a certificate the CA file does not
/// vouch for, a refused secret), which is what a person can act on.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Knobs that are not settings: where the `az` process looks for things.
#[derive(Debug, Clone, Default)]
pub struct CredentialOptions {
    /// Extra environment for the Azure CLI process (e.g. `PATH`).
    pub cli_environment: Vec<(OsString, OsString)>,
}

struct Chosen {
    index: usize,
    credential: Arc<dyn TokenCredential>,
    token: Option<AccessToken>,
}

/// The provider's source of ARM bearer tokens.
pub struct Credentials {
    scope: String,
    authority_host: String,
    sources: Vec<CredentialSource>,
    transport: Arc<Transport>,
    options: CredentialOptions,
    chosen: Mutex<Option<Chosen>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("scope", &self.scope)
            .field(
                "sources",
                &self
                    .sources
                    .iter()
                    .map(CredentialSource::kind)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials for the settings' cloud, over `transport`.
    pub fn new(
        settings: &AzureSettings,
        transport: Arc<Transport>,
        options: CredentialOptions,
    ) -> Credentials {
        Credentials {
            scope: settings.cloud.arm_scope(),
            authority_host: settings.cloud.authority_host.clone(),
            sources: settings.credentials.clone(),
            transport,
            options,
            chosen: Mutex::new(None),
        }
    }

    /// The kind of the credential in use, once one has produced a token.
    pub async fn in_use(&self) -> Option<&'static str> {
        let chosen = self.chosen.lock().await;
        chosen
            .as_ref()
            .and_then(|c| self.sources.get(c.index))
            .map(CredentialSource::kind)
    }

    /// A bearer token for ARM, cached until shortly before it expires.
    pub async fn token(&self, stop: &CancellationToken) -> Result<Secret, AzureError> {
        tokio::select! {
            biased;
            _ = stop.cancelled() => Err(AzureError::Cancelled("getting an Azure token".into())),
            result = self.token_inner() => result,
        }
    }

    /// Forgets the cached token and rebuilds the credential in use, after
    /// ARM refused its token (401); the next [`Credentials::token`] asks anew.
    pub async fn reauthenticate(&self) -> Result<(), AzureError> {
        let mut chosen = self.chosen.lock().await;
        if let Some(c) = chosen.as_mut() {
            let source = &self.sources[c.index];
            c.credential = self.build(source).map_err(|e| {
                AzureError::Auth(format!(
                    "Azure authentication with {} failed: {e}",
                    source.kind()
                ))
            })?;
            c.token = None;
        }
        Ok(())
    }

    async fn token_inner(&self) -> Result<Secret, AzureError> {
        let mut chosen = self.chosen.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(c) = chosen.as_mut() {
            if let Some(t) = &c.token {
                if t.expires_on > now + TimeDuration::seconds(REFRESH_MARGIN_S) {
                    return Ok(t.token.clone());
                }
            }
            let kind = self.sources[c.index].kind();
            let token = c
                .credential
                .get_token(&[self.scope.as_str()], None)
                .await
                .map_err(|e| {
                    AzureError::Auth(format!(
                        "Azure authentication with {kind} failed: {}",
                        with_causes(&e)
                    ))
                })?;
            let secret = token.token.clone();
            c.token = Some(token);
            return Ok(secret);
        }

        let mut tried = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let attempt = match self.build(source) {
                Ok(credential) => credential
                    .get_token(&[self.scope.as_str()], None)
                    .await
                    .map(|token| (credential, token)),
                Err(e) => Err(e),
            };
            match attempt {
                Ok((credential, token)) => {
                    tracing::debug!(credential = source.kind(), "azure credential chosen");
                    let secret = token.token.clone();
                    *chosen = Some(Chosen {
                        index,
                        credential,
                        token: Some(token),
                    });
                    return Ok(secret);
                }
                Err(e) => {
                    tracing::debug!(credential = source.kind(), error = %e, "azure credential failed");
                    tried.push(format!(
                        "{}. {}: {}",
                        tried.len() + 1,
                        source.kind(),
                        with_causes(&e)
                    ));
                }
            }
        }
        Err(AzureError::Auth(if tried.is_empty() {
            "No Azure credential is configured: set client_id + client_secret + tenant_id, use_oidc, use_msi, or use_cli (see the provider's azure block).".to_string()
        } else {
            format!(
                "No Azure credential produced a token. Tried, in order: {}",
                tried.join("; ")
            )
        }))
    }

    fn client_options(&self) -> ClientOptions {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = self.authority_host.clone();
        ClientOptions {
            transport: Some(azure_core::http::Transport::new(self.transport.clone())),
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            ..ClientOptions::default()
        }
    }

    fn build(&self, source: &CredentialSource) -> azure_core::Result<Arc<dyn TokenCredential>> {
        Ok(match source {
            CredentialSource::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            } => ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                Secret::new(client_secret.expose().to_string()),
                Some(ClientSecretCredentialOptions {
                    client_options: self.client_options(),
                }),
            )?,
            CredentialSource::ClientAssertion {
                tenant_id,
                client_id,
                assertion,
            } => ClientAssertionCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                FederatedToken::new(assertion.clone(), self.transport.clone()),
                Some(ClientAssertionCredentialOptions {
                    client_options: self.client_options(),
                }),
            )?,
            CredentialSource::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: self.client_options(),
                },
                client_id: Some(client_id.clone()),
                tenant_id: Some(tenant_id.clone()),
                token_file_path: Some(token_file.clone()),
            }))?,
            CredentialSource::ManagedIdentity {
                client_id,
                endpoint,
            } => Arc::new(ManagedIdentity::new(
                endpoint.clone(),
                client_id.clone(),
                self.transport.clone(),
            )),
            CredentialSource::AzureCli { tenant_id } => {
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: tenant_id.clone(),
                    executor: Some(Arc::new(CliExecutor {
                        environment: self.options.cli_environment.clone(),
                    })),
                    ..AzureCliCredentialOptions::default()
                }))?
            }
        })
    }
}

/// Runs the Azure CLI on tokio, with the extra environment the options give.
#[derive(Debug)]
struct CliExecutor {
    environment: Vec<(OsString, OsString)>,
}

#[async_trait::async_trait]
impl Executor for CliExecutor {
    async fn run(
        &self,
        program: &std::ffi::OsStr,
        args: &[&std::ffi::OsStr],
    ) -> io::Result<Output> {
        tokio::process::Command::new(program)
            .args(args)
            .envs(self.environment.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .output()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::error::{Error as CoreError, ErrorKind};

    #[test]
    fn an_error_is_shown_with_what_caused_it() {
        let cause = CoreError::with_message(
            ErrorKind::Other,
            "the certificate of arm.example is not trusted",
        );
        let outer = CoreError::with_error(ErrorKind::Credential, cause, "authentication failed");
        let shown = with_causes(&outer);
        assert!(
            shown.starts_with("authentication failed")
                && shown.contains("the certificate of arm.example is not trusted"),
            "{shown}"
        );
    }
}
