//! ARM resource ids, compared as ARM compares them: without regard to case.
//! Front Door answers `resourcegroups`/`origingroups` where azurerm and the
//! portal write `resourceGroups`/`originGroups` (azurerm#24136, #30592), so a
//! byte comparison would see drift where there is none.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ARM resource id such as
/// `/subscriptions/…/resourceGroups/rg/providers/Microsoft.App/containerApps/app`.
/// Keeps the spelling it was given; equality and hashing ignore ASCII case.
#[derive(Clone)]
pub struct ResourceId(String);

/// Why a string is not an ARM resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an Azure resource id: {reason} (expected /subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>…)")]
pub struct ResourceIdError {
    /// The rejected value.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ResourceId {
    /// Parses and checks the shape: `/subscriptions/{id}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`
    /// followed by any number of `{type}/{name}` pairs.
    pub fn parse(value: &str) -> Result<ResourceId, ResourceIdError> {
        let err = |reason| ResourceIdError {
            value: value.to_string(),
            reason,
        };
        let trimmed = value.trim().trim_end_matches('/');
        let Some(rest) = trimmed.strip_prefix('/') else {
            return Err(err("it does not start with /"));
        };
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(err("it has an empty segment"));
        }
        if segments.len() < 4
            || !segments[0].eq_ignore_ascii_case("subscriptions")
            || !segments[2].eq_ignore_ascii_case("resourceGroups")
        {
            return Err(err("it does not name a subscription and resource group"));
        }
        // After the group: providers/{namespace} then type/name pairs.
        let tail = &segments[4..];
        if tail.len() < 4
            || !tail[0].eq_ignore_ascii_case("providers")
            || !tail.len().is_multiple_of(2)
        {
            return Err(err(
                "it does not name a resource under providers/<namespace>",
            ));
        }
        if segments.iter().any(|s| s.chars().any(char::is_whitespace)) {
            return Err(err("it contains whitespace"));
        }
        Ok(ResourceId(trimmed.to_string()))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.trim_start_matches('/').split('/')
    }

    /// The subscription id.
    pub fn subscription_id(&self) -> &str {
        self.segments().nth(1).unwrap_or("")
    }

    /// The resource group name.
    pub fn resource_group(&self) -> &str {
        self.segments().nth(3).unwrap_or("")
    }

    /// The provider namespace, e.g. `Microsoft.Cdn`.
    pub fn namespace(&self) -> &str {
        self.segments().nth(5).unwrap_or("")
    }

    /// The last segment: the resource's own name.
    pub fn name(&self) -> &str {
        self.segments().last().unwrap_or("")
    }

    /// The id of the enclosing resource (`…/routes/r` → `…/afdEndpoints/e`),
    /// if this one is a child resource.
    pub fn parent(&self) -> Option<ResourceId> {
        let segments: Vec<&str> = self.segments().collect();
        // subscriptions/s/resourceGroups/g/providers/ns/type/name = 8 segments.
        (segments.len() > 8)
            .then(|| ResourceId(format!("/{}", segments[..segments.len() - 2].join("/"))))
    }

    /// A child resource id: `self/{kind}/{name}`.
    pub fn child(&self, kind: &str, name: &str) -> ResourceId {
        ResourceId(format!("{}/{kind}/{name}", self.0))
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ResourceId {
    type Err = ResourceIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceId::parse(s)
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        ResourceId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const ROUTE: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG/providers/Microsoft.Cdn/profiles/fd/afdEndpoints/ep/routes/default";

    #[test]
    fn front_door_lower_case_spelling_is_the_same_id() {
        let ours = ResourceId::parse(ROUTE).expect("id");
        let answered = ResourceId::parse(
            &ROUTE
                .replace("resourceGroups", "resourcegroups")
                .replace("afdEndpoints", "afdendpoints"),
        )
        .expect("id");
        assert_eq!(ours, answered);
        let set: HashSet<ResourceId> = [ours.clone(), answered.clone()].into_iter().collect();
        assert_eq!(set.len(), 1, "hash must ignore case too");
        // The given spelling is kept for requests and state.
        assert!(answered.as_str().contains("afdendpoints"));
        assert_ne!(
            ours,
            ResourceId::parse(&ROUTE.replace("default", "other")).expect("id")
        );
    }

    #[test]
    fn parts_parent_and_child() {
        let id = ResourceId::parse(ROUTE).expect("id");
        assert_eq!(id.subscription_id(), "00000000-0000-0000-0000-000000000001");
        assert_eq!(id.resource_group(), "RG");
        assert_eq!(id.namespace(), "Microsoft.Cdn");
        assert_eq!(id.name(), "default");
        let endpoint = id.parent().expect("parent");
        assert!(
            endpoint.as_str().ends_with("/afdEndpoints/ep"),
            "{endpoint}"
        );
        assert_eq!(endpoint.child("routes", "DEFAULT"), id);
        let profile = endpoint.parent().expect("profile");
        assert!(profile.parent().is_none());
    }

    #[test]
    fn malformed_ids_are_refused_with_the_reason() {
        for (bad, reason) in [
            (
                "subscriptions/s/resourceGroups/g/providers/A/b/c",
                "does not start with /",
            ),
            ("/subscriptions/s/resourceGroups/g", "providers"),
            (
                "/subscriptions/s/groups/g/providers/A/b/c",
                "subscription and resource group",
            ),
            (
                "/subscriptions/s/resourceGroups/g/providers/A/b",
                "providers",
            ),
            (
                "/subscriptions/s//resourceGroups/g/providers/A/b/c",
                "empty segment",
            ),
        ] {
            let err = ResourceId::parse(bad).expect_err(bad);
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn serde_round_trip_keeps_the_spelling() {
        let id: ResourceId = serde_json::from_str(&format!("{ROUTE:?}")).expect("json");
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            format!("{ROUTE:?}")
        );
        assert!(serde_json::from_str::<ResourceId>("\"not-an-id\"").is_err());
    }
}
