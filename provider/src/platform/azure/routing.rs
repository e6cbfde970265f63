//! Routing on Front Door: the route's origin group is the live colour (the
//! switch is one PATCH of it); a canary with a share of untagged requests
//! sends the route to the split origin group, whose two origins (the label
//! addresses) carry the weights; listed tenants are a rule in the rule set
//! that overrides the route's origin group on the tenant header.
//!
//! While the route uses the split group (or the canary's group at 100 %), a
//! second rule, the guard, sends requests that carry the tenant header with a
//! value not listed to the live colour's group (DESIGN §3: a tenant not listed
//! never reaches the canary; the weight applies only to untagged requests).
//! Front Door ANDs a rule's conditions, so the guard is "header present
//! (`Any`)" and "header equals none of the listed (`Equal`, negated)". The two
//! rules never match the same request; both stop the rules engine.
//!
//! In the split group the canary's origin weight is always odd and the
//! primary's even (`10·w + 1` against `10·(100 − w)`), so which colour is the
//! canary is read from Front Door itself, even at 50 %, with no state kept
//! elsewhere; the canary's share is then within 0.1 point of `w`.
//!
//! The routing revision is a hash of everything read here (origin group,
//! rule sets of the route, split weights, the tenant rule). `route()` reads
//! again and compares before writing: a change made between that read and
//! our writes (a window of one ARM round trip; ARM offers no ETag on these
//! PATCHes) is not detected, and the last writer wins.

use super::colors::fnv1a;
use super::models::{List, Origin, Route, Rule};
use super::resource_id::ResourceId;
use super::target::AzureTarget;
use crate::platform::{CanaryRoute, Color, RoutingRevision, RoutingTable};

/// The tenant header when no tenant rule says otherwise (the local platform's default).
pub const DEFAULT_TENANT_HEADER: &str = "X-Tenant-ID";

/// Front Door's origin weight scale: percent × 10.
const WEIGHT_SCALE: u32 = 10;

/// Everything routing-related read from Front Door for one environment.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The route's origin group.
    pub origin_group: Option<ResourceId>,
    /// Rule sets the route runs.
    pub rule_sets: Vec<ResourceId>,
    /// Split group origins as (name, colour, weight), when the route uses the split group.
    pub split: Vec<(String, Color, u32)>,
    /// The provider's tenant rule, if it exists.
    pub rule: Option<Rule>,
    /// The provider's guard for tenants not listed, if it exists.
    pub unlisted: Option<Rule>,
}

/// Rule order of the tenant rule in its rule set.
pub const TENANT_RULE_ORDER: u32 = 1;
/// Rule order of the guard for tenants not listed.
pub const UNLISTED_RULE_ORDER: u32 = 2;

/// The environment's name as rule names allow it (letters and digits).
fn rule_name_part(environment: &str) -> String {
    environment
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(50)
        .collect()
}

/// The name of the tenant rule of `environment`.
pub fn rule_name(environment: &str) -> String {
    format!("bluegreen{}", rule_name_part(environment))
}

/// The name of the guard rule of `environment`; its prefix differs from the
/// tenant rule's from the second letter, so no environment's name can make
/// one collide with the other's.
pub fn unlisted_rule_name(environment: &str) -> String {
    format!("bgunlisted{}", rule_name_part(environment))
}

/// The id of the tenant rule, when the environment has a rule set.
pub fn rule_id(target: &AzureTarget, environment: &str) -> Option<ResourceId> {
    target
        .rule_set_id
        .as_ref()
        .map(|s| s.child("rules", &rule_name(environment)))
}

/// The id of the guard rule, when the environment has a rule set.
pub fn unlisted_rule_id(target: &AzureTarget, environment: &str) -> Option<ResourceId> {
    target
        .rule_set_id
        .as_ref()
        .map(|s| s.child("rules", &unlisted_rule_name(environment)))
}

/// The colour an origin leads to: its host is the label address `<app>---<colour>.…`.
pub fn origin_color(target: &AzureTarget, origin: &Origin) -> Option<Color> {
    let host = origin.properties.as_ref()?.host_name.as_deref()?;
    let app = target.container_app_id.name().to_ascii_lowercase();
    let label = host
        .to_ascii_lowercase()
        .strip_prefix(&format!("{app}---"))?
        .split('.')
        .next()?
        .to_string();
    Color::parse(&label)
}

/// The colour whose origin group `group` is.
pub fn group_color(target: &AzureTarget, group: &ResourceId) -> Option<Color> {
    if *group == target.blue_origin_group_id {
        Some(Color::Blue)
    } else if *group == target.green_origin_group_id {
        Some(Color::Green)
    } else {
        None
    }
}

/// The colour's origin group.
pub fn color_group(target: &AzureTarget, color: Color) -> &ResourceId {
    match color {
        Color::Blue => &target.blue_origin_group_id,
        Color::Green => &target.green_origin_group_id,
    }
}

impl Observed {
    /// From the route, the split group's origins (when the route uses it)
    /// and the two rules (tenant rule, guard).
    pub fn new(
        route: &Route,
        split_origins: Option<List<Origin>>,
        (rule, unlisted): (Option<Rule>, Option<Rule>),
        target: &AzureTarget,
    ) -> Self {
        let props = route.properties.as_ref();
        Observed {
            origin_group: route.origin_group().cloned(),
            rule_sets: props
                .and_then(|p| p.rule_sets.as_ref())
                .map(|r| r.iter().map(|r| r.id.clone()).collect())
                .unwrap_or_default(),
            split: split_origins
                .map(|l| {
                    l.value
                        .iter()
                        .filter_map(|o| {
                            let color = origin_color(target, o)?;
                            let weight = o.properties.as_ref()?.weight.unwrap_or(1000);
                            Some((o.name.clone().unwrap_or_default(), color, weight))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            rule,
            unlisted,
        }
    }

    /// Whether the route sends traffic to the split group.
    pub fn uses_split(&self, target: &AzureTarget) -> bool {
        self.origin_group.is_some() && self.origin_group == target.split_origin_group_id
    }

    /// The opaque token of this routing.
    pub fn revision(&self, target: &AzureTarget) -> RoutingRevision {
        let lower = |id: &ResourceId| id.as_str().to_ascii_lowercase();
        let mut text = format!(
            "og={}",
            self.origin_group.as_ref().map(lower).unwrap_or_default()
        );
        let mut sets: Vec<String> = self.rule_sets.iter().map(lower).collect();
        sets.sort();
        text.push_str(&format!(";rs={}", sets.join(",")));
        if self.uses_split(target) {
            let mut split: Vec<String> = self
                .split
                .iter()
                .map(|(n, c, w)| format!("{}:{c}:{w}", n.to_ascii_lowercase()))
                .collect();
            split.sort();
            text.push_str(&format!(";split={}", split.join(",")));
        }
        if let Some((header, tenants, group)) = self.tenant_rule() {
            text.push_str(&format!(
                ";rule={}|{}|{}",
                header.to_ascii_lowercase(),
                tenants.join(","),
                lower(&group)
            ));
        }
        if let Some(properties) = self.unlisted.as_ref().and_then(|r| r.properties.as_ref()) {
            // Its whole body: a changed guard changes what tagged requests reach.
            let body = serde_json::to_string(properties).unwrap_or_default();
            text.push_str(&format!(";unlisted={}", body.to_ascii_lowercase()));
        }
        RoutingRevision::new(format!("afd-{:016x}", fnv1a(text.as_bytes())))
    }

    /// The tenant rule as (header, tenants, origin group), when it exists and runs.
    fn tenant_rule(&self) -> Option<(String, Vec<String>, ResourceId)> {
        let rule = self.rule.as_ref()?;
        let group = rule.origin_group_override()?.clone();
        let condition = rule
            .properties
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.name == "RequestHeader")?;
        let header = condition.parameters.selector.clone()?;
        let mut tenants = condition
            .parameters
            .match_values
            .clone()
            .unwrap_or_default();
        tenants.sort();
        Some((header, tenants, group))
    }

    /// The routing table this is, for the engine.
    pub fn table(&self, target: &AzureTarget) -> RoutingTable {
        let revision = self.revision(target);
        let mut primary = self
            .origin_group
            .as_ref()
            .and_then(|g| group_color(target, g));
        let mut canary: Option<CanaryRoute> = None;
        if self.uses_split(target) {
            let weight_of = |c: Color| -> u32 {
                self.split
                    .iter()
                    .filter(|(_, oc, _)| *oc == c)
                    .map(|(_, _, w)| *w)
                    .sum()
            };
            let (blue, green) = (weight_of(Color::Blue), weight_of(Color::Green));
            // The odd weight is the canary's; otherwise the smaller one.
            let canary_color = match (blue % 2, green % 2) {
                (1, 0) => Color::Blue,
                (0, 1) => Color::Green,
                _ if blue < green => Color::Blue,
                _ => Color::Green,
            };
            let total = blue + green;
            let share = (weight_of(canary_color) * 100 + total / 2)
                .checked_div(total)
                .map_or(0, |s| s.min(100) as u8);
            primary = Some(canary_color.other());
            canary = Some(CanaryRoute {
                color: canary_color,
                weight: share,
                tenants: Vec::new(),
            });
        }
        let mut tenant_header = self
            .unlisted
            .as_ref()
            .and_then(|r| r.properties.as_ref()?.conditions.as_ref()?.first())
            .and_then(|c| c.parameters.selector.clone())
            .unwrap_or_else(|| DEFAULT_TENANT_HEADER.to_string());
        let rule_runs = self.rule.is_some()
            && self.rule_sets.iter().any(|s| {
                self.rule
                    .as_ref()
                    .and_then(|r| r.id.as_ref())
                    .and_then(ResourceId::parent)
                    .is_some_and(|p| p == *s)
            });
        if let (true, Some((header, tenants, group))) = (rule_runs, self.tenant_rule()) {
            tenant_header = header;
            if let Some(color) = group_color(target, &group) {
                if Some(color) != primary {
                    let c = canary.get_or_insert(CanaryRoute {
                        color,
                        weight: 0,
                        tenants: Vec::new(),
                    });
                    if c.color == color {
                        c.tenants = tenants;
                    }
                }
            }
        }
        RoutingTable {
            revision,
            primary,
            canary,
            tenant_header,
            updated_by: None,
        }
    }
}

/// What the split group's origins should weigh for a canary of `share`
/// percent on `canary`: odd for the canary, even for the primary.
pub fn split_weight(color: Color, canary: Color, share: u8) -> u32 {
    let share = u32::from(share.min(99));
    if color == canary {
        share * WEIGHT_SCALE + 1
    } else {
        (100 - share) * WEIGHT_SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target() -> AzureTarget {
        let id = |s: &str| {
            ResourceId::parse(&format!(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd/{s}"
            ))
            .expect("id")
        };
        AzureTarget {
            container_app_id: ResourceId::parse(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/orders",
            )
            .expect("id"),
            front_door_route_id: id("afdEndpoints/e/routes/r"),
            blue_origin_group_id: id("originGroups/og-blue"),
            green_origin_group_id: id("originGroups/og-green"),
            split_origin_group_id: Some(id("originGroups/og-split")),
            rule_set_id: Some(id("ruleSets/tenants")),
        }
    }

    fn route(group: &str, rule_sets: &[&str]) -> Route {
        let t = target();
        let base = t.blue_origin_group_id.parent().expect("profile");
        serde_json::from_value(json!({"properties": {
            "originGroup": {"id": base.child("originGroups", group).as_str().replace("resourceGroups", "resourcegroups")},
            "ruleSets": rule_sets.iter().map(|s| json!({"id": base.child("ruleSets", s)})).collect::<Vec<_>>(),
        }}))
        .expect("route")
    }

    fn origins(blue: u32, green: u32) -> List<Origin> {
        serde_json::from_value(json!({"value": [
            {"name": "blue", "properties": {"hostName": "orders---blue.env.eastus.azurecontainerapps.io", "weight": blue}},
            {"name": "green", "properties": {"hostName": "ORDERS---green.env.eastus.azurecontainerapps.io", "weight": green}},
        ]}))
        .expect("origins")
    }

    #[test]
    fn primary_from_the_route_group_whatever_the_id_case() {
        let t = target();
        let table = Observed::new(&route("OG-GREEN", &[]), None, (None, None), &t).table(&t);
        assert_eq!(table.primary, Some(Color::Green));
        assert_eq!(table.canary, None);
        assert_eq!(table.tenant_header, DEFAULT_TENANT_HEADER);
        let other = Observed::new(&route("og-blue", &[]), None, (None, None), &t);
        assert_ne!(other.revision(&t), table.revision);
    }

    #[test]
    fn split_weights_name_the_canary_by_parity_even_at_half() {
        let t = target();
        for (share, canary) in [(10u8, Color::Green), (50, Color::Blue), (90, Color::Green)] {
            let w = |c| split_weight(c, canary, share);
            let observed = Observed::new(
                &route("og-split", &[]),
                Some(origins(w(Color::Blue), w(Color::Green))),
                (None, None),
                &t,
            );
            let table = observed.table(&t);
            assert_eq!(table.primary, Some(canary.other()), "{share}");
            let c = table.canary.expect("canary");
            assert_eq!((c.color, c.weight), (canary, share));
        }
    }

    #[test]
    fn a_tenant_rule_that_runs_is_a_canary_with_tenants() {
        let t = target();
        let group = t.green_origin_group_id.clone();
        let mut rule = Rule::header_override(1, "X-Customer", vec!["Acme".into()], group);
        rule.id = rule_id(&t, "orders");
        let not_linked =
            Observed::new(&route("og-blue", &[]), None, (Some(rule.clone()), None), &t);
        assert_eq!(
            not_linked.table(&t).canary,
            None,
            "a rule set the route does not run routes nothing"
        );
        let linked = Observed::new(
            &route("og-blue", &["tenants"]),
            None,
            (Some(rule), None),
            &t,
        );
        let table = linked.table(&t);
        assert_eq!(table.primary, Some(Color::Blue));
        assert_eq!(
            table.canary,
            Some(CanaryRoute {
                color: Color::Green,
                weight: 0,
                tenants: vec!["acme".into()]
            })
        );
        assert_eq!(table.tenant_header, "X-Customer");
        assert_ne!(linked.revision(&t), not_linked.revision(&t));
    }

    /// The guard's conditions as Front Door evaluates them (all must hold;
    /// `Any` needs the header present; negation inverts `Equal` over the
    /// lowercased value), for a request whose tenant header is `value`.
    fn guard_matches(rule: &Rule, value: Option<&str>) -> bool {
        let conditions = rule
            .properties
            .as_ref()
            .and_then(|p| p.conditions.as_ref())
            .expect("conditions");
        conditions.iter().all(|c| {
            let p = &c.parameters;
            let matched = match (value, p.operator.as_deref()) {
                (None, _) => false,
                (Some(_), Some("Any")) => true,
                (Some(v), Some("Equal")) => p
                    .match_values
                    .iter()
                    .flatten()
                    .any(|m| *m == v.to_ascii_lowercase()),
                (_, other) => panic!("operator {other:?} not used by the provider"),
            };
            matched != p.negate_condition.unwrap_or(false)
        })
    }

    #[test]
    fn the_guard_takes_tagged_requests_not_listed_and_nothing_else() {
        let t = target();
        let listed = vec!["Acme".to_string(), "globex".to_string()];
        let guard = Rule::unlisted_override(
            UNLISTED_RULE_ORDER,
            "X-Tenant-ID",
            &listed,
            t.blue_origin_group_id.clone(),
        );
        assert!(guard_matches(&guard, Some("initech")));
        assert!(
            guard_matches(&guard, Some("")),
            "an empty value is a tenant too"
        );
        assert!(!guard_matches(&guard, Some("ACME")), "listed, any case");
        assert!(!guard_matches(&guard, Some("globex")));
        assert!(
            !guard_matches(&guard, None),
            "untagged requests keep the split"
        );
        // No tenant listed: every tagged request stays on the live colour.
        let all = Rule::unlisted_override(2, "X-Tenant-ID", &[], t.blue_origin_group_id.clone());
        assert!(guard_matches(&all, Some("acme")));
        assert!(!guard_matches(&all, None));
        let props = guard.properties.as_ref().expect("properties");
        assert_eq!(props.match_processing_behavior.as_deref(), Some("Stop"));
        assert_ne!(props.order, Some(TENANT_RULE_ORDER));
        assert_eq!(guard.origin_group_override(), Some(&t.blue_origin_group_id));
    }

    #[test]
    fn the_guard_leaves_the_table_alone_but_not_the_revision() {
        let t = target();
        let w = |c| split_weight(c, Color::Green, 20);
        let mut rule = Rule::header_override(
            TENANT_RULE_ORDER,
            "X-Customer",
            vec!["acme".into()],
            t.green_origin_group_id.clone(),
        );
        rule.id = rule_id(&t, "orders");
        let guard = Rule::unlisted_override(
            UNLISTED_RULE_ORDER,
            "X-Customer",
            &["acme".into()],
            t.blue_origin_group_id.clone(),
        );
        let observe = |unlisted: Option<Rule>| {
            Observed::new(
                &route("og-split", &["tenants"]),
                Some(origins(w(Color::Blue), w(Color::Green))),
                (Some(rule.clone()), unlisted),
                &t,
            )
        };
        let (with, without) = (observe(Some(guard.clone())), observe(None));
        let table = with.table(&t);
        assert_eq!(table.primary, Some(Color::Blue));
        assert_eq!(
            table.canary,
            Some(CanaryRoute {
                color: Color::Green,
                weight: 20,
                tenants: vec!["acme".into()]
            })
        );
        assert_eq!(table.tenant_header, "X-Customer");
        assert_eq!(without.table(&t).canary, table.canary);
        assert_ne!(with.revision(&t), without.revision(&t));

        // A weighted canary with no tenant listed: the header is the guard's.
        let alone = Observed::new(
            &route("og-split", &["tenants"]),
            Some(origins(w(Color::Blue), w(Color::Green))),
            (None, Some(guard)),
            &t,
        );
        assert_eq!(alone.table(&t).tenant_header, "X-Customer");
        assert_eq!(
            alone.table(&t).canary.expect("canary").tenants,
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_two_rule_names_never_collide() {
        for (a, b) in [
            ("orders", "unlistedorders"),
            ("bgunlisted", ""),
            ("x", "gunlistedx"),
        ] {
            assert_ne!(rule_name(a), unlisted_rule_name(b));
            assert_ne!(unlisted_rule_name(a), rule_name(b));
        }
        assert_eq!(unlisted_rule_name("orders-eu"), "bgunlistedorderseu");
    }
}
