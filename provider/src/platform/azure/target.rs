//! The Azure resources one environment acts on: its Container App (whose
//! `blue`/`green` revision labels are the colours), the Front Door route that
//! is switched, the two colour origin groups and, for canary and tenants, the
//! split origin group and the rule set holding the tenant rule.

use std::collections::BTreeMap;

use super::resource_id::ResourceId;

/// The Azure resources an environment acts on (the environment's `azure` block, or recovered by locate()).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AzureTarget {
    /// `Microsoft.App/containerApps` in Multiple revision mode.
    pub container_app_id: ResourceId,
    /// `Microsoft.Cdn/profiles/afdEndpoints/routes`: the switch.
    pub front_door_route_id: ResourceId,
    /// Origin group whose origin is the app's `blue` label address.
    pub blue_origin_group_id: ResourceId,
    /// Origin group whose origin is the app's `green` label address.
    pub green_origin_group_id: ResourceId,
    /// Origin group with both label origins, weighted for a canary.
    pub split_origin_group_id: Option<ResourceId>,
    /// Rule set (of the route's profile) where the tenant rule is written.
    pub rule_set_id: Option<ResourceId>,
}

/// Tag naming the environment on its Container App (what `locate` looks for).
pub const ENVIRONMENT_TAG: &str = "bluegreen-environment";
const ROUTE_TAG: &str = "bluegreen-route";
const BLUE_TAG: &str = "bluegreen-blue-origin-group";
const GREEN_TAG: &str = "bluegreen-green-origin-group";
const SPLIT_TAG: &str = "bluegreen-split-origin-group";
const RULE_SET_TAG: &str = "bluegreen-rule-set";
/// Image template with `{version}` (deploy needs it; it has no spec).
pub const IMAGE_TAG: &str = "bluegreen-image";
/// Container whose image a deploy sets (absent: the only one).
pub const CONTAINER_TAG: &str = "bluegreen-container";
/// Path the propagation probe asks on the edge.
pub const PROBE_PATH_TAG: &str = "bluegreen-probe-path";

/// Every tag name the provider writes on the app for an environment (what
/// destroy removes; the lock tag is lock.rs's).
pub const ID_TAGS: &[&str] = &[
    ENVIRONMENT_TAG,
    ROUTE_TAG,
    BLUE_TAG,
    GREEN_TAG,
    SPLIT_TAG,
    RULE_SET_TAG,
    IMAGE_TAG,
    CONTAINER_TAG,
    PROBE_PATH_TAG,
];

/// ARM's limit on a tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;

/// What the provider keeps on the app so that a fresh process (import,
/// destroy, a resource naming only the environment) finds everything again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDefinition {
    /// The environment's name.
    pub environment: String,
    /// Its resources.
    pub target: AzureTarget,
    /// Image template with `{version}`.
    pub image: String,
    /// Container to set the image of.
    pub container_name: Option<String>,
    /// Probe path on the edge.
    pub probe_path: String,
}

impl KeptDefinition {
    /// The tags that record it (optional parts absent are written empty, so
    /// a stale value is overwritten rather than left behind).
    pub fn to_tags(&self) -> BTreeMap<String, String> {
        let t = &self.target;
        let opt = |id: &Option<ResourceId>| id.as_ref().map(|i| i.to_string()).unwrap_or_default();
        [
            (ENVIRONMENT_TAG, self.environment.clone()),
            (ROUTE_TAG, t.front_door_route_id.to_string()),
            (BLUE_TAG, t.blue_origin_group_id.to_string()),
            (GREEN_TAG, t.green_origin_group_id.to_string()),
            (SPLIT_TAG, opt(&t.split_origin_group_id)),
            (RULE_SET_TAG, opt(&t.rule_set_id)),
            (IMAGE_TAG, self.image.clone()),
            (
                CONTAINER_TAG,
                self.container_name.clone().unwrap_or_default(),
            ),
            (PROBE_PATH_TAG, self.probe_path.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Reads it back from the app's tags; `Err` says which tag is missing or bad.
    pub fn from_tags(app: &ResourceId, tags: &BTreeMap<String, String>) -> Result<Self, String> {
        let get = |name: &str| {
            tags.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let id = |name: &str| -> Result<Option<ResourceId>, String> {
            get(name)
                .map(|v| ResourceId::parse(&v).map_err(|e| format!("tag {name} on {app}: {e}")))
                .transpose()
        };
        let required = |name: &str| -> Result<ResourceId, String> {
            id(name)?.ok_or_else(|| format!("the Container App {app} has no tag {name}"))
        };
        Ok(KeptDefinition {
            environment: get(ENVIRONMENT_TAG)
                .ok_or_else(|| format!("the Container App {app} has no tag {ENVIRONMENT_TAG}"))?,
            target: AzureTarget {
                container_app_id: app.clone(),
                front_door_route_id: required(ROUTE_TAG)?,
                blue_origin_group_id: required(BLUE_TAG)?,
                green_origin_group_id: required(GREEN_TAG)?,
                split_origin_group_id: id(SPLIT_TAG)?,
                rule_set_id: id(RULE_SET_TAG)?,
            },
            image: get(IMAGE_TAG).unwrap_or_default(),
            container_name: get(CONTAINER_TAG),
            probe_path: get(PROBE_PATH_TAG).unwrap_or_else(|| "/".to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd/{s}"
        ))
        .expect("id")
    }

    #[test]
    fn kept_definition_round_trips_through_tags() {
        let app = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/orders",
        )
        .expect("id");
        let kept = KeptDefinition {
            environment: "orders".into(),
            target: AzureTarget {
                container_app_id: app.clone(),
                front_door_route_id: id("afdEndpoints/e/routes/r"),
                blue_origin_group_id: id("originGroups/b"),
                green_origin_group_id: id("originGroups/g"),
                split_origin_group_id: None,
                rule_set_id: Some(id("ruleSets/t")),
            },
            image: "reg/orders:{version}".into(),
            container_name: None,
            probe_path: "/api/health".into(),
        };
        let tags = kept.to_tags();
        assert_eq!(tags[SPLIT_TAG], "", "absent parts are written empty");
        assert_eq!(KeptDefinition::from_tags(&app, &tags), Ok(kept));
        let mut missing = tags.clone();
        missing.remove(ROUTE_TAG);
        let err = KeptDefinition::from_tags(&app, &missing).expect_err("missing");
        assert!(err.contains(ROUTE_TAG), "{err}");
    }
}
