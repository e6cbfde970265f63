//! The admin API (plain HTTP on its own loopback port): journal, reset, seeding,
//! fault scripts, token expiry, settings, clock scale and metric samples.
//! Documented in README.md.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::FaultSpec;
use crate::metrics::{self, SampleSpec};
use crate::seed::{self, SeedSpec};
use crate::{EmulatorInfo, Shared};

type Ctx = State<(Arc<Shared>, Arc<EmulatorInfo>)>;

/// The admin router.
pub fn router(shared: Arc<Shared>, info: EmulatorInfo) -> Router {
    Router::new()
        .route("/admin/info", get(info_handler))
        .route("/admin/journal", get(journal).delete(clear_journal))
        .route("/admin/reset", post(reset))
        .route("/admin/seed", post(seed_handler))
        .route("/admin/resources", get(resources))
        .route(
            "/admin/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/admin/faults/{id}", delete(delete_fault))
        .route("/admin/tokens/expire", post(expire_tokens))
        .route("/admin/settings", get(get_settings).patch(patch_settings))
        .route("/admin/clock", get(get_clock).post(set_clock))
        .route("/admin/metrics", post(add_metrics))
        .route("/admin/addresses", get(addresses))
        .route("/admin/cli-token", post(cli_token))
        .with_state((shared, Arc::new(info)))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// Parses a JSON body, answering 400 with the reason (and never panicking) when
/// it does not fit.
fn parse<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    empty_default: Option<T>,
) -> Result<T, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if let Some(d) = empty_default {
            return Ok(d);
        }
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {e}"),
        ))
    })
}

async fn info_handler(State((_, info)): Ctx) -> Response {
    Json(info.as_ref().clone()).into_response()
}

async fn journal(State((shared, _)): Ctx) -> Response {
    Json(shared.lock().journal.clone()).into_response()
}

async fn clear_journal(State((shared, _)): Ctx) -> Response {
    shared.lock().journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State((shared, _)): Ctx) -> Response {
    shared.lock().reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn seed_handler(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let spec: SeedSpec = match parse(&body, Some(SeedSpec::default())) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut st = shared.lock();
    match seed::seed(&shared, &mut st, &spec) {
        Ok(seeded) => (StatusCode::CREATED, Json(seeded)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn resources(State((shared, _)): Ctx) -> Response {
    let st = shared.lock();
    let docs: Vec<Value> = st.resources.values().cloned().collect();
    Json(docs).into_response()
}

async fn list_faults(State((shared, _)): Ctx) -> Response {
    Json(shared.lock().faults.clone()).into_response()
}

async fn add_fault(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match parse(&body, None) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut st = shared.lock();
    st.next_fault_id += 1;
    let id = st.next_fault_id;
    match spec.into_fault(id) {
        Ok(fault) => {
            st.faults.push(fault.clone());
            (StatusCode::CREATED, Json(fault)).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn clear_faults(State((shared, _)): Ctx) -> Response {
    shared.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_fault(State((shared, _)): Ctx, Path(id): Path<u64>) -> Response {
    let mut st = shared.lock();
    let before = st.faults.len();
    st.faults.retain(|f| f.id != id);
    if st.faults.len() == before {
        return error(StatusCode::NOT_FOUND, format!("no fault {id}"));
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_tokens(State((shared, _)): Ctx) -> Response {
    let mut st = shared.lock();
    let now = crate::clock::real_now_ms();
    let count = st.tokens.len();
    for expiry in st.tokens.values_mut() {
        *expiry = now;
    }
    Json(json!({"expired": count})).into_response()
}

async fn get_settings(State((shared, _)): Ctx) -> Response {
    Json(shared.lock().settings.clone()).into_response()
}

async fn patch_settings(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let patch: Value = match parse(&body, None) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut st = shared.lock();
    let mut current = serde_json::to_value(&st.settings).unwrap_or(Value::Null);
    let Some(fields) = patch.as_object() else {
        return error(StatusCode::BAD_REQUEST, "settings must be a JSON object");
    };
    for (k, v) in fields {
        if current.get(k).is_none() {
            return error(StatusCode::BAD_REQUEST, format!("unknown setting '{k}'"));
        }
        current[k] = v.clone();
    }
    match serde_json::from_value(current) {
        Ok(settings) => {
            st.settings = settings;
            Json(st.settings.clone()).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, format!("invalid settings: {e}")),
    }
}

async fn get_clock(State((shared, _)): Ctx) -> Response {
    clock_json(&shared)
}

fn clock_json(shared: &Shared) -> Response {
    let now = shared.clock.now_ms();
    Json(json!({"now": crate::clock::rfc3339_millis(now), "scale": shared.clock.scale()}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSpec {
    scale: f64,
}

async fn set_clock(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let spec: ClockSpec = match parse(&body, None) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !(spec.scale.is_finite() && spec.scale > 0.0) {
        return error(
            StatusCode::BAD_REQUEST,
            "\"scale\" must be a positive number",
        );
    }
    shared.clock.set_scale(spec.scale);
    clock_json(&shared)
}

async fn add_metrics(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let samples: Vec<SampleSpec> = match parse(&body, None) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let now = shared.clock.now_ms();
    let mut st = shared.lock();
    let count = samples.len();
    for s in samples {
        if let Err(e) = metrics::add(&mut st, now, s) {
            return error(StatusCode::BAD_REQUEST, e);
        }
    }
    (StatusCode::CREATED, Json(json!({"added": count}))).into_response()
}

/// Where the running revisions, label and app host names, and edge locations listen.
async fn addresses(State((shared, _)): Ctx) -> Response {
    let st = shared.lock();
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let edge: Vec<Value> = st
        .runtime
        .edge
        .iter()
        .map(|(name, port)| json!({"name": name, "url": url(*port)}))
        .collect();
    let hosts: serde_json::Map<String, Value> = st
        .runtime
        .hosts
        .iter()
        .map(|(h, port)| (h.clone(), json!(url(*port))))
        .collect();
    let revisions: serde_json::Map<String, Value> = st
        .runtime
        .revisions
        .values()
        .map(|p| {
            (
                p.name.clone(),
                json!({
                    "fqdn": p.fqdn,
                    "url": url(p.port),
                    "version": p.version,
                    "color": p.color,
                    "healthy": p.healthy,
                    "exited": p.exited,
                }),
            )
        })
        .collect();
    Json(json!({"enabled": st.runtime.enabled, "edge": edge, "hosts": hosts, "revisions": revisions}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CliTokenSpec {
    resource: Option<String>,
    scope: Option<String>,
}

/// The `az` stand-in's `account get-access-token`, in the Azure CLI's output shape.
async fn cli_token(State((shared, _)): Ctx, body: axum::body::Bytes) -> Response {
    let spec: CliTokenSpec = match parse(&body, None) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let audience = spec
        .resource
        .or(spec.scope)
        .map(|r| r.trim_end_matches("/.default").to_string())
        .unwrap_or_else(|| shared.base_url.clone());
    let mut st = shared.lock();
    if !st.settings.cli_logged_in {
        return error(
            StatusCode::UNAUTHORIZED,
            "Please run 'az login' to setup account.",
        );
    }
    let Some(token) = crate::aad::issue(&mut st, &shared, &audience) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a token",
        );
    };
    let expires_s = crate::clock::real_now_ms() / 1000 + st.settings.token_lifetime_s;
    // The CLI prints a naive local time; the machines here run on UTC.
    let expires_on = crate::clock::rfc3339_seconds(expires_s * 1000)
        .replace('T', " ")
        .replace('Z', ".000000");
    Json(json!({
        "accessToken": token,
        "expiresOn": expires_on,
        "expires_on": expires_s,
        "subscription": shared.credentials.subscription_id,
        "tenant": shared.credentials.tenant_id,
        "tokenType": "Bearer",
    }))
    .into_response()
}
