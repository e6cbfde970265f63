//! ARM long-running operations: a write answers 201/202 with
//! `Azure-AsyncOperation` and/or `Location`; the resource says
//! Creating/Updating/InProgress until the operation completes (emulated time),
//! then Succeeded, or Failed with the previous document restored.

use serde_json::{json, Value};

use super::Ctx;
use crate::clock;
use crate::front::Incoming;
use crate::ids;
use crate::reply::Reply;
use crate::state::{OpStatus, Operation, State};

/// Real seconds clients are told to wait between polls.
pub const POLL_RETRY_AFTER: &str = "1";

/// The two URL shapes of one operation.
pub struct OperationUrls {
    /// The `Azure-AsyncOperation` status resource.
    pub status: String,
    /// The `Location` result resource.
    pub location: String,
}

/// Starts an operation for the resource at `resource_key`; `previous` is restored
/// if it fails. Returns its id.
pub fn start(
    ctx: &Ctx,
    st: &mut State,
    resource_key: &str,
    previous: Option<Value>,
    revision_key: Option<String>,
    urls: impl Fn(&str) -> OperationUrls,
) -> (String, OperationUrls) {
    let id = ids::uuid();
    let urls = urls(&id);
    let tags_written = st
        .resources
        .get(resource_key)
        .and_then(|doc| doc.get("tags"))
        .cloned();
    let op = Operation {
        id: id.clone(),
        resource_key: resource_key.to_string(),
        previous,
        tags_written,
        revision_key,
        started_ms: ctx.now,
        completes_ms: ctx.now + st.settings.lro_ms,
        ended_ms: None,
        status: OpStatus::InProgress,
        failure: ctx.scripted_failure.clone(),
        status_path: path_of(&urls.status),
    };
    st.operations.insert(id.clone(), op);
    (id, urls)
}

/// The path part of an absolute URL, without query.
fn path_of(url: &str) -> String {
    let without_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = without_scheme
        .find('/')
        .map(|i| &without_scheme[i..])
        .unwrap_or("/");
    path.split('?').next().unwrap_or(path).to_string()
}

/// CDN operation URLs: the status resource as in Microsoft's examples
/// (`.../providers/Microsoft.Cdn/operationresults/{id}`), and a Location result
/// resource under `.../locations/global/operationresults/{id}`.
pub fn cdn_urls(base: &str, subscription: &str, group: &str) -> impl Fn(&str) -> OperationUrls {
    let prefix = format!(
        "{base}/subscriptions/{subscription}/resourcegroups/{group}/providers/Microsoft.Cdn"
    );
    move |id: &str| OperationUrls {
        status: format!(
            "{prefix}/operationresults/{id}?api-version={}",
            super::path::CDN_API
        ),
        location: format!(
            "{prefix}/locations/global/operationresults/{id}?api-version={}",
            super::path::CDN_API
        ),
    }
}

/// Container Apps operation URLs (`containerappOperationStatuses` for the
/// status, `containerappOperationResults` for Location).
pub fn app_urls(base: &str, subscription: &str, location: &str) -> impl Fn(&str) -> OperationUrls {
    let region: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let prefix =
        format!("{base}/subscriptions/{subscription}/providers/Microsoft.App/locations/{region}");
    move |id: &str| OperationUrls {
        status: format!(
            "{prefix}/containerappOperationStatuses/{id}?api-version={}",
            super::path::APP_API
        ),
        location: format!(
            "{prefix}/containerappOperationResults/{id}?api-version={}",
            super::path::APP_API
        ),
    }
}

/// Completes every operation whose time has come.
pub fn advance(st: &mut State, now: u64) {
    let due: Vec<String> = st
        .operations
        .values()
        .filter(|op| op.status == OpStatus::InProgress && op.completes_ms <= now)
        .map(|op| op.id.clone())
        .collect();
    for id in due {
        let Some(op) = st.operations.get_mut(&id) else {
            continue;
        };
        op.ended_ms = Some(op.completes_ms);
        op.status = if op.failure.is_some() {
            OpStatus::Failed
        } else {
            OpStatus::Succeeded
        };
        let op = op.clone();
        finish(st, &op);
    }
}

fn finish(st: &mut State, op: &Operation) {
    let failed = op.status == OpStatus::Failed;
    let runtime = st.runtime.enabled;
    if failed {
        if let Some(previous) = &op.previous {
            // Tags written after the failed write through the tags API (a
            // lock renewed during a deploy) were no part of it: they stay.
            let mut restored = previous.clone();
            if let Some(tags) = st
                .resources
                .get(&op.resource_key)
                .and_then(|current| current.get("tags"))
                .filter(|tags| Some(*tags) != op.tags_written.as_ref())
            {
                restored["tags"] = tags.clone();
            }
            st.resources.insert(op.resource_key.clone(), restored);
        }
    }
    if let Some(doc) = st.resources.get_mut(&op.resource_key) {
        let is_app = doc
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.App/containerApps"));
        let props = &mut doc["properties"];
        props["provisioningState"] = json!(if failed { "Failed" } else { "Succeeded" });
        if is_app && !failed {
            let latest = props["latestRevisionName"].clone();
            props["latestReadyRevisionName"] = latest;
        }
    }
    if let Some(rev_key) = &op.revision_key {
        if let Some(rev) = st.resources.get_mut(rev_key) {
            let props = &mut rev["properties"];
            if failed {
                props["provisioningState"] = json!("Failed");
                props["runningState"] = json!("Failed");
                props["healthState"] = json!("Unhealthy");
                props["replicas"] = json!(0);
            } else if runtime {
                // The process runner reports Running/Healthy once the app answers.
                props["provisioningState"] = json!("Provisioned");
            } else {
                props["provisioningState"] = json!("Provisioned");
                props["runningState"] = json!("Running");
                props["healthState"] = json!("Healthy");
                props["replicas"] = json!(1);
            }
        }
    }
    if !failed && op.resource_key.contains("/providers/microsoft.cdn/") {
        st.publish_edge(op.completes_ms);
    }
}

/// Which flavour of operation URL a path is.
enum Flavour {
    /// `Azure-AsyncOperation`: always 200 with the status resource.
    Status,
    /// `Location`: 202 while running, then the resource (or the error).
    Result,
}

fn classify(path: &str) -> Option<(String, Flavour)> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if segs.len() < 2 {
        return None;
    }
    let kind = segs[segs.len() - 2].as_str();
    let has_locations = segs.iter().any(|s| s == "locations");
    let flavour = match kind {
        "containerappoperationresults" => Flavour::Result,
        "containerappoperationstatuses" | "operationstatuses" => Flavour::Status,
        "operationresults" if has_locations => Flavour::Result,
        "operationresults" => Flavour::Status,
        _ => return None,
    };
    let raw_id = path.trim_matches('/').rsplit('/').next().unwrap_or("");
    Some((raw_id.to_string(), flavour))
}

/// Answers a GET of an operation URL, or `None` if the path is not one.
pub fn route(ctx: &Ctx, st: &State, req: &Incoming) -> Option<Reply> {
    let (id, flavour) = classify(&req.path)?;
    if req.method != "GET" {
        return Some(Reply::arm_error(
            405,
            "MethodNotAllowed",
            "Operation resources only answer GET.",
        ));
    }
    let lower = req.path.to_ascii_lowercase();
    let version = if lower.contains("/providers/microsoft.app/") {
        super::path::APP_API
    } else {
        super::path::CDN_API
    };
    if let Err(reply) = super::require_api_version(req, version, "operationresults") {
        return Some(reply);
    }
    let Some(op) = st.operations.get(&id) else {
        return Some(Reply::arm_error(
            404,
            "OperationNotFound",
            format!("The operation '{id}' was not found."),
        ));
    };
    Some(match flavour {
        Flavour::Status => Reply::json(200, status_body(op)),
        Flavour::Result => match op.status {
            OpStatus::InProgress => Reply::empty(202)
                .header(
                    "Location",
                    format!("{}{}?api-version={version}", ctx.shared.base_url, req.path),
                )
                .header("Retry-After", POLL_RETRY_AFTER),
            OpStatus::Succeeded => match st.resources.get(&op.resource_key) {
                Some(doc) => Reply::json(200, super::resources::present(st, doc)),
                None => Reply::empty(204),
            },
            OpStatus::Failed => {
                let (code, message) = op.failure.clone().unwrap_or_default();
                Reply::arm_error(400, &code, message)
            }
        },
    })
}

/// ARM's operation status resource `{id,name,status,startTime,endTime,error}`.
fn status_body(op: &Operation) -> Value {
    let mut body = json!({
        "id": op.status_path,
        "name": op.id,
        "status": op.status.as_str(),
        "startTime": clock::rfc3339_millis(op.started_ms),
    });
    if let Some(end) = op.ended_ms {
        body["endTime"] = json!(clock::rfc3339_millis(end));
    }
    if op.status == OpStatus::Failed {
        let (code, message) = op.failure.clone().unwrap_or_default();
        body["error"] = json!({"code": code, "message": message});
    }
    body
}
