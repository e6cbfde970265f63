//! Microsoft.Resources tags at scope (`{scope}/providers/Microsoft.Resources/tags/default`,
//! api-version 2021-04-01) on any stored resource: GET, PUT (replace the
//! set), PATCH with `operation` Merge / Replace / Delete, DELETE (remove the
//! set). The tags live in the resource document's `tags`, so the resource's
//! own GET shows them; a tags write is no write of the resource (no
//! operation, no revision, nothing published to the edge). Tag names compare
//! without regard to case, as ARM's do.

use serde_json::{json, Map, Value};

use super::path::key_of;
use crate::front::Incoming;
use crate::reply::Reply;
use crate::state::State;

/// api-version of the tags API.
pub const RESOURCES_API: &str = "2021-04-01";

/// The path suffix that names a scope's tags.
pub const SUFFIX: &str = "/providers/microsoft.resources/tags/default";

/// ARM's limits on tags (a storage account's names are shorter; not emulated).
const MAX_TAGS: usize = 50;
const MAX_NAME: usize = 512;
const MAX_VALUE: usize = 256;
const FORBIDDEN_IN_NAMES: &[char] = &['<', '>', '%', '&', '\\', '?', '/'];

/// Whether `lower_path` (lower-cased) names a scope's tags.
pub fn is_tags_path(lower_path: &str) -> bool {
    lower_path.trim_end_matches('/').ends_with(SUFFIX)
}

/// Answers a request on `{scope}/providers/Microsoft.Resources/tags/default`.
pub fn handle(st: &mut State, req: &Incoming) -> Reply {
    if let Err(reply) = super::require_api_version(req, RESOURCES_API, "tags") {
        return reply;
    }
    let path = req.path.trim_end_matches('/');
    let scope = &path[..path.len() - SUFFIX.len()];
    let key = key_of(scope);
    let Some(doc) = st.resources.get_mut(&key) else {
        return Reply::arm_error(
            404,
            "ResourceNotFound",
            format!("The Resource '{scope}' was not found; tags can only be read or written on an existing resource."),
        );
    };
    let current = doc
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let next = match req.method.as_str() {
        "GET" => current,
        "DELETE" => Map::new(),
        "PUT" | "PATCH" => {
            let body = match req.json() {
                Ok(Some(b)) => b,
                Ok(None) => return invalid("The request body is required."),
                Err(reply) => return reply,
            };
            let given = match parse_tags(&body) {
                Ok(t) => t,
                Err(reply) => return reply,
            };
            let operation = if req.method == "PUT" {
                Some("replace".to_string())
            } else {
                body.get("operation")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            };
            match operation.as_deref() {
                Some("replace") => given,
                Some("merge") => merge(current, given),
                Some("delete") => delete(current, &given),
                _ => return invalid("The operation must be one of 'Replace', 'Merge', 'Delete'."),
            }
        }
        other => {
            return Reply::arm_error(
                405,
                "MethodNotAllowed",
                format!("The method '{other}' is not supported on tags."),
            )
        }
    };
    if let Err(reply) = check_limits(&next) {
        return reply;
    }
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(scope)
        .to_string();
    if req.method != "GET" {
        doc["tags"] = Value::Object(next.clone());
    }
    Reply::json(
        200,
        json!({
            "id": format!("{id}/providers/Microsoft.Resources/tags/default"),
            "name": "default",
            "type": "Microsoft.Resources/tags",
            "properties": {"tags": next},
        }),
    )
}

fn invalid(message: &str) -> Reply {
    Reply::arm_error(400, "InvalidRequestContent", message)
}

/// `properties.tags` of a body: names to string values.
fn parse_tags(body: &Value) -> Result<Map<String, Value>, Reply> {
    let Some(tags) = body.pointer("/properties/tags") else {
        return Ok(Map::new());
    };
    let Some(tags) = tags.as_object() else {
        return Err(invalid(
            "properties.tags must be an object of names to values.",
        ));
    };
    for (name, value) in tags {
        if !value.is_string() {
            return Err(invalid(&format!(
                "The value of tag '{name}' must be a string."
            )));
        }
    }
    Ok(tags.clone())
}

fn same_name<'a>(tags: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    tags.keys().find(|k| k.eq_ignore_ascii_case(name))
}

/// New names are added, existing ones (any case) take the new value and keep their spelling.
fn merge(mut current: Map<String, Value>, given: Map<String, Value>) -> Map<String, Value> {
    for (name, value) in given {
        let existing = same_name(&current, &name).cloned();
        current.insert(existing.unwrap_or(name), value);
    }
    current
}

/// Each given name is removed when its value is the one given, or whatever
/// its value when the given one is empty.
fn delete(mut current: Map<String, Value>, given: &Map<String, Value>) -> Map<String, Value> {
    for (name, value) in given {
        let Some(existing) = same_name(&current, name).cloned() else {
            continue;
        };
        let wanted = value.as_str().unwrap_or_default();
        if wanted.is_empty() || current[&existing].as_str() == Some(wanted) {
            current.remove(&existing);
        }
    }
    current
}

fn check_limits(tags: &Map<String, Value>) -> Result<(), Reply> {
    if tags.len() > MAX_TAGS {
        return Err(Reply::arm_error(
            400,
            "TooManyTags",
            format!(
                "A resource can have at most {MAX_TAGS} tags; this would give it {}.",
                tags.len()
            ),
        ));
    }
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(Reply::arm_error(
                400,
                "InvalidTagNameLength",
                format!("The tag name '{name}' must have 1 to {MAX_NAME} characters."),
            ));
        }
        if name.contains(FORBIDDEN_IN_NAMES) {
            return Err(Reply::arm_error(
                400,
                "InvalidTagNameCharacters",
                format!(
                    "The tag name '{name}' has characters that are not allowed: '<,>,%,&,\\,?,/'."
                ),
            ));
        }
        if value.as_str().unwrap_or_default().chars().count() > MAX_VALUE {
            return Err(Reply::arm_error(
                400,
                "InvalidTagValueLength",
                format!("The value of tag '{name}' exceeds {MAX_VALUE} characters."),
            ));
        }
    }
    Ok(())
}
