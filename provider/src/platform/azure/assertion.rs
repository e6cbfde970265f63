//! Federated tokens (OIDC) handed to Microsoft Entra as client assertions:
//! one given directly, or fetched from GitHub Actions' token service before
//! each token request (its tokens live minutes, so they are never kept).

use std::sync::Arc;

use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::http::{ClientMethodOptions, HttpClient, Method, Request, Url};
use azure_identity::ClientAssertion;
use serde::Deserialize;

use super::settings::{AssertionSource, FEDERATED_AUDIENCE};
use super::transport::Transport;

/// A client assertion from a configured [`AssertionSource`].
#[derive(Debug)]
pub struct FederatedToken {
    source: AssertionSource,
    transport: Arc<Transport>,
}

impl FederatedToken {
    /// An assertion read from `source`, fetched over `transport` when remote.
    pub fn new(source: AssertionSource, transport: Arc<Transport>) -> FederatedToken {
        FederatedToken { source, transport }
    }
}

#[derive(Deserialize)]
struct GitHubAnswer {
    value: Option<String>,
}

fn credential_error(message: String) -> CoreError {
    CoreError::with_message(ErrorKind::Credential, message)
}

#[async_trait::async_trait]
impl ClientAssertion for FederatedToken {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let (request_url, request_token) = match &self.source {
            AssertionSource::Token(token) => return Ok(token.expose().to_string()),
            AssertionSource::GitHubActions {
                request_url,
                request_token,
            } => (request_url, request_token),
        };
        let mut url = Url::parse(request_url)
            .map_err(|e| credential_error(format!("oidc_request_url is not a URL ({e})")))?;
        url.query_pairs_mut()
            .append_pair("audience", FEDERATED_AUDIENCE);
        let mut request = Request::new(url, Method::Get);
        request.insert_header("accept", "application/json");
        request.insert_header(
            "authorization",
            format!("Bearer {}", request_token.expose()),
        );
        let response = self.transport.execute_request(&request).await?;
        let status = u16::from(response.status());
        let body = response.into_body().collect().await?;
        if status != 200 {
            return Err(credential_error(format!(
                "the OIDC token request (oidc_request_url) answered {status}; in GitHub Actions the job needs `permissions: id-token: write`"
            )));
        }
        let answer: GitHubAnswer = serde_json::from_slice(&body).map_err(|e| {
            credential_error(format!(
                "the OIDC token request (oidc_request_url) answered something other than {{\"value\": …}} ({e})"
            ))
        })?;
        answer
            .value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| credential_error("the OIDC token request answered no token".into()))
    }
}
