//! Handlers of the admin API routes.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::api::{
    AuditEntry, AuditList, BreakLockRequest, BrokenLock, Color, ColorStatus, DaemonHealth,
    DaemonStopRequest, DaemonStopped, DeployRequest, EnvironmentList, EnvironmentSpec,
    EnvironmentStatus, LockInfo, LockRequest, LockState, MetricsQuery, MetricsSummary, Release,
    ReleaseEvent, ReleaseList, Routing, RoutingUpdate, StopRequest,
};
use crate::daemon::Daemon;

/// A JSON body; rejections are JSON errors. Content type is not enforced so `curl -d`
/// works.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read the request body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
    }
}

/// An optional JSON body: empty means `T::default()`.
pub struct OptJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read the request body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptJsonBody(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptJsonBody)
            .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
    }
}

/// A query string with JSON errors.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

/// Path parameters with JSON errors.
pub struct P<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| P(v))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

fn color(s: &str) -> Result<Color, ApiError> {
    s.parse()
        .map_err(|e: crate::api::ParseColorError| ApiError::invalid(e.to_string()))
}

/// `GET /v1/health`.
pub async fn health(State(d): State<Daemon>) -> Json<DaemonHealth> {
    Json(d.health())
}

/// `GET /v1/environments`.
pub async fn list_environments(State(d): State<Daemon>) -> Json<EnvironmentList> {
    Json(EnvironmentList {
        environments: d.list(),
    })
}

/// `GET /v1/environments/{env}`.
pub async fn get_environment(
    State(d): State<Daemon>,
    P(env): P<String>,
) -> Result<Json<EnvironmentStatus>, ApiError> {
    Ok(Json(d.get(&env)?))
}

/// Audit attribution in a query string.
#[derive(Debug, Deserialize)]
pub struct ActorQuery {
    actor: Option<String>,
    lock_owner: Option<String>,
}

/// `PUT /v1/environments/{env}`.
pub async fn put_environment(
    State(d): State<Daemon>,
    P(env): P<String>,
    Q(q): Q<ActorQuery>,
    JsonBody(spec): JsonBody<EnvironmentSpec>,
) -> Result<Json<EnvironmentStatus>, ApiError> {
    Ok(Json(d.define(&env, spec, q.actor).await?))
}

/// `DELETE /v1/environments/{env}?actor=&lock_owner=`.
pub async fn delete_environment(
    State(d): State<Daemon>,
    P(env): P<String>,
    Q(q): Q<ActorQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    d.delete(
        &env,
        StopRequest {
            actor: q.actor,
            lock_owner: q.lock_owner,
        },
    )
    .await?;
    Ok(Json(json!({ "deleted": env })))
}

/// `POST /v1/environments/{env}/colors/{color}/deploy`.
pub async fn deploy(
    State(d): State<Daemon>,
    P((env, c)): P<(String, String)>,
    JsonBody(req): JsonBody<DeployRequest>,
) -> Result<Json<ColorStatus>, ApiError> {
    Ok(Json(d.deploy(&env, color(&c)?, req).await?))
}

/// `POST /v1/environments/{env}/colors/{color}/stop`.
pub async fn stop(
    State(d): State<Daemon>,
    P((env, c)): P<(String, String)>,
    OptJsonBody(req): OptJsonBody<StopRequest>,
) -> Result<Json<ColorStatus>, ApiError> {
    Ok(Json(d.stop(&env, color(&c)?, req).await?))
}

/// `POST /v1/daemon/stop`: stops every colour, answers, then the daemon exits.
pub async fn stop_daemon(
    State(d): State<Daemon>,
    OptJsonBody(req): OptJsonBody<DaemonStopRequest>,
) -> Json<DaemonStopped> {
    Json(d.stop_everything(req.actor).await)
}

/// `GET /v1/environments/{env}/routing`.
pub async fn get_routing(
    State(d): State<Daemon>,
    P(env): P<String>,
) -> Result<Json<Routing>, ApiError> {
    Ok(Json(d.get(&env)?.routing))
}

/// `PUT /v1/environments/{env}/routing`.
pub async fn put_routing(
    State(d): State<Daemon>,
    P(env): P<String>,
    JsonBody(update): JsonBody<RoutingUpdate>,
) -> Result<Json<Routing>, ApiError> {
    Ok(Json(d.set_routing(&env, update).await?))
}

/// `GET /v1/environments/{env}/metrics?color=&since=&until=`.
pub async fn metrics(
    State(d): State<Daemon>,
    P(env): P<String>,
    Q(q): Q<MetricsQuery>,
) -> Result<Json<MetricsSummary>, ApiError> {
    Ok(Json(d.metrics(&env, q)?))
}

/// `POST /v1/environments/{env}/releases`: one step of a release, from the provider.
pub async fn report_release(
    State(d): State<Daemon>,
    P(env): P<String>,
    JsonBody(event): JsonBody<ReleaseEvent>,
) -> Result<Json<Release>, ApiError> {
    Ok(Json(d.report_release(&env, event)?))
}

/// `GET /v1/environments/{env}/releases`: the last releases, newest first.
pub async fn get_releases(
    State(d): State<Daemon>,
    P(env): P<String>,
) -> Result<Json<ReleaseList>, ApiError> {
    Ok(Json(ReleaseList {
        releases: d.releases(&env)?,
    }))
}

/// `GET /v1/environments/{env}/lock`.
pub async fn get_lock(
    State(d): State<Daemon>,
    P(env): P<String>,
) -> Result<Json<LockState>, ApiError> {
    Ok(Json(LockState {
        lock: d.lock_info(&env)?,
    }))
}

/// `POST /v1/environments/{env}/lock`.
pub async fn acquire_lock(
    State(d): State<Daemon>,
    P(env): P<String>,
    JsonBody(req): JsonBody<LockRequest>,
) -> Result<Json<LockInfo>, ApiError> {
    Ok(Json(d.acquire_lock(&env, req).await?))
}

/// `PUT /v1/environments/{env}/lock`.
pub async fn renew_lock(
    State(d): State<Daemon>,
    P(env): P<String>,
    JsonBody(req): JsonBody<LockRequest>,
) -> Result<Json<LockInfo>, ApiError> {
    Ok(Json(d.renew_lock(&env, req).await?))
}

/// Owner in a query string.
#[derive(Debug, Deserialize)]
pub struct OwnerQuery {
    owner: String,
}

/// `DELETE /v1/environments/{env}/lock?owner=`.
pub async fn release_lock(
    State(d): State<Daemon>,
    P(env): P<String>,
    Q(q): Q<OwnerQuery>,
) -> Result<Json<LockState>, ApiError> {
    d.release_lock(&env, &q.owner).await?;
    Ok(Json(LockState { lock: None }))
}

/// `POST /v1/environments/{env}/lock/break`: whoever holds it.
pub async fn break_lock(
    State(d): State<Daemon>,
    P(env): P<String>,
    JsonBody(req): JsonBody<BreakLockRequest>,
) -> Result<Json<BrokenLock>, ApiError> {
    let actor = req.actor.unwrap_or_else(|| "api".into());
    Ok(Json(BrokenLock {
        broken: d.break_lock(&env, &actor).await?,
    }))
}

/// Filter of `GET /v1/audit`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    environment: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/audit?environment=&limit=`.
pub async fn read_audit(
    State(d): State<Daemon>,
    Q(q): Q<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let entries = d.audit_entries(q.environment.as_deref(), q.limit.unwrap_or(1000))?;
    Ok(Json(AuditList { entries }))
}

/// `POST /v1/audit`: a client records an event (e.g. a failed gate).
pub async fn write_audit(
    State(d): State<Daemon>,
    JsonBody(entry): JsonBody<AuditEntry>,
) -> Result<Json<AuditEntry>, ApiError> {
    Ok(Json(d.record_audit(entry)?))
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint: see local/API.md for the admin API",
    )
}
