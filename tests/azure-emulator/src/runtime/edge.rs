//! Front Door's edge: locations (loopback listeners) that each apply a
//! published Front Door configuration after their own propagation delay, route
//! by the endpoint's route and rule sets to an origin group, choose an origin
//! by priority and weight, and record Azure Monitor samples for every request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode};
use axum::Router;
use serde_json::Value;

use super::hosts;
use super::proxy::{self, HttpClient};
use crate::arm::path::key_of;
use crate::metrics::MetricSample;
use crate::state::{EdgeSnapshot, State as EmuState};
use crate::{ids, Shared};

/// Samples kept at most; the oldest go first.
const MAX_SAMPLES: usize = 500_000;

/// One edge location's handler state.
#[derive(Clone)]
pub struct Location {
    shared: Arc<Shared>,
    client: HttpClient,
    index: usize,
    name: String,
}

/// The router of edge location `index`.
pub fn router(shared: Arc<Shared>, client: HttpClient, index: usize, name: String) -> Router {
    Router::new().fallback(handle).with_state(Location {
        shared,
        client,
        index,
        name,
    })
}

/// The configuration location `index` shows at `now`: the newest one published
/// at least its propagation delay ago, or the one it already serves if newer
/// (a location never goes back to an older configuration).
pub fn effective(st: &mut EmuState, index: usize, now: u64) -> Option<EdgeSnapshot> {
    let delays = &st.settings.edge_propagation_ms;
    let delay = delays.get(index).or(delays.last()).copied().unwrap_or(0);
    let due = st
        .edge_snapshots
        .iter()
        .rev()
        .find(|s| s.published_ms + delay <= now)
        .map(|s| s.seq);
    let applied = st.runtime.edge_applied.get(&index).copied();
    let seq = match (due, applied) {
        (Some(d), Some(a)) => d.max(a),
        (d, a) => d.or(a)?,
    };
    st.runtime.edge_applied.insert(index, seq);
    st.edge_snapshots.iter().find(|s| s.seq >= seq).cloned()
}

/// Where the edge sends a request.
#[derive(Debug)]
struct Decision {
    endpoint: String,
    origin_host: String,
    port: Option<u16>,
    revision: Option<hosts::Target>,
}

async fn handle(State(loc): State<Location>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let decision = {
        let now = loc.shared.clock.now_ms();
        let mut st = loc.shared.lock();
        decide(&mut st, loc.index, now, &req)
    };
    let decision = match decision {
        Ok(d) => d,
        Err((status, text)) => return stamp(proxy::plain(status, &text), &loc.name),
    };
    let response = match decision.port {
        Some(port) => proxy::forward(&loc.client, port, req).await,
        None => proxy::plain(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("origin {} has no running revision", decision.origin_host),
        ),
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    record(
        &loc.shared,
        &decision,
        response.status().as_u16(),
        elapsed_ms,
    );
    stamp(response, &loc.name)
}

fn stamp(mut response: Response<Body>, location: &str) -> Response<Body> {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids::uuid()) {
        headers.insert("x-azure-ref", v);
    }
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert("x-bluegreen-edge-location", v);
    }
    headers.insert("x-cache", HeaderValue::from_static("CONFIG_NOCACHE"));
    response
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn decide(
    st: &mut EmuState,
    index: usize,
    now: u64,
    req: &Request,
) -> Result<Decision, (StatusCode, String)> {
    let Some(snapshot) = effective(st, index, now) else {
        return Err((
            StatusCode::NOT_FOUND,
            "this edge location has no Front Door configuration yet".into(),
        ));
    };
    let cdn = &snapshot.cdn;
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_lowercase();
    let endpoints: Vec<(&String, &Value)> = cdn
        .iter()
        .filter(|(_, d)| d["type"].as_str() == Some("Microsoft.Cdn/profiles/afdendpoints"))
        .collect();
    let (endpoint_key, endpoint) = endpoints
        .iter()
        .find(|(_, d)| {
            d["properties"]["hostName"]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&host))
        })
        .or(endpoints.first())
        .copied()
        .ok_or((StatusCode::NOT_FOUND, "no Front Door endpoint".to_string()))?;
    let path = req.uri().path();
    let route = children(cdn, endpoint_key, "routes")
        .into_iter()
        .filter(|r| r["properties"]["enabledState"].as_str() != Some("Disabled"))
        .find(|r| matches_patterns(&r["properties"]["patternsToMatch"], path))
        .ok_or((
            StatusCode::NOT_FOUND,
            "no route matches this path".to_string(),
        ))?;
    let mut origin_group = route["properties"]["originGroup"]["id"]
        .as_str()
        .map(key_of)
        .unwrap_or_default();
    for set in route["properties"]["ruleSets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let set_key = key_of(set["id"].as_str().unwrap_or(""));
        let mut rules = children(cdn, &set_key, "rules");
        rules.sort_by_key(|r| r["properties"]["order"].as_i64().unwrap_or(0));
        let mut stop = false;
        for rule in rules {
            let conditions = rule["properties"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !conditions.iter().all(|c| condition_matches(c, req)) {
                continue;
            }
            for action in rule["properties"]["actions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let og = &action["parameters"]["originGroupOverride"]["originGroup"]["id"];
                if let Some(og) = og.as_str() {
                    origin_group = key_of(og);
                }
            }
            if rule["properties"]["matchProcessingBehavior"].as_str() == Some("Stop") {
                stop = true;
                break;
            }
        }
        if stop {
            break;
        }
    }
    let origins: Vec<&Value> = children(cdn, &origin_group, "origins")
        .into_iter()
        .filter(|o| o["properties"]["enabledState"].as_str() != Some("Disabled"))
        .collect();
    let priority = |o: &Value| o["properties"]["priority"].as_i64().unwrap_or(1);
    let best = origins.iter().map(|o| priority(o)).min().ok_or((
        StatusCode::SERVICE_UNAVAILABLE,
        format!("origin group {origin_group} has no enabled origin"),
    ))?;
    let candidates: Vec<&&Value> = origins.iter().filter(|o| priority(o) == best).collect();
    let weight = |o: &Value| o["properties"]["weight"].as_i64().unwrap_or(1000).max(1) as f64;
    let total: f64 = candidates.iter().map(|o| weight(o)).sum();
    let mut point = random_unit() * total;
    let mut origin = candidates[0];
    for o in &candidates {
        if point < weight(o) {
            origin = o;
            break;
        }
        point -= weight(o);
    }
    let origin_host = origin["properties"]["hostName"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let revision = hosts::resolve(st, &origin_host, random_unit());
    let port = revision
        .as_ref()
        .and_then(|t| st.runtime.revisions.get(&t.revision_key))
        .filter(|p| !p.exited)
        .map(|p| p.port);
    Ok(Decision {
        endpoint: endpoint["properties"]["hostName"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        origin_host,
        port,
        revision,
    })
}

/// Direct children of `parent_key` of one type in a snapshot.
fn children<'a>(cdn: &'a BTreeMap<String, Value>, parent_key: &str, kind: &str) -> Vec<&'a Value> {
    let prefix = format!("{parent_key}/{kind}/");
    cdn.range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, _)| !k[prefix.len()..].contains('/'))
        .map(|(_, v)| v)
        .collect()
}

fn matches_patterns(patterns: &Value, path: &str) -> bool {
    let Some(list) = patterns.as_array() else {
        return true;
    };
    list.iter()
        .filter_map(Value::as_str)
        .any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p,
        })
}

/// RequestHeader and RequestMethod conditions; others never match (README).
fn condition_matches(condition: &Value, req: &Request) -> bool {
    let params = &condition["parameters"];
    let actual: Option<String> = match condition["name"].as_str() {
        Some("RequestHeader") => {
            let selector = params["selector"].as_str().unwrap_or("");
            req.headers()
                .get(selector)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }
        Some("RequestMethod") => Some(req.method().as_str().to_string()),
        _ => return false,
    };
    let lower = params["transforms"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("Lowercase")));
    let normalise = |s: &str| {
        if lower {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    };
    let values: Vec<String> = params["matchValues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(normalise)
        .collect();
    let operator = params["operator"].as_str().unwrap_or("Equal");
    let matched = match (&actual, operator) {
        (None, _) => false,
        (Some(_), "Any") => true,
        (Some(a), op) => {
            let a = normalise(a);
            values.iter().any(|v| match op {
                "Equal" => a == *v,
                "Contains" => a.contains(v.as_str()),
                "BeginsWith" => a.starts_with(v.as_str()),
                "EndsWith" => a.ends_with(v.as_str()),
                _ => false,
            })
        }
    };
    matched != params["negateCondition"].as_bool().unwrap_or(false)
}

/// Azure Monitor samples for one edge request: on the profile (RequestCount,
/// OriginRequestCount, latencies, 4XX/5XX percentages) and on the container
/// app (Requests, ResponseTime by revision), visible after the ingestion delay.
fn record(shared: &Shared, d: &Decision, status: u16, elapsed_ms: f64) {
    let now = shared.clock.now_ms();
    let mut st = shared.lock();
    let visible = now + st.settings.metrics_ingestion_delay_ms;
    let profile_key = st
        .resources
        .iter()
        .find(|(_, doc)| {
            doc["type"].as_str() == Some("Microsoft.Cdn/profiles/afdendpoints")
                && doc["properties"]["hostName"].as_str() == Some(d.endpoint.as_str())
        })
        .and_then(|(k, _)| k.split("/afdendpoints/").next().map(str::to_string))
        .unwrap_or_default();
    let group = format!("{}XX", status / 100);
    let dims = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let status_text = status.to_string();
    let mut push =
        |resource_key: &str, metric: &str, dimensions: BTreeMap<String, String>, value: f64| {
            st.metrics.push(MetricSample {
                resource_key: resource_key.to_string(),
                metric: metric.to_string(),
                dimensions,
                time_ms: now,
                value,
                visible_from_ms: visible,
            });
        };
    let endpoint = d.endpoint.as_str();
    let origin = d.origin_host.as_str();
    push(
        &profile_key,
        "RequestCount",
        dims(&[
            ("HttpStatus", &status_text),
            ("HttpStatusGroup", &group),
            ("Endpoint", endpoint),
        ]),
        1.0,
    );
    push(
        &profile_key,
        "OriginRequestCount",
        dims(&[
            ("HttpStatus", &status_text),
            ("HttpStatusGroup", &group),
            ("Origin", origin),
            ("Endpoint", endpoint),
        ]),
        1.0,
    );
    push(
        &profile_key,
        "TotalLatency",
        dims(&[("HttpStatusGroup", &group), ("Endpoint", endpoint)]),
        elapsed_ms,
    );
    push(
        &profile_key,
        "OriginLatency",
        dims(&[("Origin", origin), ("Endpoint", endpoint)]),
        elapsed_ms,
    );
    let is = |class: u16| if status / 100 == class { 100.0 } else { 0.0 };
    push(
        &profile_key,
        "Percentage4XX",
        dims(&[("Endpoint", endpoint)]),
        is(4),
    );
    push(
        &profile_key,
        "Percentage5XX",
        dims(&[("Endpoint", endpoint)]),
        is(5),
    );
    if let Some(t) = &d.revision {
        let category = format!("{}xx", status / 100);
        let rev = dims(&[
            ("revisionName", &t.revision),
            ("statusCodeCategory", &category),
            ("statusCode", &status_text),
        ]);
        push(&t.app_key, "Requests", rev.clone(), 1.0);
        push(&t.app_key, "ResponseTime", rev, elapsed_ms);
    }
    if st.metrics.len() > MAX_SAMPLES {
        let excess = st.metrics.len() - MAX_SAMPLES;
        st.metrics.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(tenant: Option<&str>) -> Request {
        let mut builder = Request::builder().uri("/api/health");
        if let Some(t) = tenant {
            builder = builder.header("X-Tenant-ID", t);
        }
        builder.body(Body::empty()).expect("request")
    }

    fn header(operator: &str, values: &[&str], negate: bool) -> Value {
        json!({"name": "RequestHeader", "parameters": {
            "typeName": "DeliveryRuleRequestHeaderConditionParameters",
            "operator": operator, "selector": "x-tenant-id", "matchValues": values,
            "negateCondition": negate, "transforms": ["Lowercase"]}})
    }

    /// A rule's conditions all hold (Front Door ANDs them).
    fn rule_matches(conditions: &[Value], tenant: Option<&str>) -> bool {
        let req = request(tenant);
        conditions.iter().all(|c| condition_matches(c, &req))
    }

    #[test]
    fn any_needs_the_header_and_negation_inverts_equal() {
        let any = header("Any", &[], false);
        assert!(rule_matches(std::slice::from_ref(&any), Some("acme")));
        assert!(rule_matches(std::slice::from_ref(&any), Some("")));
        assert!(!rule_matches(std::slice::from_ref(&any), None));
        let not_listed = header("Equal", &["acme"], true);
        assert!(rule_matches(
            std::slice::from_ref(&not_listed),
            Some("globex")
        ));
        assert!(!rule_matches(
            std::slice::from_ref(&not_listed),
            Some("ACME")
        ));
        // Present and not listed: the guard the provider writes.
        let guard = [any, not_listed];
        assert!(rule_matches(&guard, Some("globex")));
        assert!(!rule_matches(&guard, Some("Acme")));
        assert!(
            !rule_matches(&guard, None),
            "untagged requests are not a tenant"
        );
    }
}
