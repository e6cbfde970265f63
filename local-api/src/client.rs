//! Typed async client of the admin API, used by the provider and the CLI.

use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::http::{header, Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{
    AuditEntry, AuditList, BreakLockRequest, BrokenLock, Color, ColorStatus, DaemonHealth,
    DaemonStopRequest, DaemonStopped, DeployRequest, EnvironmentList, EnvironmentSpec,
    EnvironmentStatus, ErrorBody, LockInfo, LockRequest, LockState, MetricsSummary, ProcessStatus,
    Release, ReleaseEvent, ReleaseList, Routing, RoutingUpdate, StopRequest,
};

/// Default endpoint of the daemon.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:7480";

/// Errors of admin API calls; daemon messages are kept verbatim.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the endpoint.
    #[error("bluegreen-local is not reachable at {endpoint} ({reason}): start it with `bluegreen-local serve --state-dir DIR`, or point BLUEGREEN_LOCAL_ENDPOINT at it")]
    Unreachable {
        /// Endpoint tried.
        endpoint: String,
        /// Connection error.
        reason: String,
    },
    /// The token is missing or wrong.
    #[error("bluegreen-local at {endpoint} refused the request: {message}")]
    Unauthorized {
        /// Endpoint.
        endpoint: String,
        /// Daemon message.
        message: String,
    },
    /// The environment is locked by someone else.
    #[error("{message}")]
    Locked {
        /// Lock holder.
        owner: String,
        /// Held since (RFC 3339).
        since: String,
        /// Lapses at (RFC 3339).
        expires_at: String,
        /// Seconds until it lapses unless renewed (absent from older daemons).
        expires_in_secs: Option<u64>,
        /// Daemon message.
        message: String,
    },
    /// The environment (or endpoint) does not exist.
    #[error("{message}")]
    NotFound {
        /// Daemon message.
        message: String,
    },
    /// Conflict with the current state (live colour, not running, lock not held…).
    #[error("{message}")]
    Conflict {
        /// Daemon message.
        message: String,
    },
    /// A routing write named an `if_revision` that is no longer current
    /// (code `stale_revision`): read the routing again and decide again.
    #[error("{message}")]
    StaleRevision {
        /// Daemon message.
        message: String,
    },
    /// A front door could not bind its `listen` address.
    #[error("{message}")]
    ListenFailed {
        /// Daemon message, naming the address and the reason.
        message: String,
    },
    /// The request was invalid (400) or could not be carried out (422).
    #[error("{message}")]
    Invalid {
        /// Daemon message.
        message: String,
    },
    /// Any other error answer.
    #[error("bluegreen-local answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Daemon error code.
        code: String,
        /// Daemon message.
        message: String,
    },
    /// The connection failed mid-request.
    #[error("request to bluegreen-local at {endpoint} failed: {reason}")]
    Transport {
        /// Endpoint.
        endpoint: String,
        /// Error.
        reason: String,
    },
    /// No answer in time.
    #[error("bluegreen-local at {endpoint} did not answer within {timeout:?}")]
    Timeout {
        /// Endpoint.
        endpoint: String,
        /// Limit.
        timeout: Duration,
    },
    /// The answer is not what the API documents.
    #[error("unexpected answer from bluegreen-local at {endpoint}: {reason}")]
    InvalidResponse {
        /// Endpoint.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// The endpoint is not an `http://` URL.
    #[error("invalid bluegreen-local endpoint {0:?}: expected http://HOST:PORT")]
    InvalidEndpoint(String),
    /// A wait ended with the colour in a bad state.
    #[error("colour {color} of environment {environment} is {status} ({detail})")]
    NotReady {
        /// Environment.
        environment: String,
        /// Colour.
        color: Color,
        /// Its status.
        status: ProcessStatus,
        /// Last exit or timeout detail.
        detail: String,
    },
}

/// Client of one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: String,
    token: Option<String>,
    timeout: Duration,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client of the daemon at `endpoint` (e.g. `http://127.0.0.1:7480`).
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Self, ClientError> {
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        let rest = endpoint
            .strip_prefix("http://")
            .filter(|r| !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| ClientError::InvalidEndpoint(endpoint.clone()))?;
        let _: hyper::http::uri::Authority = rest
            .parse()
            .map_err(|_| ClientError::InvalidEndpoint(endpoint.clone()))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Ok(Self {
            endpoint,
            token,
            // Stops wait for drains (default 30 s) plus the SIGKILL grace.
            timeout: Duration::from_secs(120),
            // Idle connections are dropped before the daemon's admin idle timeout (60 s)
            // would close them under a request.
            http: HttpClient::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        })
    }

    /// A client whose token is read from `state_dir/token`.
    pub fn from_state_dir(endpoint: &str, state_dir: &Path) -> Result<Self, ClientError> {
        let token = crate::token::read_token(state_dir).map_err(|e| ClientError::Unauthorized {
            endpoint: endpoint.to_owned(),
            message: format!("{e}; is --state-dir the daemon's state directory?"),
        })?;
        Self::new(endpoint, Some(token))
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let uri = format!("{}{path}", self.endpoint);
        let mut builder = Request::builder().method(method).uri(&uri);
        if let Some(t) = &self.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let req = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::InvalidEndpoint(format!("{uri}: {e}")))?;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                if e.is_connect() {
                    ClientError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        reason: root_cause(&e),
                    }
                } else {
                    ClientError::Transport {
                        endpoint: self.endpoint.clone(),
                        reason: root_cause(&e),
                    }
                }
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Transport {
                    endpoint: self.endpoint.clone(),
                    reason: e.to_string(),
                })?
                .to_bytes();
            Ok::<_, ClientError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                endpoint: self.endpoint.clone(),
                timeout: self.timeout,
            })??;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes).map_err(|e| ClientError::InvalidResponse {
                endpoint: self.endpoint.clone(),
                reason: format!("{e} in answer to {path}"),
            });
        }
        Err(self.error(status, &bytes))
    }

    fn error(&self, status: StatusCode, bytes: &[u8]) -> ClientError {
        let body: ErrorBody = match serde_json::from_slice(bytes) {
            Ok(b) => b,
            Err(_) => {
                return ClientError::Api {
                    status: status.as_u16(),
                    code: String::new(),
                    message: String::from_utf8_lossy(bytes).trim().to_owned(),
                }
            }
        };
        match (status, body.error.as_str()) {
            (StatusCode::UNAUTHORIZED, _) => ClientError::Unauthorized {
                endpoint: self.endpoint.clone(),
                message: body.message,
            },
            (_, "locked") => ClientError::Locked {
                owner: body.locked_by.unwrap_or_default(),
                since: body.since.unwrap_or_default(),
                expires_at: body.expires_at.unwrap_or_default(),
                expires_in_secs: body.expires_in_secs,
                message: body.message,
            },
            (_, "stale_revision") => ClientError::StaleRevision {
                message: body.message,
            },
            (_, "listen_failed") => ClientError::ListenFailed {
                message: body.message,
            },
            (StatusCode::NOT_FOUND, _) => ClientError::NotFound {
                message: body.message,
            },
            (StatusCode::CONFLICT, _) => ClientError::Conflict {
                message: body.message,
            },
            (StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY, _) => {
                ClientError::Invalid {
                    message: body.message,
                }
            }
            _ => ClientError::Api {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            },
        }
    }

    fn json<B: Serialize>(body: &B) -> Option<Vec<u8>> {
        // Serialising the API's own types cannot fail.
        serde_json::to_vec(body).ok()
    }

    fn env_path(name: &str) -> String {
        format!("/v1/environments/{}", encode(name))
    }

    /// `GET /v1/health` (no token needed): is a daemon there, and which state dir?
    pub async fn health(&self) -> Result<DaemonHealth, ClientError> {
        self.call(Method::GET, "/v1/health", None).await
    }

    /// `POST /v1/daemon/stop`: stops every colour, then the daemon exits.
    pub async fn stop_daemon(&self, req: &DaemonStopRequest) -> Result<DaemonStopped, ClientError> {
        self.call(Method::POST, "/v1/daemon/stop", Self::json(req))
            .await
    }

    /// `GET /v1/environments`.
    pub async fn list_environments(&self) -> Result<Vec<EnvironmentStatus>, ClientError> {
        let list: EnvironmentList = self.call(Method::GET, "/v1/environments", None).await?;
        Ok(list.environments)
    }

    /// `GET /v1/environments/{env}`.
    pub async fn get_environment(&self, name: &str) -> Result<EnvironmentStatus, ClientError> {
        self.call(Method::GET, &Self::env_path(name), None).await
    }

    /// `PUT /v1/environments/{env}`: create or update (idempotent).
    pub async fn put_environment(
        &self,
        name: &str,
        spec: &EnvironmentSpec,
        actor: Option<&str>,
    ) -> Result<EnvironmentStatus, ClientError> {
        let mut path = Self::env_path(name);
        if let Some(a) = actor {
            path.push_str(&format!("?actor={}", encode(a)));
        }
        self.call(Method::PUT, &path, Self::json(spec)).await
    }

    /// `DELETE /v1/environments/{env}`: route nothing, drain and stop, forget.
    pub async fn delete_environment(
        &self,
        name: &str,
        req: &StopRequest,
    ) -> Result<(), ClientError> {
        let mut query = Vec::new();
        if let Some(a) = &req.actor {
            query.push(format!("actor={}", encode(a)));
        }
        if let Some(o) = &req.lock_owner {
            query.push(format!("lock_owner={}", encode(o)));
        }
        let mut path = Self::env_path(name);
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let _: serde_json::Value = self.call(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `POST …/colors/{color}/deploy`.
    pub async fn deploy(
        &self,
        name: &str,
        color: Color,
        req: &DeployRequest,
    ) -> Result<ColorStatus, ClientError> {
        let path = format!("{}/colors/{color}/deploy", Self::env_path(name));
        self.call(Method::POST, &path, Self::json(req)).await
    }

    /// `POST …/colors/{color}/stop` (drains first).
    pub async fn stop(
        &self,
        name: &str,
        color: Color,
        req: &StopRequest,
    ) -> Result<ColorStatus, ClientError> {
        let path = format!("{}/colors/{color}/stop", Self::env_path(name));
        self.call(Method::POST, &path, Self::json(req)).await
    }

    /// `GET …/routing`.
    pub async fn routing(&self, name: &str) -> Result<Routing, ClientError> {
        let path = format!("{}/routing", Self::env_path(name));
        self.call(Method::GET, &path, None).await
    }

    /// `PUT …/routing`: replace the table atomically.
    pub async fn set_routing(
        &self,
        name: &str,
        update: &RoutingUpdate,
    ) -> Result<Routing, ClientError> {
        let path = format!("{}/routing", Self::env_path(name));
        self.call(Method::PUT, &path, Self::json(update)).await
    }

    /// `GET …/metrics?color=&since=&until=` (unix ms).
    pub async fn metrics(
        &self,
        name: &str,
        color: Color,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<MetricsSummary, ClientError> {
        let mut path = format!("{}/metrics?color={color}", Self::env_path(name));
        if let Some(s) = since {
            path.push_str(&format!("&since={s}"));
        }
        if let Some(u) = until {
            path.push_str(&format!("&until={u}"));
        }
        self.call(Method::GET, &path, None).await
    }

    /// `POST …/releases`: records one step of a release (the engine's progress).
    pub async fn report_release(
        &self,
        name: &str,
        event: &ReleaseEvent,
    ) -> Result<Release, ClientError> {
        let path = format!("{}/releases", Self::env_path(name));
        self.call(Method::POST, &path, Self::json(event)).await
    }

    /// `GET …/releases`: the last releases, newest first.
    pub async fn releases(&self, name: &str) -> Result<Vec<Release>, ClientError> {
        let path = format!("{}/releases", Self::env_path(name));
        let list: ReleaseList = self.call(Method::GET, &path, None).await?;
        Ok(list.releases)
    }

    /// `GET …/lock`.
    pub async fn lock_info(&self, name: &str) -> Result<Option<LockInfo>, ClientError> {
        let path = format!("{}/lock", Self::env_path(name));
        let state: LockState = self.call(Method::GET, &path, None).await?;
        Ok(state.lock)
    }

    /// `POST …/lock`: acquire; [`ClientError::Locked`] when someone else holds it.
    pub async fn acquire_lock(
        &self,
        name: &str,
        req: &LockRequest,
    ) -> Result<LockInfo, ClientError> {
        let path = format!("{}/lock", Self::env_path(name));
        self.call(Method::POST, &path, Self::json(req)).await
    }

    /// `PUT …/lock`: renew.
    pub async fn renew_lock(&self, name: &str, req: &LockRequest) -> Result<LockInfo, ClientError> {
        let path = format!("{}/lock", Self::env_path(name));
        self.call(Method::PUT, &path, Self::json(req)).await
    }

    /// `DELETE …/lock?owner=`: release.
    pub async fn release_lock(&self, name: &str, owner: &str) -> Result<(), ClientError> {
        let path = format!("{}/lock?owner={}", Self::env_path(name), encode(owner));
        let _: LockState = self.call(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `POST …/lock/break`: breaks the lock whoever holds it; returns what was broken.
    pub async fn break_lock(
        &self,
        name: &str,
        req: &BreakLockRequest,
    ) -> Result<Option<LockInfo>, ClientError> {
        let path = format!("{}/lock/break", Self::env_path(name));
        let answer: BrokenLock = self.call(Method::POST, &path, Self::json(req)).await?;
        Ok(answer.broken)
    }

    /// `GET /v1/audit`, oldest first.
    pub async fn audit(
        &self,
        environment: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEntry>, ClientError> {
        let mut query = Vec::new();
        if let Some(e) = environment {
            query.push(format!("environment={}", encode(e)));
        }
        if let Some(l) = limit {
            query.push(format!("limit={l}"));
        }
        let path = if query.is_empty() {
            "/v1/audit".to_owned()
        } else {
            format!("/v1/audit?{}", query.join("&"))
        };
        let list: AuditList = self.call(Method::GET, &path, None).await?;
        Ok(list.entries)
    }

    /// `POST /v1/audit`: record an event such as a failed gate.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<AuditEntry, ClientError> {
        self.call(Method::POST, "/v1/audit", Self::json(entry))
            .await
    }

    /// Polls until `color` is running, failing early if it crashed or was stopped.
    pub async fn wait_running(
        &self,
        name: &str,
        color: Color,
        timeout: Duration,
    ) -> Result<ColorStatus, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let env = self.get_environment(name).await?;
            let c = env.colors.get(color).clone();
            match c.status {
                ProcessStatus::Running => return Ok(c),
                ProcessStatus::Crashed | ProcessStatus::Stopped => {
                    return Err(ClientError::NotReady {
                        environment: name.to_owned(),
                        color,
                        status: c.status,
                        detail: c.last_exit.unwrap_or_else(|| "no process".into()),
                    })
                }
                _ if Instant::now() >= deadline => {
                    return Err(ClientError::NotReady {
                        environment: name.to_owned(),
                        color,
                        status: c.status,
                        detail: format!("port not accepting connections after {timeout:?}"),
                    })
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_validated() {
        assert!(Client::new("http://127.0.0.1:7480/", None).is_ok());
        assert!(matches!(
            Client::new("https://x", None),
            Err(ClientError::InvalidEndpoint(_))
        ));
        assert!(Client::new("127.0.0.1:7480", None).is_err());
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("api-1_x"), "api-1_x");
    }
}
