//! The TLS listener's single handler: reads the request, sends it to AAD,
//! managed identity or ARM, stamps ARM's request-id headers and journals it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Response};
use axum::Router;
use serde_json::Value;

use crate::reply::Reply;
use crate::state::JournalEntry;
use crate::{aad, arm, clock, ids, Shared};

/// Largest request body accepted; ARM's own limit is 4 MB.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A request, read whole.
#[derive(Debug)]
pub struct Incoming {
    /// Upper-case method.
    pub method: String,
    /// Percent-decoded path.
    pub path: String,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Incoming {
    /// A query parameter by case-insensitive name (ARM treats `api-version` so).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON: `Ok(None)` when empty, an ARM 400 when not JSON.
    pub fn json(&self) -> Result<Option<Value>, Reply> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body).map(Some).map_err(|e| {
            Reply::arm_error(
                400,
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
            )
        })
    }
}

/// The router of the TLS listener.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Reply::arm_error(
            413,
            "RequestEntityTooLarge",
            "The request body is larger than 4 MB.",
        )
        .into_response();
    };
    let raw_path = parts.uri.path().to_string();
    let path = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .into_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let incoming = Incoming {
        method: parts.method.as_str().to_ascii_uppercase(),
        path,
        query,
        headers: parts.headers,
        body,
    };

    let request_id = ids::uuid();
    let correlation_id = incoming
        .header("x-ms-correlation-request-id")
        .map(str::to_string)
        .unwrap_or_else(ids::uuid);

    let (reply, journal_body) = if aad::handles(&incoming.path) {
        // Token requests carry secrets and assertions: journal only the grant type.
        let grant = form_urlencoded::parse(&incoming.body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| Value::String(v.into_owned()));
        let body = grant
            .map(|g| serde_json::json!({ "grant_type": g }))
            .unwrap_or(Value::Null);
        (aad::handle(&shared, &incoming), body)
    } else {
        let body = journal_body(&incoming.body);
        (arm::handle(&shared, &incoming), body)
    };

    let reply = reply
        .header("x-ms-request-id", request_id.clone())
        .header("x-ms-correlation-request-id", correlation_id);
    let entry = JournalEntry {
        seq: 0,
        time: clock::rfc3339_millis(shared.clock.now_ms()),
        method: incoming.method.clone(),
        path: raw_path_of(&incoming),
        api_version: incoming.query("api-version").map(str::to_string),
        query: incoming.query.iter().cloned().collect::<BTreeMap<_, _>>(),
        body: journal_body,
        status: reply.status,
        request_id,
    };
    shared.lock().record(entry);
    reply.into_response()
}

fn raw_path_of(incoming: &Incoming) -> String {
    incoming.path.clone()
}

/// The body as JSON for the journal; text when it is not JSON; null when empty.
fn journal_body(body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
