//! ARM resource paths: parsing, the resource types the emulator serves, and
//! canonical ids. Ids are compared case-insensitively through a lower-cased key.

/// The resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Microsoft.App/containerApps`.
    ContainerApp,
    /// `Microsoft.App/containerApps/revisions` (read-only).
    Revision,
    /// `Microsoft.Cdn/profiles`.
    Profile,
    /// `Microsoft.Cdn/profiles/afdEndpoints`.
    AfdEndpoint,
    /// `Microsoft.Cdn/profiles/afdEndpoints/routes`.
    Route,
    /// `Microsoft.Cdn/profiles/originGroups`.
    OriginGroup,
    /// `Microsoft.Cdn/profiles/originGroups/origins`.
    Origin,
    /// `Microsoft.Cdn/profiles/ruleSets`.
    RuleSet,
    /// `Microsoft.Cdn/profiles/ruleSets/rules`.
    Rule,
}

/// A served type: namespace, type segments as ARM spells them in ids, the
/// `type` property, and the api-version enforced.
#[derive(Debug)]
pub struct TypeSpec {
    /// What it is.
    pub kind: Kind,
    /// Provider namespace as ARM spells it.
    pub namespace: &'static str,
    /// Type segments as they appear in the resource's own `id`.
    pub segments: &'static [&'static str],
    /// The `type` property.
    pub type_name: &'static str,
    /// The only api-version accepted.
    pub api_version: &'static str,
}

/// Microsoft.App api-version.
pub const APP_API: &str = "2025-07-01";
/// Microsoft.Cdn api-version.
pub const CDN_API: &str = "2025-06-01";
/// Microsoft.Insights metrics api-version.
pub const INSIGHTS_API: &str = "2024-02-01";

/// Every served type. CDN ids use lower-case type segments and `resourcegroups`,
/// as Front Door answers (while references keep the caller's spelling, the
/// source of azurerm#24136); Container Apps ids use camel case.
pub const TYPES: &[TypeSpec] = &[
    TypeSpec {
        kind: Kind::ContainerApp,
        namespace: "Microsoft.App",
        segments: &["containerApps"],
        type_name: "Microsoft.App/containerApps",
        api_version: APP_API,
    },
    TypeSpec {
        kind: Kind::Revision,
        namespace: "Microsoft.App",
        segments: &["containerApps", "revisions"],
        type_name: "Microsoft.App/containerApps/revisions",
        api_version: APP_API,
    },
    TypeSpec {
        kind: Kind::Profile,
        namespace: "Microsoft.Cdn",
        segments: &["profiles"],
        type_name: "Microsoft.Cdn/profiles",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::AfdEndpoint,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "afdendpoints"],
        type_name: "Microsoft.Cdn/profiles/afdendpoints",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::Route,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "afdendpoints", "routes"],
        type_name: "Microsoft.Cdn/profiles/afdendpoints/routes",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::OriginGroup,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "origingroups"],
        type_name: "Microsoft.Cdn/profiles/origingroups",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::Origin,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "origingroups", "origins"],
        type_name: "Microsoft.Cdn/profiles/origingroups/origins",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::RuleSet,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "rulesets"],
        type_name: "Microsoft.Cdn/profiles/rulesets",
        api_version: CDN_API,
    },
    TypeSpec {
        kind: Kind::Rule,
        namespace: "Microsoft.Cdn",
        segments: &["profiles", "rulesets", "rules"],
        type_name: "Microsoft.Cdn/profiles/rulesets/rules",
        api_version: CDN_API,
    },
];

impl TypeSpec {
    /// The spec of `kind`.
    pub fn of(kind: Kind) -> &'static TypeSpec {
        TYPES.iter().find(|t| t.kind == kind).unwrap_or(&TYPES[0])
    }

    /// Whether ids of this type spell `resourcegroups` in lower case.
    fn lower_case_group(&self) -> bool {
        self.namespace == "Microsoft.Cdn"
    }
}

/// A parsed resource or collection path.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    /// Subscription id as sent.
    pub subscription: String,
    /// Resource group name as sent.
    pub resource_group: String,
    /// Provider namespace as sent.
    pub namespace: String,
    /// The served type, if any.
    pub spec: Option<&'static TypeSpec>,
    /// Type segments as sent.
    pub types: Vec<String>,
    /// Names as sent (one fewer than `types` for a collection).
    pub names: Vec<String>,
}

impl ResourcePath {
    /// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}...`.
    pub fn parse(path: &str) -> Option<ResourcePath> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        if segs.len() < 7
            || !segs[0].eq_ignore_ascii_case("subscriptions")
            || !segs[2].eq_ignore_ascii_case("resourcegroups")
            || !segs[4].eq_ignore_ascii_case("providers")
        {
            return None;
        }
        let rest = &segs[6..];
        let types: Vec<String> = rest.iter().step_by(2).map(|s| s.to_string()).collect();
        let names: Vec<String> = rest
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| s.to_string())
            .collect();
        if types.iter().chain(names.iter()).any(|s| s.is_empty()) {
            return None;
        }
        let spec = TYPES.iter().find(|t| {
            t.namespace.eq_ignore_ascii_case(segs[5])
                && t.segments.len() == types.len()
                && t.segments
                    .iter()
                    .zip(&types)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        Some(ResourcePath {
            subscription: segs[1].to_string(),
            resource_group: segs[3].to_string(),
            namespace: segs[5].to_string(),
            spec,
            types,
            names,
        })
    }

    /// Whether the path names a collection (a list) rather than one resource.
    pub fn is_collection(&self) -> bool {
        self.names.len() < self.types.len()
    }

    /// Lower-cased key of the resource group.
    pub fn group_key(&self) -> String {
        group_key(&self.subscription, &self.resource_group)
    }

    /// Lower-cased key of the named resource (or of the collection's parent
    /// plus the collection type, for lists).
    pub fn key(&self) -> String {
        let mut key = format!("{}/providers/{}", self.group_key(), self.namespace).to_lowercase();
        for (i, t) in self.types.iter().enumerate() {
            key.push('/');
            key.push_str(&t.to_lowercase());
            if let Some(n) = self.names.get(i) {
                key.push('/');
                key.push_str(&n.to_lowercase());
            }
        }
        key
    }

    /// Key of the parent resource, if this is a child (or a child collection).
    pub fn parent_key(&self) -> Option<String> {
        if self.types.len() < 2 {
            return None;
        }
        let mut parent = self.clone();
        parent.types.truncate(self.types.len() - 1);
        parent.names.truncate(self.types.len() - 1);
        Some(parent.key())
    }

    /// The last name (the resource's own).
    pub fn name(&self) -> &str {
        self.names.last().map(String::as_str).unwrap_or("")
    }

    /// ARM's phrase for the resource in a not-found message, e.g.
    /// `Microsoft.Cdn/profiles/p1/afdendpoints/e1`.
    pub fn describe(&self) -> String {
        let mut s = self.namespace.clone();
        for (i, t) in self.types.iter().enumerate() {
            s.push('/');
            s.push_str(t);
            if let Some(n) = self.names.get(i) {
                s.push('/');
                s.push_str(n);
            }
        }
        s
    }
}

/// Lower-cased key of a resource group.
pub fn group_key(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourcegroups/{group}").to_lowercase()
}

/// Lower-cased key of any id.
pub fn key_of(id: &str) -> String {
    format!("/{}", id.trim_matches('/')).to_lowercase()
}

/// The canonical id of a new top-level resource.
pub fn top_level_id(spec: &TypeSpec, subscription: &str, group: &str, name: &str) -> String {
    let groups = if spec.lower_case_group() {
        "resourcegroups"
    } else {
        "resourceGroups"
    };
    format!(
        "/subscriptions/{subscription}/{groups}/{group}/providers/{}/{}/{name}",
        spec.namespace, spec.segments[0]
    )
}

/// The canonical id of a child under `parent_id`.
pub fn child_id(spec: &TypeSpec, parent_id: &str, name: &str) -> String {
    let segment = spec.segments.last().copied().unwrap_or("");
    format!("{parent_id}/{segment}/{name}")
}
