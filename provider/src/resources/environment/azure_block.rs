//! The `azure` block of `bluegreen_environment`: which Container App runs the
//! colours and which Front Door route and origin groups switch between them.
//! Its own file because it is a concept of its own (ids, their shapes, the
//! canary pair); read with no network, so that `terraform plan` can check it.

use tfplugin::model::Field;
use tfplugin::schema::{Attribute, Block};
use tfplugin::{AttributePath, Diagnostics};

use crate::platform::azure::resource_id::ResourceId;
use crate::platform::azure::AzureTarget;
use crate::platform::TargetSpec;

/// The placeholder `image` must contain.
pub const VERSION_PLACEHOLDER: &str = "{version}";

tfplugin::model! {
    /// The `azure` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct AzureModel {
        /// The Container App whose revision labels `blue` and `green` are the colours.
        pub container_app_id: Field<String>,
        /// The container of the app's template that runs the release.
        pub container_name: Field<String>,
        /// Container image with `{version}`.
        pub image: Field<String>,
        /// The Front Door route switched between the colours.
        pub front_door_route_id: Field<String>,
        /// Origin group whose origin is the `blue` label's host name.
        pub blue_origin_group_id: Field<String>,
        /// Origin group whose origin is the `green` label's host name.
        pub green_origin_group_id: Field<String>,
        /// Origin group with both labels, weighted for a canary.
        pub split_origin_group_id: Field<String>,
        /// Rule set whose rules send listed tenants to the canary.
        pub rule_set_id: Field<String>,
    }
}

/// An `azure` block read for apply: ids, container and image template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureBlockConfig {
    /// The resources a release acts on.
    pub ids: AzureTarget,
    /// The container that runs the release; `None`: the template's only one.
    pub container_name: Option<String>,
    /// Image reference with `{version}`.
    pub image: String,
}

impl AzureBlockConfig {
    /// The platform's spec; `probe_path` is the health check's path.
    pub fn into_spec(self, probe_path: &str) -> TargetSpec {
        TargetSpec::Azure {
            target: self.ids,
            container_name: self.container_name,
            image: self.image,
            probe_path: probe_path.to_string(),
        }
    }
}

/// The block as state records it, from what the platform holds (Read, import):
/// the prior spelling of each id is kept when it names the same resource
/// (ARM ids compare without regard to case), so that a plan shows no change.
pub fn block_value(spec: &TargetSpec, prior: &Field<AzureModel>) -> Option<AzureModel> {
    let TargetSpec::Azure {
        target,
        container_name,
        image,
        ..
    } = spec
    else {
        return None;
    };
    let prior = prior.known().cloned().unwrap_or_default();
    let keep = |held: &Field<String>, truth: Option<&ResourceId>| -> Field<String> {
        match truth {
            None => Field::Null,
            Some(id) => match held.as_deref().map(ResourceId::parse) {
                Some(Ok(h)) if h == *id => held.clone(),
                _ => Field::Known(id.to_string()),
            },
        }
    };
    Some(AzureModel {
        container_app_id: keep(&prior.container_app_id, Some(&target.container_app_id)),
        container_name: Field::from_option(container_name.clone()),
        image: Field::Known(image.clone()),
        front_door_route_id: keep(
            &prior.front_door_route_id,
            Some(&target.front_door_route_id),
        ),
        blue_origin_group_id: keep(
            &prior.blue_origin_group_id,
            Some(&target.blue_origin_group_id),
        ),
        green_origin_group_id: keep(
            &prior.green_origin_group_id,
            Some(&target.green_origin_group_id),
        ),
        split_origin_group_id: keep(
            &prior.split_origin_group_id,
            target.split_origin_group_id.as_ref(),
        ),
        rule_set_id: keep(&prior.rule_set_id, target.rule_set_id.as_ref()),
    })
}

/// The handle of an environment from the `azure` block state holds (read,
/// destroy): `None` when the block is absent or its ids do not parse.
pub fn target_of(block: &Field<AzureModel>) -> Option<AzureTarget> {
    let block = block.known()?;
    let id = |f: &Field<String>| f.as_deref().and_then(|s| ResourceId::parse(s).ok());
    Some(AzureTarget {
        container_app_id: id(&block.container_app_id)?,
        front_door_route_id: id(&block.front_door_route_id)?,
        blue_origin_group_id: id(&block.blue_origin_group_id)?,
        green_origin_group_id: id(&block.green_origin_group_id)?,
        split_origin_group_id: id(&block.split_origin_group_id),
        rule_set_id: id(&block.rule_set_id),
    })
}

/// Whether an import id names a Container App (Azure) rather than an environment (local).
pub fn is_container_app_id(text: &str) -> Option<ResourceId> {
    ResourceId::parse(text)
        .ok()
        .filter(|id| is_kind(id, &CONTAINER_APP))
}

/// The kind of resource each id attribute names, and the shape a diagnostic shows.
struct IdKind {
    /// `Microsoft.App`, compared without regard to case.
    namespace: &'static str,
    /// Types after the namespace, e.g. `["profiles", "originGroups"]`.
    types: &'static [&'static str],
    /// The expected id, for the diagnostic.
    shape: &'static str,
}

const CONTAINER_APP: IdKind = IdKind {
    namespace: "Microsoft.App",
    types: &["containerApps"],
    shape: "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.App/containerApps/<app>",
};
const ROUTE: IdKind = IdKind {
    namespace: "Microsoft.Cdn",
    types: &["profiles", "afdEndpoints", "routes"],
    shape: "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Cdn/profiles/<profile>/afdEndpoints/<endpoint>/routes/<route>",
};
const ORIGIN_GROUP: IdKind = IdKind {
    namespace: "Microsoft.Cdn",
    types: &["profiles", "originGroups"],
    shape: "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Cdn/profiles/<profile>/originGroups/<origin group>",
};
const RULE_SET: IdKind = IdKind {
    namespace: "Microsoft.Cdn",
    types: &["profiles", "ruleSets"],
    shape: "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Cdn/profiles/<profile>/ruleSets/<rule set>",
};

/// The resource types of an id after its namespace: `…/providers/Microsoft.Cdn/profiles/p/originGroups/g` → `[profiles, originGroups]`.
fn types_of(id: &ResourceId) -> Vec<&str> {
    let segments: Vec<&str> = id.as_str().trim_start_matches('/').split('/').collect();
    segments
        .get(6..)
        .unwrap_or_default()
        .iter()
        .step_by(2)
        .copied()
        .collect()
}

/// Whether `id` names a resource of `kind`.
fn is_kind(id: &ResourceId, kind: &IdKind) -> bool {
    let types = types_of(id);
    id.namespace().eq_ignore_ascii_case(kind.namespace)
        && types.len() == kind.types.len()
        && types
            .iter()
            .zip(kind.types)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// The Front Door profile an id of `Microsoft.Cdn/profiles/…` lives in.
fn profile_of(id: &ResourceId) -> String {
    let segments: Vec<&str> = id.as_str().trim_start_matches('/').split('/').collect();
    segments
        .get(..8)
        .map(|s| s.join("/").to_ascii_lowercase())
        .unwrap_or_default()
}

/// Parses the id at `azure.<attr>`: `Ok(None)` when it is null or not known
/// yet (an id from a resource created in the same run), an error diagnostic
/// with the expected shape when it is no id of that kind.
fn id_at(
    value: &Field<String>,
    attr: &str,
    kind: &IdKind,
    diags: &mut Diagnostics,
) -> Option<ResourceId> {
    let text = value.as_deref()?;
    let path = AttributePath::attr("azure").then_attr(attr);
    match ResourceId::parse(text) {
        Ok(id) if is_kind(&id, kind) => Some(id),
        Ok(_) => {
            diags.error_at(
                path,
                format!("azure.{attr} names the wrong kind of resource"),
                format!(
                    "{text:?} is not a {} id. Expected {}; with azurerm, use the resource's `id` attribute.",
                    kind.types.last().copied().unwrap_or_default(),
                    kind.shape
                ),
            );
            None
        }
        Err(e) => {
            diags.error_at(
                path,
                format!("Invalid azure.{attr}"),
                format!("{e}. Expected {}.", kind.shape),
            );
            None
        }
    }
}

/// Reads the block; problems go to `diags` at `azure.<attr>`. Returns the
/// configuration only when every required value is known and valid (plan
/// time may have ids that are known only after apply).
pub fn read(block: &AzureModel, diags: &mut Diagnostics) -> Option<AzureBlockConfig> {
    let at = |attr: &str| AttributePath::attr("azure").then_attr(attr);
    let container_app = id_at(
        &block.container_app_id,
        "container_app_id",
        &CONTAINER_APP,
        diags,
    );
    let route = id_at(
        &block.front_door_route_id,
        "front_door_route_id",
        &ROUTE,
        diags,
    );
    let blue = id_at(
        &block.blue_origin_group_id,
        "blue_origin_group_id",
        &ORIGIN_GROUP,
        diags,
    );
    let green = id_at(
        &block.green_origin_group_id,
        "green_origin_group_id",
        &ORIGIN_GROUP,
        diags,
    );
    let split = id_at(
        &block.split_origin_group_id,
        "split_origin_group_id",
        &ORIGIN_GROUP,
        diags,
    );
    let rule_set = id_at(&block.rule_set_id, "rule_set_id", &RULE_SET, diags);

    // Canary and tenant routing need both: weights in the split group, rules in the rule set.
    match (&block.split_origin_group_id, &block.rule_set_id) {
        (Field::Null, Field::Known(_)) => diags.error_at(
            at("split_origin_group_id"),
            "azure.rule_set_id needs azure.split_origin_group_id",
            "Canary and tenant routing use both: the split group carries the canary's weight, the rule set the rules that send listed tenants to the canary and other tenants to the live colour. Set split_origin_group_id to the origin group holding both labels' origins, or remove rule_set_id.",
        ),
        (Field::Known(_), Field::Null) => diags.error_at(
            at("rule_set_id"),
            "azure.split_origin_group_id needs azure.rule_set_id",
            "Canary and tenant routing use both: the split group carries the canary's weight, the rule set the rules that send listed tenants to the canary and other tenants to the live colour. Set rule_set_id to a rule set attached to the route, or remove split_origin_group_id.",
        ),
        _ => {}
    }

    if let (Some(b), Some(g)) = (&blue, &green) {
        if b == g {
            diags.error_at(
                at("green_origin_group_id"),
                "The colours share an origin group",
                "blue_origin_group_id and green_origin_group_id name the same origin group, so a switch would change nothing. Give each colour its own origin group (its origin the label's host name).",
            );
        }
    }
    // Front Door refuses a route that names another profile's origin group:
    // say so before a release fails at the switch.
    if let Some(route) = &route {
        let profile = profile_of(route);
        let groups = [
            ("blue_origin_group_id", &blue),
            ("green_origin_group_id", &green),
            ("split_origin_group_id", &split),
            ("rule_set_id", &rule_set),
        ];
        for (attr, id) in groups {
            if let Some(id) = id.as_ref().filter(|id| profile_of(id) != profile) {
                diags.error_at(
                    at(attr),
                    format!("azure.{attr} is in another Front Door profile"),
                    format!(
                        "{id} is not in the profile of front_door_route_id ({route}). A route can use only origin groups and rule sets of its own profile."
                    ),
                );
            }
        }
    }

    let image = block.image.as_deref().map(str::to_string);
    if let Some(image) = &image {
        if !image.contains(VERSION_PLACEHOLDER) {
            diags.error_at(
                at("image"),
                "azure.image has no {version}",
                format!("{image:?} would deploy the same image for every version. Put {VERSION_PLACEHOLDER} where the tag goes, e.g. \"myregistry.azurecr.io/orders:{VERSION_PLACEHOLDER}\"."),
            );
        }
    }
    if let Some(name) = block.container_name.as_deref() {
        if name.trim().is_empty() {
            diags.error_at(
                at("container_name"),
                "Empty azure.container_name",
                "Name the container of the app's template that runs the release, or remove container_name when the template has one container.",
            );
        }
    }

    let ids = AzureTarget {
        container_app_id: container_app?,
        front_door_route_id: route?,
        blue_origin_group_id: blue?,
        green_origin_group_id: green?,
        split_origin_group_id: split,
        rule_set_id: rule_set,
    };
    Some(AzureBlockConfig {
        ids,
        container_name: block.container_name.known().cloned(),
        image: image?,
    })
}

/// The block's schema; descriptions are the documentation.
pub fn schema() -> Block {
    Block::new()
        .description(
            "Run the colours on Azure: the revision labels `blue` and `green` of one Container App (Multiple revision mode), \
             behind a Front Door (Standard/Premium) route that one PATCH of its origin group switches between two origin groups. \
             The provider's own `azure` block must be present (credentials and cloud). The infrastructure stays yours: create the app, \
             the route and the origin groups with azurerm (see examples/azure); a release changes only the app's template, its traffic labels \
             and tags, the route's origin group, split origin weights and the rule set's rules, and destroy deletes none of them. \
             Exactly one of `local` and `azure`.",
        )
        .attr(
            Attribute::string("container_app_id")
                .required()
                .force_new()
                .description("Id of the Container App whose revisions are the colours, e.g. `azurerm_container_app.api.id`. Its revision mode must be `Multiple`. Changing it creates a new environment. Import an Azure environment by this id."),
        )
        .attr(Attribute::string("container_name").optional().description(
            "The container of the app's template that runs the release (its image is replaced). Default: the template's only container; required when it has several.",
        ))
        .attr(Attribute::string("image").required().description(
            "Image of a release, with `{version}` where the tag goes, e.g. `myregistry.azurecr.io/orders:{version}`. Each release makes a revision whose suffix is derived from the version.",
        ))
        .attr(Attribute::string("front_door_route_id").required().description(
            "Id of the Front Door route that serves the application (`azurerm_cdn_frontdoor_route.api.id`). A switch is one PATCH of its origin group; the new colour is live once every edge location serves it (see `timeouts`). A change made outside Terraform (portal, CLI) shows as drift in `terraform plan`.",
        ))
        .attr(Attribute::string("blue_origin_group_id").required().description(
            "Id of the origin group whose origin is the `blue` label's host name (`<app>---blue.<environment domain>`).",
        ))
        .attr(Attribute::string("green_origin_group_id").required().description(
            "Id of the origin group whose origin is the `green` label's host name (`<app>---green.<environment domain>`).",
        ))
        .attr(Attribute::string("split_origin_group_id").optional().description(
            "For `bluegreen_traffic_split`: an origin group with both labels' origins, whose weights the canary sets (origins are never deleted or disabled); the route points at it while a canary takes a share of untagged requests. Set together with `rule_set_id`.",
        ))
        .attr(Attribute::string("rule_set_id").optional().description(
            "For `bluegreen_traffic_split`: a rule set of the route's profile, for this environment only, where the provider keeps its rules: `bluegreen<env>` sends listed tenants (by header) to the canary, `bgunlisted<env>` keeps every other tenant on the live colour while the route uses the split group. The provider attaches it to the route if needed. Set together with `split_origin_group_id`.",
        ))
}

#[cfg(test)]
mod tests {
    use tfplugin::model::coverage;

    use super::*;

    const SUB: &str = "/subscriptions/0000/resourceGroups/rg/providers";

    fn block() -> AzureModel {
        AzureModel {
            container_app_id: Field::Known(format!("{SUB}/Microsoft.App/containerApps/orders")),
            container_name: Field::Null,
            image: Field::Known("acr.example/orders:{version}".into()),
            front_door_route_id: Field::Known(format!(
                "{SUB}/Microsoft.Cdn/profiles/fd/afdEndpoints/ep/routes/default"
            )),
            blue_origin_group_id: Field::Known(format!(
                "{SUB}/Microsoft.Cdn/profiles/fd/originGroups/og-blue"
            )),
            green_origin_group_id: Field::Known(format!(
                "{SUB}/microsoft.cdn/PROFILES/fd/origingroups/og-green"
            )),
            split_origin_group_id: Field::Null,
            rule_set_id: Field::Null,
        }
    }

    fn paths(diags: &Diagnostics) -> Vec<String> {
        diags
            .0
            .iter()
            .filter_map(|d| d.path.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn the_model_covers_the_schema() {
        assert_eq!(coverage::<AzureModel>(&schema()), (vec![], vec![]));
    }

    #[test]
    fn reads_a_valid_block_whatever_the_case_of_the_ids() {
        let mut diags = Diagnostics::new();
        let cfg = read(&block(), &mut diags).expect("valid");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.ids.container_app_id.name(), "orders");
        assert_eq!(cfg.image, "acr.example/orders:{version}");
        assert_eq!(cfg.ids.split_origin_group_id, None);
    }

    #[test]
    fn a_malformed_id_points_at_its_attribute_with_the_shape() {
        let mut b = block();
        b.front_door_route_id = Field::Known("default".into());
        let mut diags = Diagnostics::new();
        assert!(read(&b, &mut diags).is_none());
        assert_eq!(paths(&diags), ["azure.front_door_route_id"]);
        let detail = &diags.0[0].detail;
        assert!(
            detail.contains("afdEndpoints/<endpoint>/routes/<route>"),
            "{detail}"
        );
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let mut b = block();
        b.container_app_id = b.blue_origin_group_id.clone();
        let mut diags = Diagnostics::new();
        assert!(read(&b, &mut diags).is_none());
        assert_eq!(paths(&diags), ["azure.container_app_id"]);
        assert!(diags.0[0]
            .detail
            .contains("Microsoft.App/containerApps/<app>"));
    }

    #[test]
    fn image_needs_the_version_placeholder() {
        let mut b = block();
        b.image = Field::Known("acr.example/orders:latest".into());
        let mut diags = Diagnostics::new();
        read(&b, &mut diags);
        assert_eq!(paths(&diags), ["azure.image"]);
    }

    #[test]
    fn split_group_and_rule_set_come_together() {
        let mut b = block();
        b.rule_set_id = Field::Known(format!("{SUB}/Microsoft.Cdn/profiles/fd/ruleSets/tenants"));
        let mut diags = Diagnostics::new();
        read(&b, &mut diags);
        assert_eq!(paths(&diags), ["azure.split_origin_group_id"]);

        b.split_origin_group_id = Field::Known(format!(
            "{SUB}/Microsoft.Cdn/profiles/fd/originGroups/og-split"
        ));
        let mut diags = Diagnostics::new();
        let cfg = read(&b, &mut diags).expect("valid");
        assert!(diags.is_empty(), "{diags:?}");
        assert!(cfg.ids.rule_set_id.is_some());
    }

    #[test]
    fn groups_of_another_profile_and_shared_groups_are_refused() {
        let mut b = block();
        b.green_origin_group_id = Field::Known(format!(
            "{SUB}/Microsoft.Cdn/profiles/other/originGroups/og-green"
        ));
        let mut diags = Diagnostics::new();
        read(&b, &mut diags);
        assert_eq!(paths(&diags), ["azure.green_origin_group_id"]);

        let mut b = block();
        b.green_origin_group_id = b.blue_origin_group_id.clone();
        let mut diags = Diagnostics::new();
        read(&b, &mut diags);
        assert_eq!(paths(&diags), ["azure.green_origin_group_id"]);
    }

    #[test]
    fn state_keeps_the_users_spelling_of_the_ids_the_platform_reports() {
        let written = block();
        let mut diags = Diagnostics::new();
        let spec = read(&written, &mut diags)
            .expect("valid")
            .into_spec("/api/health");
        let TargetSpec::Azure { mut target, .. } = spec.clone() else {
            panic!("not an azure spec: {spec:?}")
        };
        // Front Door answers its own ids in lower case.
        target.green_origin_group_id =
            ResourceId::parse(&target.green_origin_group_id.as_str().to_ascii_lowercase())
                .expect("id");
        let reported = TargetSpec::Azure {
            target,
            container_name: None,
            image: "acr.example/orders:{version}".into(),
            probe_path: "/api/health".into(),
        };
        let state = block_value(&reported, &Field::Known(written.clone())).expect("azure");
        assert_eq!(state, written);
        // Import: no prior block, the platform's spelling.
        let imported = block_value(&reported, &Field::Null).expect("azure");
        assert_eq!(imported.container_app_id, written.container_app_id);
        assert_eq!(
            target_of(&Field::Known(imported)),
            target_of(&Field::Known(written))
        );
    }

    #[test]
    fn import_ids_are_container_apps_or_names() {
        assert!(
            is_container_app_id(&format!("{SUB}/Microsoft.App/containerApps/orders")).is_some()
        );
        assert!(is_container_app_id("orders").is_none());
        assert!(is_container_app_id(&format!("{SUB}/Microsoft.Cdn/profiles/fd")).is_none());
    }

    #[test]
    fn ids_known_only_after_apply_are_not_errors() {
        let mut b = block();
        b.container_app_id = Field::Unknown;
        b.rule_set_id = Field::Unknown;
        let mut diags = Diagnostics::new();
        assert!(read(&b, &mut diags).is_none());
        assert!(diags.is_empty(), "{diags:?}");
    }
}
