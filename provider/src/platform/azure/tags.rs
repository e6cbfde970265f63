//! Tags of any resource through Microsoft.Resources' tags API at scope
//! (`{scope}/providers/Microsoft.Resources/tags/default`), not through the
//! resource's own PATCH: a merge or a delete names only our tags, so the
//! app's other tags (the user's, azurerm's) are never rewritten, a tag write
//! is never a Container App PATCH (no revision, no provisioning state, no
//! conflict with a running app operation), and it needs only the
//! `Microsoft.Resources/tags/write` permission.

use std::collections::BTreeMap;

use azure_core::http::{Method, Url};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::client::{ArmClient, ArmResponse};
use super::error::AzureError;
use super::lro;
use super::resource_id::ResourceId;

/// api-version of the tags API at scope.
pub const TAGS_API_VERSION: &str = "2021-04-01";

/// Tag names to values.
pub type Tags = BTreeMap<String, String>;

/// The tags wrapper resource (`TagsResource`) the API answers.
#[derive(Debug, Clone, Default, Deserialize)]
struct TagsResource {
    #[serde(default)]
    properties: Option<TagsProperties>,
}

/// `Tags`: the set of tags (absent when the resource has none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TagsProperties {
    #[serde(default)]
    tags: Option<Tags>,
}

/// `TagsPatchResource`: the PATCH body.
#[derive(Debug, Serialize)]
struct TagsPatch<'a> {
    operation: &'static str,
    properties: TagsPatchProperties<'a>,
}

#[derive(Debug, Serialize)]
struct TagsPatchProperties<'a> {
    tags: &'a Tags,
}

fn tags_url(client: &ArmClient, scope: &ResourceId) -> Result<Url, AzureError> {
    client.url(
        &format!(
            "{}/providers/Microsoft.Resources/tags/default",
            scope.as_str()
        ),
        TAGS_API_VERSION,
    )
}

fn tags_of(answer: &ArmResponse) -> Result<Tags, AzureError> {
    let resource: TagsResource = answer.json()?;
    Ok(resource.properties.and_then(|p| p.tags).unwrap_or_default())
}

/// The tags of `scope` (empty when it has none).
pub async fn read_tags(
    client: &ArmClient,
    scope: &ResourceId,
    stop: &CancellationToken,
) -> Result<Tags, AzureError> {
    let url = tags_url(client, scope)?;
    tags_of(&client.send(Method::Get, url, None, stop).await?)
}

/// Adds `tags` to `scope` or changes their values; other tags stay.
/// Answers the tags of `scope` afterwards.
pub async fn merge_tags(
    client: &ArmClient,
    scope: &ResourceId,
    tags: &Tags,
    stop: &CancellationToken,
) -> Result<Tags, AzureError> {
    patch(client, scope, "Merge", tags, stop).await
}

/// Removes tags from `scope`, each only while its value is the one given
/// (ARM's name/value pairs of a `Delete`), or whatever its value with an
/// empty one; other tags stay. Answers the tags of `scope` afterwards.
pub async fn delete_tags(
    client: &ArmClient,
    scope: &ResourceId,
    tags: &Tags,
    stop: &CancellationToken,
) -> Result<Tags, AzureError> {
    patch(client, scope, "Delete", tags, stop).await
}

async fn patch(
    client: &ArmClient,
    scope: &ResourceId,
    operation: &'static str,
    tags: &Tags,
    stop: &CancellationToken,
) -> Result<Tags, AzureError> {
    let url = tags_url(client, scope)?;
    let body = TagsPatch {
        operation,
        properties: TagsPatchProperties { tags },
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| AzureError::Decode {
        method: "PATCH".into(),
        path: url.path().to_string(),
        message: format!("cannot serialize the request body: {e}"),
        request_id: None,
    })?;
    let accepted = client
        .send(Method::Patch, url.clone(), Some(bytes), stop)
        .await?;
    // 2021-04-01 answers 200 with the tags; later versions may accept (202)
    // and finish in the background: then the tags are read once it is done.
    match lro::wait(client, &accepted, Some(&url), stop).await? {
        Some(done) => tags_of(&done),
        None => tags_of(&accepted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_body_is_operation_and_properties_tags() {
        let tags = Tags::from([("bluegreen-lock".to_string(), "v".to_string())]);
        let body = TagsPatch {
            operation: "Merge",
            properties: TagsPatchProperties { tags: &tags },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"operation": "Merge", "properties": {"tags": {"bluegreen-lock": "v"}}})
        );
    }

    #[test]
    fn an_answer_without_tags_is_an_empty_set() {
        for body in [
            r#"{"properties":{}}"#,
            r#"{"id":"x"}"#,
            r#"{"properties":{"tags":null}}"#,
        ] {
            let parsed: TagsResource = serde_json::from_str(body).unwrap();
            assert!(parsed
                .properties
                .and_then(|p| p.tags)
                .unwrap_or_default()
                .is_empty());
        }
    }
}
