//! The generic part of every served type: existence of groups and parents,
//! GET of one resource or a list, DELETE, and dispatch of writes to the
//! provider that knows the type's rules.

use serde_json::{json, Value};

use super::path::{key_of, Kind, ResourcePath, TypeSpec};
use super::{apps, cdn, paging, Ctx};
use crate::front::Incoming;
use crate::reply::Reply;
use crate::state::State;

/// Answers a request on a resource or collection path.
pub fn handle(ctx: &Ctx, st: &mut State, req: &Incoming, p: &ResourcePath) -> Reply {
    let Some(spec) = p.spec else {
        return Reply::arm_error(
            400,
            "InvalidResourceType",
            format!(
                "The resource type '{}' could not be found in the namespace '{}'.",
                p.types.join("/"),
                p.namespace
            ),
        );
    };
    if let Err(reply) = super::require_api_version(req, spec.api_version, &p.types.join("/")) {
        return reply;
    }
    if !st.resource_groups.contains_key(&p.group_key()) {
        return Reply::arm_error(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{}' could not be found.", p.resource_group),
        );
    }
    if let Some(parent) = p.parent_key() {
        if !st.resources.contains_key(&parent) {
            let mut parent_path = p.clone();
            parent_path.types.truncate(p.types.len() - 1);
            parent_path.names.truncate(p.types.len() - 1);
            return Reply::arm_error(
                404,
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                    parent_path.describe()
                ),
            );
        }
    }
    if p.is_collection() {
        if req.method != "GET" {
            return Reply::arm_error(405, "MethodNotAllowed", "A collection only answers GET.");
        }
        return list(ctx, st, req, p, spec);
    }
    match req.method.as_str() {
        "GET" => match st.resources.get(&p.key()) {
            Some(doc) => Reply::json(200, present(st, doc)),
            None => not_found(p),
        },
        "PUT" => match spec.kind {
            Kind::Revision => read_only(),
            Kind::ContainerApp => apps::put(ctx, st, req, p),
            _ => cdn::put(ctx, st, req, p, spec),
        },
        "PATCH" => {
            if !st.resources.contains_key(&p.key()) {
                return not_found(p);
            }
            match spec.kind {
                Kind::Revision => read_only(),
                Kind::ContainerApp => apps::patch(ctx, st, req, p),
                _ => cdn::patch(ctx, st, req, p, spec),
            }
        }
        "DELETE" => delete(st, p, ctx.now),
        _ => Reply::arm_error(
            405,
            "MethodNotAllowed",
            format!("The method '{}' is not supported here.", req.method),
        ),
    }
}

/// ARM's not-found answer for a resource.
pub fn not_found(p: &ResourcePath) -> Reply {
    Reply::arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            p.describe(),
            p.resource_group
        ),
    )
}

fn read_only() -> Reply {
    Reply::arm_error(
        405,
        "MethodNotAllowed",
        "Revisions are created by changing the container app's template; they cannot be written directly.",
    )
}

fn list(ctx: &Ctx, st: &State, req: &Incoming, p: &ResourcePath, spec: &TypeSpec) -> Reply {
    let prefix = format!("{}/", p.key());
    let items: Vec<Value> = st
        .resources
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, _)| !k[prefix.len()..].contains('/'))
        .map(|(_, doc)| present(st, doc))
        .collect();
    let revisions = spec.kind == Kind::Revision;
    match paging::page(
        &ctx.shared.base_url,
        st.settings.page_size,
        req,
        items,
        revisions,
    ) {
        Ok(body) => Reply::json(200, body),
        Err(reply) => reply,
    }
}

fn delete(st: &mut State, p: &ResourcePath, now: u64) -> Reply {
    let key = p.key();
    let children = format!("{key}/");
    let existed = st.resources.remove(&key).is_some();
    st.resources.retain(|k, _| !k.starts_with(&children));
    if existed && key.contains("/providers/microsoft.cdn/") {
        st.publish_edge(now);
    }
    Reply::empty(if existed { 200 } else { 204 })
}

/// A stored document as clients see it: revisions get their current traffic
/// weight from the app's ingress.
pub fn present(st: &State, doc: &Value) -> Value {
    let mut doc = doc.clone();
    let is_revision = doc
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.App/containerApps/revisions"));
    if is_revision {
        let id = doc.get("id").and_then(Value::as_str).unwrap_or("");
        let name = doc.get("name").and_then(Value::as_str).unwrap_or("");
        let app_key = key_of(id)
            .rsplit_once("/revisions/")
            .map(|(a, _)| a.to_string())
            .unwrap_or_default();
        let weight = st
            .resources
            .get(&app_key)
            .map(|app| apps::revision_weight(app, name))
            .unwrap_or(0);
        doc["properties"]["trafficWeight"] = json!(weight);
    }
    doc
}
