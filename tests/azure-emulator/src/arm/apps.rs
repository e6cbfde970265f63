//! Microsoft.App container apps and their revisions, with the rules Container
//! Apps enforces: a template change creates a revision `<app>--<suffix>` with a
//! valid, unused suffix; traffic weights sum to 100; labels are unique; only
//! Multiple revision mode splits traffic.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::lro::{self, POLL_RETRY_AFTER};
use super::merge::merge;
use super::path::{top_level_id, Kind, ResourcePath, TypeSpec};
use super::resources::present;
use super::Ctx;
use crate::front::Incoming;
use crate::reply::Reply;
use crate::state::State;
use crate::{clock, ids};

/// Longest revision name (a DNS-1123 label).
const MAX_REVISION_NAME: usize = 63;

fn invalid(code: &str, message: impl Into<String>) -> Reply {
    Reply::arm_error(400, code, message)
}

/// PUT: create the app (and its first revision) or replace it.
pub fn put(ctx: &Ctx, st: &mut State, req: &Incoming, p: &ResourcePath) -> Reply {
    let body = match req.json() {
        Ok(Some(b)) if b.is_object() => b,
        Ok(_) => {
            return invalid(
                "InvalidRequestContent",
                "The request body must be a JSON object.",
            )
        }
        Err(reply) => return reply,
    };
    let existing = st.resources.get(&p.key()).cloned();
    let Some(location) = body["location"].as_str().map(str::to_string) else {
        return invalid(
            "LocationRequired",
            "The location property is required for this definition.",
        );
    };
    let spec = TypeSpec::of(Kind::ContainerApp);
    let id = match &existing {
        Some(doc) => doc["id"].as_str().unwrap_or_default().to_string(),
        None => {
            let group = st
                .resource_groups
                .get(&p.group_key())
                .cloned()
                .unwrap_or_else(|| p.resource_group.clone());
            top_level_id(spec, &p.subscription, &group, p.name())
        }
    };
    let mut doc = new_app(&id, &location, &body);
    if let Some(old) = &existing {
        // Computed fields survive a replace.
        for field in [
            "latestRevisionName",
            "latestRevisionFqdn",
            "latestReadyRevisionName",
            "customDomainVerificationId",
        ] {
            doc["properties"][field] = old["properties"][field].clone();
        }
    }
    let status_of_create = if existing.is_none() { 201 } else { 200 };
    match settle(ctx, st, p, existing, doc, true) {
        Ok((key_written, urls)) => {
            let body = st
                .resources
                .get(&key_written)
                .map(|d| present(st, d))
                .unwrap_or(Value::Null);
            Reply::json(status_of_create, body)
                .header("Azure-AsyncOperation", urls.status)
                .header("Retry-After", POLL_RETRY_AFTER)
        }
        Err(reply) => reply,
    }
}

/// PATCH: merge into the app; a changed template makes a new revision.
pub fn patch(ctx: &Ctx, st: &mut State, req: &Incoming, p: &ResourcePath) -> Reply {
    let body = match req.json() {
        Ok(Some(b)) if b.is_object() => b,
        Ok(_) => {
            return invalid(
                "InvalidRequestContent",
                "The request body must be a JSON object.",
            )
        }
        Err(reply) => return reply,
    };
    let Some(existing) = st.resources.get(&p.key()).cloned() else {
        return super::resources::not_found(p);
    };
    let mut doc = existing.clone();
    if let Some(props) = body.get("properties") {
        merge(&mut doc["properties"], props);
    }
    if let Some(tags) = body.get("tags").filter(|t| !t.is_null()) {
        doc["tags"] = tags.clone();
    }
    let traffic_given = !body["properties"]["configuration"]["ingress"]["traffic"].is_null();
    match settle(ctx, st, p, Some(existing), doc, traffic_given) {
        // The spec declares only `Location` on this 202, and no body.
        Ok((_, urls)) => Reply::empty(202)
            .header("Location", urls.location)
            .header("Retry-After", POLL_RETRY_AFTER),
        Err(reply) => reply,
    }
}

/// A new app document from a PUT body, with the computed fields the examples show.
fn new_app(id: &str, location: &str, body: &Value) -> Value {
    let name = id.rsplit('/').next().unwrap_or_default();
    let props = &body["properties"];
    let env_id = props["environmentId"]
        .as_str()
        .or_else(|| props["managedEnvironmentId"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut properties = json!({
        "provisioningState": "InProgress",
        "runningStatus": "Running",
        "managedEnvironmentId": env_id,
        "environmentId": env_id,
        "workloadProfileName": null,
        "outboundIpAddresses": ["127.0.0.1"],
        "latestRevisionName": null,
        "latestRevisionFqdn": null,
        "latestReadyRevisionName": null,
        "customDomainVerificationId": ids::alnum(32).to_uppercase(),
        "eventStreamEndpoint": format!("https://{}/subscriptions/eventstream", region(location)),
        "configuration": {
            "activeRevisionsMode": "Single",
            "maxInactiveRevisions": 100,
            "ingress": null,
        },
        "template": {},
    });
    merge(&mut properties, props);
    let domain = domain(&env_id, location);
    if let Some(ingress) = properties["configuration"]["ingress"].as_object_mut() {
        let defaults = [
            ("fqdn", json!(format!("{name}.{domain}"))),
            ("external", json!(true)),
            ("targetPort", json!(80)),
            ("transport", json!("auto")),
            ("allowInsecure", json!(false)),
            ("traffic", json!([{"weight": 100, "latestRevision": true}])),
        ];
        for (k, v) in defaults {
            if ingress.get(k).is_none_or(Value::is_null) {
                ingress.insert(k.to_string(), v);
            }
        }
    }
    let mut doc = json!({
        "id": id,
        "name": name,
        "type": "Microsoft.App/containerApps",
        "location": location,
        "tags": body.get("tags").cloned().unwrap_or(json!({})),
        "properties": properties,
    });
    // Azure answers `{"type": "None"}` for an app without managed identity.
    doc["identity"] = body
        .get("identity")
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| json!({"type": "None"}));
    doc
}

/// `eastus` from `East US`.
fn region(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// The environment's default domain, stable for an environment id:
/// `{env}-{8 chars}.{region}.azurecontainerapps.io`.
pub fn domain(env_id: &str, location: &str) -> String {
    let env = env_id
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("env");
    // FNV-1a: any stable hash will do; it only makes the label look like Azure's.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in env_id.to_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    let tag: String = format!("{h:016x}").chars().take(8).collect();
    format!(
        "{}-{tag}.{}.azurecontainerapps.io",
        env.to_lowercase(),
        region(location)
    )
}

/// Names of the app's revisions.
fn revision_names(st: &State, app_key: &str) -> Vec<String> {
    let prefix = format!("{app_key}/revisions/");
    st.resources
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, d)| d["name"].as_str().map(str::to_string))
        .collect()
}

/// Applies the Container Apps rules to `doc` (the app as it would become),
/// creates a revision if the template changed, stores the app and starts its
/// operation. Returns the app's key and the operation URLs. `traffic_given`
/// says whether the request itself set the ingress traffic.
fn settle(
    ctx: &Ctx,
    st: &mut State,
    p: &ResourcePath,
    existing: Option<Value>,
    mut doc: Value,
    traffic_given: bool,
) -> Result<(String, lro::OperationUrls), Reply> {
    let app_key = p.key();
    let app_name = doc["name"].as_str().unwrap_or_default().to_string();
    let app_id = doc["id"].as_str().unwrap_or_default().to_string();
    let location = doc["location"].as_str().unwrap_or_default().to_string();
    let props = &doc["properties"];
    let template = props["template"].clone();
    if template["containers"].as_array().is_none_or(Vec::is_empty) {
        return Err(invalid(
            "ContainerAppInvalidTemplate",
            "properties.template.containers must list at least one container.",
        ));
    }
    let template_changed = existing
        .as_ref()
        .is_none_or(|old| old["properties"]["template"] != template);
    let existing_revisions = revision_names(st, &app_key);
    let new_revision = if template_changed {
        let suffix = match template["revisionSuffix"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            Some(s) => s.to_string(),
            None => ids::alnum(7),
        };
        let name = format!("{app_name}--{suffix}");
        validate_suffix(&suffix, &name)?;
        if existing_revisions
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&name))
        {
            return Err(invalid(
                "ContainerAppRevisionAlreadyExists",
                format!("The revision '{name}' already exists: a new template needs an unused properties.template.revisionSuffix (it was '{suffix}')."),
            ));
        }
        Some(name)
    } else {
        None
    };
    if new_revision.is_some() && !traffic_given {
        // Azure drops labels from 0%-traffic revisions when a new revision is
        // deployed without re-asserting the traffic (azure-container-apps#1078, #254).
        if let Some(entries) =
            doc["properties"]["configuration"]["ingress"]["traffic"].as_array_mut()
        {
            entries.retain(|e| e["weight"].as_i64().unwrap_or(0) > 0);
        }
    }
    let props = &doc["properties"];
    let latest = new_revision
        .clone()
        .or_else(|| props["latestRevisionName"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut known: Vec<String> = existing_revisions;
    known.extend(new_revision.clone());
    let multiple = props["configuration"]["activeRevisionsMode"]
        .as_str()
        .is_some_and(|m| m.eq_ignore_ascii_case("Multiple"));
    validate_traffic(
        &props["configuration"]["ingress"]["traffic"],
        &known,
        multiple,
    )?;

    let env_id = props["managedEnvironmentId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let domain = domain(&env_id, &location);
    doc["properties"]["latestRevisionName"] = json!(latest);
    doc["properties"]["latestRevisionFqdn"] = json!(format!("{latest}.{domain}"));
    doc["properties"]["provisioningState"] = json!("InProgress");
    st.resources.insert(app_key.clone(), doc);

    let revision_key = new_revision.as_ref().map(|name| {
        let key = format!("{app_key}/revisions/{}", name.to_lowercase());
        let created = created_time(ctx.now);
        let revision = json!({
            "id": format!("{app_id}/revisions/{name}"),
            "name": name,
            "type": "Microsoft.App/containerApps/revisions",
            "properties": {
                "createdTime": created,
                "lastActiveTime": created,
                "fqdn": format!("{name}.{domain}"),
                "template": template,
                "trafficWeight": 0,
                "active": true,
                "replicas": 0,
                "runningState": "Activating",
                "provisioningState": "Provisioning",
                "healthState": "None",
            }
        });
        st.resources.insert(key.clone(), revision);
        if !multiple {
            // Single mode keeps one active revision: the new one.
            let prefix = format!("{app_key}/revisions/");
            for (k, rev) in st.resources.range_mut(prefix.clone()..) {
                if !k.starts_with(&prefix) {
                    break;
                }
                if *k != key {
                    rev["properties"]["active"] = json!(false);
                }
            }
        }
        key
    });
    let (_, urls) = lro::start(
        ctx,
        st,
        &app_key,
        existing,
        revision_key,
        lro::app_urls(&ctx.shared.base_url, &p.subscription, &location),
    );
    Ok((app_key, urls))
}

/// `2021-05-24T21:24:22+00:00`, as the examples print revision times.
fn created_time(ms: u64) -> String {
    clock::rfc3339_seconds(ms).replace('Z', "+00:00")
}

/// A DNS-1123 label part: lower-case letters, digits and single hyphens,
/// starting and ending alphanumeric.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn validate_suffix(suffix: &str, name: &str) -> Result<(), Reply> {
    if !is_label(suffix) {
        return Err(invalid(
            "ContainerAppInvalidRevisionSuffix",
            format!("properties.template.revisionSuffix '{suffix}' is invalid: use lower-case letters, digits and single '-', starting and ending with a letter or digit (e.g. 'v1-2-3')."),
        ));
    }
    if name.len() > MAX_REVISION_NAME {
        return Err(invalid(
            "ContainerAppInvalidRevisionSuffix",
            format!("The revision name '{name}' is longer than {MAX_REVISION_NAME} characters; shorten properties.template.revisionSuffix."),
        ));
    }
    Ok(())
}

fn validate_traffic(traffic: &Value, known: &[String], multiple: bool) -> Result<(), Reply> {
    let Some(entries) = traffic.as_array() else {
        return Ok(());
    };
    if entries.is_empty() {
        return Ok(());
    }
    let mut sum: i64 = 0;
    let mut labels = BTreeSet::new();
    let mut weighted = 0;
    for (i, entry) in entries.iter().enumerate() {
        let weight = entry["weight"].as_i64().unwrap_or(0);
        if !(0..=100).contains(&weight) {
            return Err(invalid(
                "ContainerAppInvalidTrafficWeight",
                format!("properties.configuration.ingress.traffic[{i}].weight must be between 0 and 100, got {weight}."),
            ));
        }
        sum += weight;
        if weight > 0 {
            weighted += 1;
        }
        let latest = entry["latestRevision"].as_bool().unwrap_or(false);
        match entry["revisionName"].as_str() {
            Some(name) => {
                if latest {
                    return Err(invalid(
                        "ContainerAppInvalidTrafficTarget",
                        format!("properties.configuration.ingress.traffic[{i}] sets both revisionName and latestRevision; use one."),
                    ));
                }
                if !known.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                    return Err(invalid(
                        "ContainerAppRevisionNotFound",
                        format!("properties.configuration.ingress.traffic[{i}].revisionName '{name}' is not a revision of this app."),
                    ));
                }
            }
            None if latest => {}
            None => {
                return Err(invalid(
                    "ContainerAppInvalidTrafficTarget",
                    format!("properties.configuration.ingress.traffic[{i}] needs revisionName or latestRevision: true."),
                ))
            }
        }
        if let Some(label) = entry["label"].as_str() {
            if !is_label(label) || !label.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(invalid(
                    "ContainerAppInvalidTrafficLabel",
                    format!("properties.configuration.ingress.traffic[{i}].label '{label}' is invalid: lower-case letters, digits and '-', starting with a letter."),
                ));
            }
            if !labels.insert(label.to_string()) {
                return Err(invalid(
                    "ContainerAppDuplicateTrafficLabel",
                    format!("properties.configuration.ingress.traffic label '{label}' is used more than once; labels must be unique across revisions."),
                ));
            }
        }
    }
    if sum != 100 {
        return Err(invalid(
            "ContainerAppInvalidTrafficWeight",
            format!("The traffic weights in properties.configuration.ingress.traffic add up to {sum}; they must add up to 100."),
        ));
    }
    if !multiple && (weighted > 1 || !labels.is_empty()) {
        return Err(invalid(
            "ContainerAppSingleRevisionModeTraffic",
            "Traffic can be split and labelled only in Multiple revision mode: set properties.configuration.activeRevisionsMode to 'Multiple'.",
        ));
    }
    Ok(())
}

/// The weight of traffic that the app's ingress sends to `revision`.
pub fn revision_weight(app: &Value, revision: &str) -> i64 {
    let latest = app["properties"]["latestRevisionName"]
        .as_str()
        .unwrap_or("");
    app["properties"]["configuration"]["ingress"]["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| match e["revisionName"].as_str() {
            Some(name) => name.eq_ignore_ascii_case(revision),
            None => {
                e["latestRevision"].as_bool().unwrap_or(false)
                    && latest.eq_ignore_ascii_case(revision)
            }
        })
        .map(|e| e["weight"].as_i64().unwrap_or(0))
        .sum()
}

/// `GET /subscriptions/{s}/providers/Microsoft.App/containerApps`
/// (ContainerApps_ListBySubscription): every app of the subscription, paged
/// as the setting `page_size` says. `None` when the request is not that path.
pub fn list_by_subscription(base_url: &str, st: &State, req: &Incoming) -> Option<Reply> {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let matches = segs.len() == 5
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && segs[2].eq_ignore_ascii_case("providers")
        && segs[3].eq_ignore_ascii_case("Microsoft.App")
        && segs[4].eq_ignore_ascii_case("containerApps");
    if !matches {
        return None;
    }
    if req.method != "GET" {
        return Some(Reply::arm_error(
            405,
            "MethodNotAllowed",
            "A collection only answers GET.",
        ));
    }
    if let Err(reply) = super::require_api_version(req, super::path::APP_API, "containerApps") {
        return Some(reply);
    }
    let prefix = format!("/subscriptions/{}/", segs[1].to_lowercase());
    let value: Vec<Value> = st
        .resources
        .iter()
        .filter(|(k, d)| {
            k.starts_with(&prefix) && d["type"].as_str() == Some("Microsoft.App/containerApps")
        })
        .map(|(_, d)| present(st, d))
        .collect();
    Some(
        match super::paging::page(base_url, st.settings.page_size, req, value, true) {
            Ok(body) => Reply::json(200, body),
            Err(reply) => reply,
        },
    )
}
