//! Microsoft.Cdn (Front Door Standard/Premium): profiles, endpoints, routes,
//! origin groups, origins, rule sets and rules, shaped as Microsoft's
//! 2025-06-01 examples, with the references and ranges Front Door validates.

use serde_json::{json, Value};

use super::lro::{self, POLL_RETRY_AFTER};
use super::merge::merge;
use super::path::{child_id, key_of, top_level_id, Kind, ResourcePath, TypeSpec};
use super::resources::present;
use super::Ctx;
use crate::front::Incoming;
use crate::ids;
use crate::reply::Reply;
use crate::state::State;

/// PUT: create or replace.
pub fn put(ctx: &Ctx, st: &mut State, req: &Incoming, p: &ResourcePath, spec: &TypeSpec) -> Reply {
    let body = match req.json() {
        Ok(b) => b.unwrap_or_else(|| json!({})),
        Err(reply) => return reply,
    };
    if !body.is_object() {
        return bad_request("The request body must be a JSON object.");
    }
    let key = p.key();
    let existing = st.resources.get(&key).cloned();
    let id = match &existing {
        Some(doc) => doc["id"].as_str().unwrap_or_default().to_string(),
        None => match p.parent_key().and_then(|k| st.resources.get(&k)) {
            Some(parent) => child_id(spec, parent["id"].as_str().unwrap_or_default(), p.name()),
            None => {
                let group = st
                    .resource_groups
                    .get(&p.group_key())
                    .cloned()
                    .unwrap_or_else(|| p.resource_group.clone());
                top_level_id(spec, &p.subscription, &group, p.name())
            }
        },
    };
    let name = id.rsplit('/').next().unwrap_or_default().to_string();
    let parent_name = p
        .names
        .len()
        .checked_sub(2)
        .and_then(|i| p.names.get(i))
        .cloned()
        .unwrap_or_default();
    let mut doc = defaults(spec, &id, &name, &parent_name);
    // Top-level fields a client may set.
    for field in ["location", "sku", "tags", "identity"] {
        if let Some(v) = body.get(field) {
            if !v.is_null() {
                doc[field] = v.clone();
            }
        }
    }
    if let Some(props) = body.get("properties") {
        merge(&mut doc["properties"], props);
    }
    if let Err(reply) = validate(st, spec.kind, &doc, p, true) {
        return reply;
    }
    write(ctx, st, p, spec, key, doc, existing)
}

/// PATCH: merge into the existing resource.
pub fn patch(
    ctx: &Ctx,
    st: &mut State,
    req: &Incoming,
    p: &ResourcePath,
    spec: &TypeSpec,
) -> Reply {
    let body = match req.json() {
        Ok(Some(b)) if b.is_object() => b,
        Ok(_) => return bad_request("The request body must be a JSON object."),
        Err(reply) => return reply,
    };
    let key = p.key();
    let Some(existing) = st.resources.get(&key).cloned() else {
        return super::resources::not_found(p);
    };
    let mut doc = existing.clone();
    if let Some(props) = body.get("properties") {
        merge(&mut doc["properties"], props);
    }
    for field in ["tags", "sku", "identity"] {
        if let Some(v) = body.get(field) {
            if !v.is_null() {
                doc[field] = v.clone();
            }
        }
    }
    if let Err(reply) = validate(st, spec.kind, &doc, p, false) {
        return reply;
    }
    write(ctx, st, p, spec, key, doc, Some(existing))
}

fn write(
    ctx: &Ctx,
    st: &mut State,
    p: &ResourcePath,
    spec: &TypeSpec,
    key: String,
    mut doc: Value,
    existing: Option<Value>,
) -> Reply {
    let created = existing.is_none();
    // Rule sets are synchronous (their spec declares only 200/201).
    if spec.kind == Kind::RuleSet {
        doc["properties"]["provisioningState"] = json!("Succeeded");
        st.resources.insert(key, doc.clone());
        return Reply::json(if created { 201 } else { 200 }, doc);
    }
    doc["properties"]["provisioningState"] = json!(if created { "Creating" } else { "Updating" });
    st.resources.insert(key.clone(), doc);
    let group = st
        .resource_groups
        .get(&p.group_key())
        .cloned()
        .unwrap_or_else(|| p.resource_group.clone());
    let (_, urls) = lro::start(
        ctx,
        st,
        &key,
        existing,
        None,
        lro::cdn_urls(&ctx.shared.base_url, &p.subscription, &group),
    );
    let body = st
        .resources
        .get(&key)
        .map(|d| present(st, d))
        .unwrap_or(Value::Null);
    Reply::json(202, body)
        .header("Azure-AsyncOperation", urls.status)
        .header("Location", urls.location)
        .header("Retry-After", POLL_RETRY_AFTER)
}

fn bad_request(message: impl Into<String>) -> Reply {
    Reply::arm_error(400, "BadRequest", message)
}

/// A new resource of `spec` with every field Microsoft's examples show.
fn defaults(spec: &TypeSpec, id: &str, name: &str, parent_name: &str) -> Value {
    let base = |properties: Value| {
        json!({
            "name": name,
            "type": spec.type_name,
            "id": id,
            "properties": properties,
        })
    };
    match spec.kind {
        Kind::Profile => {
            let mut doc = base(json!({
                "frontDoorId": ids::uuid(),
                "logScrubbing": {"scrubbingRules": [], "state": "Disabled"},
                "originResponseTimeoutSeconds": 30,
                "provisioningState": "Creating",
                "resourceState": "Active",
                "extendedProperties": {},
            }));
            doc["kind"] = json!("frontdoor");
            doc["location"] = json!("global");
            doc["sku"] = json!({"name": "Standard_AzureFrontDoor"});
            doc["tags"] = json!({});
            doc
        }
        Kind::AfdEndpoint => {
            let mut doc = base(json!({
                "autoGeneratedDomainNameLabelScope": "TenantReuse",
                "deploymentStatus": "NotStarted",
                "enabledState": "Enabled",
                "hostName": format!("{}-{}.z01.azurefd.net", name.to_lowercase(), ids::alnum(16)),
                "provisioningState": "Creating",
            }));
            doc["location"] = json!("global");
            doc["tags"] = json!({});
            doc
        }
        Kind::Route => base(json!({
            "cacheConfiguration": null,
            "customDomains": [],
            "deploymentStatus": "NotStarted",
            "enabledState": "Enabled",
            "forwardingProtocol": "MatchRequest",
            "httpsRedirect": "Disabled",
            "linkToDefaultDomain": "Enabled",
            "originGroup": null,
            "originPath": null,
            "patternsToMatch": ["/*"],
            "provisioningState": "Creating",
            "ruleSets": [],
            "supportedProtocols": ["Http", "Https"],
        })),
        Kind::OriginGroup => base(json!({
            "authentication": null,
            "deploymentStatus": "NotStarted",
            "healthProbeSettings": null,
            "loadBalancingSettings": {
                "additionalLatencyInMilliseconds": 50,
                "sampleSize": 4,
                "successfulSamplesRequired": 3,
            },
            "provisioningState": "Creating",
            "sessionAffinityState": "Disabled",
            "trafficRestorationTimeToHealedOrNewEndpointsInMinutes": 10,
        })),
        Kind::Origin => base(json!({
            "deploymentStatus": "NotStarted",
            "enabledState": "Enabled",
            "enforceCertificateNameCheck": true,
            "hostName": null,
            "httpPort": 80,
            "httpsPort": 443,
            "originGroupName": parent_name,
            "originHostHeader": null,
            "priority": null,
            "provisioningState": "Creating",
            "sharedPrivateLinkResource": null,
            "weight": null,
        })),
        Kind::RuleSet => base(json!({
            "deploymentStatus": "NotStarted",
            "provisioningState": "Creating",
        })),
        Kind::Rule => base(json!({
            "actions": [],
            "conditions": [],
            "deploymentStatus": "NotStarted",
            "matchProcessingBehavior": "Continue",
            "order": null,
            "provisioningState": "Creating",
        })),
        Kind::ContainerApp | Kind::Revision => base(json!({})),
    }
}

/// Front Door's checks on a resource about to be written.
fn validate(
    st: &State,
    kind: Kind,
    doc: &Value,
    p: &ResourcePath,
    is_put: bool,
) -> Result<(), Reply> {
    let props = &doc["properties"];
    let profile_key = profile_key(p);
    match kind {
        Kind::Origin => {
            if props["hostName"].as_str().is_none_or(str::is_empty) {
                return Err(bad_request(
                    "Property 'properties.hostName' is required for an origin.",
                ));
            }
            range(props, "weight", 1, 1000)?;
            range(props, "priority", 1, 5)?;
            range(props, "httpPort", 1, 65535)?;
            range(props, "httpsPort", 1, 65535)?;
        }
        Kind::Route => {
            let Some(og) = props["originGroup"]["id"].as_str() else {
                return Err(bad_request(
                    "Property 'properties.originGroup.id' is required for a route.",
                ));
            };
            require_in_profile(st, &profile_key, og, "/origingroups/", "originGroup")?;
            if let Some(sets) = props["ruleSets"].as_array() {
                for set in sets {
                    let id = set["id"].as_str().unwrap_or("");
                    require_in_profile(st, &profile_key, id, "/rulesets/", "ruleSets")?;
                }
            }
        }
        Kind::OriginGroup => {
            range(
                props,
                "trafficRestorationTimeToHealedOrNewEndpointsInMinutes",
                0,
                50,
            )?;
            range(
                &props["healthProbeSettings"],
                "probeIntervalInSeconds",
                1,
                255,
            )?;
        }
        Kind::Rule => {
            if props["order"].as_i64().is_none() {
                return Err(bad_request(
                    "Property 'properties.order' is required for a rule.",
                ));
            }
            if is_put && props["actions"].as_array().is_none_or(Vec::is_empty) {
                return Err(bad_request(
                    "A rule needs at least one action in 'properties.actions'.",
                ));
            }
            for action in props["actions"].as_array().into_iter().flatten() {
                let og = &action["parameters"]["originGroupOverride"]["originGroup"]["id"];
                if let Some(og) = og.as_str() {
                    require_in_profile(
                        st,
                        &profile_key,
                        og,
                        "/origingroups/",
                        "actions[].parameters.originGroupOverride.originGroup",
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn range(props: &Value, field: &str, min: i64, max: i64) -> Result<(), Reply> {
    match &props[field] {
        Value::Null => Ok(()),
        v => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(bad_request(format!(
                "Property '{field}' must be an integer between {min} and {max}, got {v}."
            ))),
        },
    }
}

/// Key of the profile a CDN path is under.
fn profile_key(p: &ResourcePath) -> String {
    let mut profile = p.clone();
    profile.types.truncate(1);
    profile.names.truncate(1);
    profile.key()
}

/// A referenced id must name an existing resource of that type in the same
/// profile (compared case-insensitively).
fn require_in_profile(
    st: &State,
    profile_key: &str,
    id: &str,
    segment: &str,
    field: &str,
) -> Result<(), Reply> {
    let key = key_of(id);
    let in_profile = key.starts_with(&format!("{profile_key}/")) && key.contains(segment);
    if !in_profile || !st.resources.contains_key(&key) {
        return Err(bad_request(format!(
            "Property '{field}' refers to '{id}', which is not an existing resource of this profile."
        )));
    }
    Ok(())
}
