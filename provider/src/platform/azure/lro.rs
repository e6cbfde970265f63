//! Long-running ARM operations: a write answered 201/202 is followed to its
//! end through `Azure-AsyncOperation` (a status document) or, when only that
//! is given, `Location` (202 until done, then the result or the error). Both
//! occur: Container Apps' PATCH gives only `Location`, Front Door both.
//! Polls are at least `min_poll_interval` (1 s) apart, or as far apart as
//! `Retry-After` asks, and end at once when the engine is stopped.

use std::time::Instant;

use azure_core::http::{Method, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::client::{arm_error, ArmClient, ArmResponse};
use super::error::{ArmError, AzureError};
use super::resource_id::ResourceId;
use super::wait::{pause, retry_after};

/// An `Azure-AsyncOperation` status document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled` (or a provider's own running state).
    #[serde(default)]
    pub status: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<OperationError>,
}

/// The error of a failed operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OperationError {
    /// ARM error code.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
}

fn header_url(answer: &ArmResponse, name: &'static str) -> Result<Option<Url>, AzureError> {
    match answer.header(name) {
        None => Ok(None),
        Some(raw) => Url::parse(raw).map(Some).map_err(|e| AzureError::Decode {
            method: answer.method.as_str().to_string(),
            path: answer.path.clone(),
            message: format!("{name} header {raw:?} is not a URL: {e}"),
            request_id: answer.request_id().map(str::to_string),
        }),
    }
}

/// Follows the operation `accepted` started. Answers the resource as it is
/// afterwards (a GET of `resource`) when `resource` is given and the write
/// was long-running; `None` when the first answer was already final.
pub async fn wait(
    client: &ArmClient,
    accepted: &ArmResponse,
    resource: Option<&Url>,
    stop: &CancellationToken,
) -> Result<Option<ArmResponse>, AzureError> {
    let async_operation = header_url(accepted, "azure-asyncoperation")?;
    let location = header_url(accepted, "location")?;
    if accepted.status != 201 && accepted.status != 202 {
        return Ok(None);
    }
    let started = Instant::now();
    let mut delay = retry_after(&accepted.headers);
    let what = format!("{} {}", accepted.method.as_str(), accepted.path);
    match (async_operation, location) {
        (Some(status_url), _) => {
            loop {
                wait_turn(client, &mut delay, started, &what, stop).await?;
                let answer = client
                    .send(Method::Get, status_url.clone(), None, stop)
                    .await?;
                let status: OperationStatus = answer.json()?;
                let state = status.status.clone().unwrap_or_default();
                match state.to_ascii_lowercase().as_str() {
                    "succeeded" => break,
                    "failed" | "canceled" | "cancelled" => {
                        let error = status.error.unwrap_or_default();
                        return Err(AzureError::OperationFailed {
                            status: state,
                            error: Box::new(ArmError {
                                method: accepted.method.as_str().to_string(),
                                path: accepted.path.clone(),
                                status: answer.status,
                                code: error.code.unwrap_or_else(|| "OperationFailed".into()),
                                message: error.message.unwrap_or_default(),
                                request_id: answer.request_id().map(str::to_string),
                                correlation_id: answer.correlation_id().map(str::to_string),
                            }),
                        });
                    }
                    _ => delay = retry_after(&answer.headers),
                }
            }
            match resource {
                Some(url) => Ok(Some(
                    client.send(Method::Get, url.clone(), None, stop).await?,
                )),
                None => Ok(None),
            }
        }
        (None, Some(location_url)) => loop {
            wait_turn(client, &mut delay, started, &what, stop).await?;
            let answer = match client
                .send(Method::Get, location_url.clone(), None, stop)
                .await
            {
                Ok(a) => a,
                // The Location flavour reports a failed operation as the error
                // itself; it is the write's failure (the request id stays the
                // answer's that reported it).
                Err(AzureError::Arm(error)) => {
                    return Err(AzureError::OperationFailed {
                        status: "Failed".into(),
                        error: of_the_write(error, accepted),
                    })
                }
                Err(e) => return Err(e),
            };
            if answer.status == 202 {
                delay = retry_after(&answer.headers);
                continue;
            }
            if answer.status >= 300 {
                return Err(AzureError::OperationFailed {
                    status: "Failed".into(),
                    error: of_the_write(Box::new(arm_error(&answer)), accepted),
                });
            }
            // Its final answer is the resource itself (Container Apps): no GET needed.
            if resource.is_some() && answer.status == 200 && carries_resource(&answer) {
                return Ok(Some(answer));
            }
            return match resource {
                Some(url) => Ok(Some(
                    client.send(Method::Get, url.clone(), None, stop).await?,
                )),
                None => Ok(None),
            };
        },
        // Accepted with nothing to follow: the resource's own state tells.
        (None, None) => match resource {
            Some(url) => Ok(Some(
                client.send(Method::Get, url.clone(), None, stop).await?,
            )),
            None => Ok(None),
        },
    }
}

/// An operation's error told as the failure of the write that started it
/// (`PATCH …/containerApps/orders`, not the poll URL nobody wrote).
fn of_the_write(mut error: Box<ArmError>, accepted: &ArmResponse) -> Box<ArmError> {
    error.method = accepted.method.as_str().to_string();
    error.path = accepted.path.clone();
    error
}

/// Whether an answer is a resource document (an object with an `id`).
fn carries_resource(answer: &ArmResponse) -> bool {
    serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .is_some_and(|v| v.get("id").is_some_and(serde_json::Value::is_string))
}

/// Waits before the next poll: `Retry-After` if given, never less than the
/// minimum interval, and never past the operation timeout.
async fn wait_turn(
    client: &ArmClient,
    asked: &mut Option<std::time::Duration>,
    started: Instant,
    what: &str,
    stop: &CancellationToken,
) -> Result<(), AzureError> {
    let options = client.options();
    let delay = asked
        .take()
        .unwrap_or(options.min_poll_interval)
        .max(options.min_poll_interval);
    if started.elapsed() + delay > options.operation_timeout {
        return Err(AzureError::Timeout {
            what: format!("{what} to finish"),
            seconds: options.operation_timeout.as_secs(),
        });
    }
    pause(delay, stop, &format!("waiting for {what} to finish")).await
}

/// Writes waited out to their end: here rather than in client.rs, so the
/// client does not import the module that polls through it.
impl ArmClient {
    /// PATCH of a resource, waited out to its end; answers the resource after it.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: &B,
        stop: &CancellationToken,
    ) -> Result<T, AzureError> {
        self.write(Method::Patch, id, api_version, body, stop).await
    }

    /// PUT of a resource, waited out to its end; answers the resource after it.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: &B,
        stop: &CancellationToken,
    ) -> Result<T, AzureError> {
        self.write(Method::Put, id, api_version, body, stop).await
    }

    /// DELETE of a resource, waited out to its end; a resource already gone is fine.
    pub async fn delete(
        &self,
        id: &ResourceId,
        api_version: &str,
        stop: &CancellationToken,
    ) -> Result<(), AzureError> {
        let url = self.url(id.as_str(), api_version)?;
        match self.send(Method::Delete, url, None, stop).await {
            Ok(accepted) => wait(self, &accepted, None, stop).await.map(|_| ()),
            Err(AzureError::Arm(e)) if e.status == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        id: &ResourceId,
        api_version: &str,
        body: &B,
        stop: &CancellationToken,
    ) -> Result<T, AzureError> {
        let url = self.url(id.as_str(), api_version)?;
        let bytes = serde_json::to_vec(body).map_err(|e| AzureError::Decode {
            method: method.as_str().to_string(),
            path: url.path().to_string(),
            message: format!("cannot serialize the request body: {e}"),
            request_id: None,
        })?;
        let accepted = self.send(method, url.clone(), Some(bytes), stop).await?;
        let done = wait(self, &accepted, Some(&url), stop).await?;
        match done {
            Some(resource) => resource.json(),
            None => accepted.json(),
        }
    }
}
