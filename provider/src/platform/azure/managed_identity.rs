//! Managed identity tokens from the endpoint the settings name (IMDS or App
//! Service shape). Written on azure_core's primitives because azure_identity
//! 1.x's ManagedIdentityCredential finds its endpoint only through process
//! environment variables and cannot be pointed at `msi_endpoint`.

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::http::{HttpClient, Method, Request, Url};
use azure_core::time::{Duration as TimeDuration, OffsetDateTime};
use serde::Deserialize;

use super::settings::ManagedIdentityEndpoint;
use super::transport::Transport;

/// A managed identity token source.
#[derive(Debug)]
pub struct ManagedIdentity {
    endpoint: ManagedIdentityEndpoint,
    client_id: Option<String>,
    transport: Arc<Transport>,
}

impl ManagedIdentity {
    /// Tokens from `endpoint`, for the user-assigned identity `client_id` if set.
    pub fn new(
        endpoint: ManagedIdentityEndpoint,
        client_id: Option<String>,
        transport: Arc<Transport>,
    ) -> ManagedIdentity {
        ManagedIdentity {
            endpoint,
            client_id,
            transport,
        }
    }
}

/// Both endpoint shapes answer these; numbers come as strings or numbers.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_on: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
}

fn seconds(value: &Option<serde_json::Value>) -> Option<i64> {
    match value.as_ref()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn credential_error(message: String) -> CoreError {
    CoreError::with_message(ErrorKind::Credential, message)
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentity {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let resource = scopes
            .first()
            .map(|s| s.trim_end_matches("/.default"))
            .ok_or_else(|| credential_error("no scope asked for".into()))?;
        let (base, api_version) = match &self.endpoint {
            ManagedIdentityEndpoint::Imds(url) => (url, "2018-02-01"),
            ManagedIdentityEndpoint::AppService { endpoint, .. } => (endpoint, "2019-08-01"),
        };
        let mut url = Url::parse(base)
            .map_err(|e| credential_error(format!("managed identity endpoint {base:?}: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("api-version", api_version);
            query.append_pair("resource", resource);
            if let Some(id) = &self.client_id {
                query.append_pair("client_id", id);
            }
        }
        let mut request = Request::new(url, Method::Get);
        match &self.endpoint {
            ManagedIdentityEndpoint::Imds(_) => request.insert_header("metadata", "true"),
            ManagedIdentityEndpoint::AppService { header, .. } => {
                request.insert_header("x-identity-header", header.expose().to_string())
            }
        }
        let response = self.transport.execute_request(&request).await?;
        let status = u16::from(response.status());
        let body = response.into_body().collect().await?;
        if status != 200 {
            let detail = String::from_utf8_lossy(&body);
            return Err(credential_error(format!(
                "managed identity endpoint {base} answered {status}: {}",
                detail.chars().take(300).collect::<String>()
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            credential_error(format!(
                "managed identity endpoint {base} answered no token JSON ({e})"
            ))
        })?;
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                credential_error(format!(
                    "managed identity endpoint {base} answered no access_token"
                ))
            })?;
        let now = OffsetDateTime::now_utc();
        let expires_on = match (seconds(&answer.expires_on), seconds(&answer.expires_in)) {
            (Some(at), _) => OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
            (None, Some(within)) => now + TimeDuration::seconds(within),
            // Unknown lifetime: treat as short so it is fetched again soon.
            (None, None) => now + TimeDuration::seconds(60),
        };
        Ok(AccessToken::new(token, expires_on))
    }
}
