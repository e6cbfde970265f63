//! The ARM client: bearer tokens, one correlation id per logical call,
//! retries of 408/429/500/502/503/504 honouring `Retry-After`, one re-auth
//! after a 401, long-running writes followed to their end (lro.rs, which adds
//! the waited PATCH/PUT/DELETE to this client), and
//! every failure carrying the ARM code and request ids.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::headers::Headers;
use azure_core::http::{HttpClient, Method, Request, Url};
use azure_core::Uuid;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::auth::{CredentialOptions, Credentials};
use super::error::{is_retryable_status, parse_error_body, ArmError, AzureError};
use super::models::List;
use super::resource_id::ResourceId;
use super::settings::{AzureSettings, SubscriptionSource};
use super::subscription;
use super::transport::{is_transient, Transport};
use super::wait::{pause, retry_after};

/// Most pages [`ArmClient::list_all`] follows: a list that goes on longer is
/// an error rather than an endless walk (ARM pages hold 100 to 1,000 items).
pub const MAX_LIST_PAGES: usize = 100;

/// Retry and polling behaviour.
#[derive(Debug, Clone)]
pub struct ArmOptions {
    /// Retries of a request after a retryable status or a network error.
    pub max_retries: u32,
    /// First backoff when the answer gives no `Retry-After`; doubles per retry.
    pub backoff: Duration,
    /// Longest backoff without `Retry-After`.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited out: the error is returned.
    pub max_retry_after: Duration,
    /// Shortest interval between polls of a long-running operation (ARM asks ≥ 1 s).
    pub min_poll_interval: Duration,
    /// Longest wait for a long-running operation.
    pub operation_timeout: Duration,
    /// Bound on one HTTP exchange.
    pub request_timeout: Duration,
}

impl Default for ArmOptions {
    fn default() -> Self {
        ArmOptions {
            max_retries: 5,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            min_poll_interval: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(30 * 60),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    /// Method of the request.
    pub method: Method,
    /// Path of the request (no query).
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

impl ArmResponse {
    /// A header's value.
    pub fn header(&self, name: &'static str) -> Option<&str> {
        self.headers.get_optional_str(&name.into())
    }

    /// `x-ms-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-ms-request-id")
    }

    /// `x-ms-correlation-request-id`.
    pub fn correlation_id(&self) -> Option<&str> {
        self.header("x-ms-correlation-request-id")
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, AzureError> {
        serde_json::from_slice(&self.body).map_err(|e| AzureError::Decode {
            method: self.method.as_str().to_string(),
            path: self.path.clone(),
            message: e.to_string(),
            request_id: self.request_id().map(str::to_string),
        })
    }
}

/// Client of one cloud's Resource Manager for one subscription.
#[derive(Debug, Clone)]
pub struct ArmClient {
    endpoint: Url,
    subscription: SubscriptionSource,
    /// The Azure CLI's subscription once asked (for [`SubscriptionSource::AzureCli`]).
    cli_subscription: Arc<tokio::sync::OnceCell<String>>,
    cli_environment: Vec<(OsString, OsString)>,
    credentials: Arc<Credentials>,
    transport: Arc<Transport>,
    options: ArmOptions,
}

impl ArmClient {
    /// A client for the settings' cloud and subscription.
    pub fn new(
        settings: &AzureSettings,
        options: ArmOptions,
        credential_options: CredentialOptions,
    ) -> Result<ArmClient, AzureError> {
        let endpoint = Url::parse(&settings.cloud.resource_manager_endpoint).map_err(|e| {
            AzureError::Transport(format!(
                "azure.resource_manager_endpoint {:?} is not a URL: {e}",
                settings.cloud.resource_manager_endpoint
            ))
        })?;
        let transport = Arc::new(
            Transport::new(
                settings.ca_certificate_file.as_deref(),
                options.request_timeout,
            )
            .map_err(|e| AzureError::Settings(e.to_string()))?,
        );
        let cli_environment = credential_options.cli_environment.clone();
        let credentials = Arc::new(Credentials::new(
            settings,
            transport.clone(),
            credential_options,
        ));
        Ok(ArmClient {
            endpoint,
            subscription: settings.subscription_id.clone(),
            cli_subscription: Arc::new(tokio::sync::OnceCell::new()),
            cli_environment,
            credentials,
            transport,
            options,
        })
    }

    /// The subscription the client works in: the one given, or the Azure
    /// CLI's current one (`az account show`, asked once).
    pub async fn subscription(&self, stop: &CancellationToken) -> Result<&str, AzureError> {
        match &self.subscription {
            SubscriptionSource::Given(id) => Ok(id),
            SubscriptionSource::AzureCli => self
                .cli_subscription
                .get_or_try_init(|| subscription::from_azure_cli(&self.cli_environment, stop))
                .await
                .map(String::as_str),
        }
    }

    /// The credentials in use (to report which one authenticated).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The retry and polling options.
    pub fn options(&self) -> &ArmOptions {
        &self.options
    }

    /// `{endpoint}{path}?api-version=…` for a resource path such as an id.
    pub fn url(&self, path: &str, api_version: &str) -> Result<Url, AzureError> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|e| AzureError::Transport(format!("cannot make a URL of {path:?}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// GET of a resource as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        id: &ResourceId,
        api_version: &str,
        stop: &CancellationToken,
    ) -> Result<T, AzureError> {
        let url = self.url(id.as_str(), api_version)?;
        self.send(Method::Get, url, None, stop).await?.json()
    }

    /// GET of any ARM path with extra query parameters (lists, metrics).
    pub async fn get_path<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        query: &[(&str, &str)],
        stop: &CancellationToken,
    ) -> Result<T, AzureError> {
        let mut url = self.url(path, api_version)?;
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        self.send(Method::Get, url, None, stop).await?.json()
    }

    /// Every item of a list at `path`, following `nextLink` page after page
    /// (at most [`MAX_LIST_PAGES`]).
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        query: &[(&str, &str)],
        stop: &CancellationToken,
    ) -> Result<Vec<T>, AzureError> {
        self.list_all_bounded(path, api_version, query, MAX_LIST_PAGES, stop)
            .await
    }

    /// [`ArmClient::list_all`] reading at most `max_pages` pages; a list with
    /// more is an error naming the bound.
    pub async fn list_all_bounded<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        query: &[(&str, &str)],
        max_pages: usize,
        stop: &CancellationToken,
    ) -> Result<Vec<T>, AzureError> {
        let mut url = self.url(path, api_version)?;
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let mut items = Vec::new();
        for _ in 0..max_pages {
            let page: List<T> = self.send(Method::Get, url, None, stop).await?.json()?;
            items.extend(page.value);
            let Some(link) = page.next_link.filter(|l| !l.trim().is_empty()) else {
                return Ok(items);
            };
            // ARM's links are absolute; a relative one is taken from the endpoint.
            // `send` refuses a link to another host, which would get our token.
            url = Url::parse(&link)
                .or_else(|_| self.endpoint.join(&link))
                .map_err(|e| AzureError::Decode {
                    method: "GET".into(),
                    path: path.to_string(),
                    message: format!("nextLink {link:?} is not a URL: {e}"),
                    request_id: None,
                })?;
        }
        Err(AzureError::Decode {
            method: "GET".into(),
            path: path.to_string(),
            message: format!(
                "the list goes on past {max_pages} pages of nextLink; this provider reads at most that many"
            ),
            request_id: None,
        })
    }

    /// Whether `url` is on the Resource Manager host, where the token may go.
    pub fn is_arm_url(&self, url: &Url) -> bool {
        url.scheme() == self.endpoint.scheme()
            && url.host_str() == self.endpoint.host_str()
            && url.port_or_known_default() == self.endpoint.port_or_known_default()
    }

    /// One logical request: authenticated, retried, and checked. Non-2xx
    /// answers become [`AzureError::Arm`].
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        stop: &CancellationToken,
    ) -> Result<ArmResponse, AzureError> {
        if !self.is_arm_url(&url) {
            // Never hand the bearer token to another host (a poll URL could name one).
            return Err(AzureError::Transport(format!(
                "refusing to send an ARM token to {}: it is not the Resource Manager endpoint {}",
                url.host_str().unwrap_or("?"),
                self.endpoint
            )));
        }
        let correlation = Uuid::new_v4().to_string();
        let path = url.path().to_string();
        let what = format!("{} {path}", method.as_str());
        let mut retries = 0u32;
        let mut reauthenticated = false;
        loop {
            let token = self.credentials.token(stop).await?;
            let mut request = Request::new(url.clone(), method);
            request.insert_header("accept", "application/json");
            request.insert_header("x-ms-correlation-request-id", correlation.clone());
            request.insert_header(
                "user-agent",
                format!("terraform-provider-bluegreen/{}", crate::VERSION),
            );
            request.insert_header("authorization", format!("Bearer {}", token.secret()));
            if let Some(b) = &body {
                request.insert_header("content-type", "application/json");
                request.set_body(b.clone());
            }
            let sent = tokio::select! {
                biased;
                _ = stop.cancelled() => return Err(AzureError::Cancelled(format!("waiting for {what}"))),
                r = self.transport.execute_request(&request) => r,
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    if retries < self.options.max_retries && is_transient(&e) {
                        let delay = self.backoff(retries);
                        tracing::debug!(request = %what, error = %e, delay_ms = delay.as_millis() as u64, "azure request failed, retrying");
                        pause(delay, stop, &format!("waiting to retry {what}")).await?;
                        retries += 1;
                        continue;
                    }
                    return Err(AzureError::Transport(format!("{what}: {e}")));
                }
            };
            let (status, headers, body_stream) = response.deconstruct();
            let status = u16::from(status);
            let bytes = body_stream
                .collect()
                .await
                .map_err(|e| AzureError::Transport(format!("{what}: reading the answer: {e}")))?;
            let answer = ArmResponse {
                method,
                path: path.clone(),
                status,
                headers,
                body: bytes,
            };
            if (200..300).contains(&status) {
                return Ok(answer);
            }
            let error = arm_error(&answer);
            if status == 401 && !reauthenticated {
                tracing::debug!(request = %what, code = %error.code, "azure token refused, authenticating again");
                self.credentials.reauthenticate().await?;
                reauthenticated = true;
                continue;
            }
            if is_retryable_status(status) && retries < self.options.max_retries {
                let asked = retry_after(&answer.headers);
                let delay = asked.unwrap_or_else(|| self.backoff(retries));
                if delay > self.options.max_retry_after {
                    return Err(AzureError::Arm(Box::new(ArmError {
                        message: format!(
                            "{} (Azure asked to retry after {} s, longer than the {} s this provider waits)",
                            error.message,
                            delay.as_secs(),
                            self.options.max_retry_after.as_secs()
                        ),
                        ..error
                    })));
                }
                tracing::debug!(request = %what, status, code = %error.code, delay_ms = delay.as_millis() as u64, "azure asked to retry");
                pause(
                    delay,
                    stop,
                    &format!("waiting to retry {what} ({} {})", status, error.code),
                )
                .await?;
                retries += 1;
                continue;
            }
            return Err(AzureError::Arm(Box::new(error)));
        }
    }

    fn backoff(&self, retries: u32) -> Duration {
        let factor = 2u32.saturating_pow(retries.min(16));
        self.options
            .backoff
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }
}

/// The ARM error an answer carries (its status when the body says nothing).
pub fn arm_error(answer: &ArmResponse) -> ArmError {
    let (code, message) = parse_error_body(&answer.body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&answer.body);
        (
            format!("HTTP{}", answer.status),
            text.chars().take(300).collect::<String>(),
        )
    });
    ArmError {
        method: answer.method.as_str().to_string(),
        path: answer.path.clone(),
        status: answer.status,
        code,
        message,
        request_id: answer.request_id().map(str::to_string),
        correlation_id: answer.correlation_id().map(str::to_string),
    }
}
