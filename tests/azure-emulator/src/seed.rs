//! Seeding: the infrastructure azurerm would have created for one blue-green
//! environment (resource group, container app in Multiple revision mode, Front
//! Door profile, endpoint, blue/green/split origin groups, route, rule set),
//! made through the emulator's own ARM handlers so it is shaped exactly as
//! API-created resources are.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::arm::path::{group_key, ResourcePath, APP_API, CDN_API};
use crate::arm::{lro, resources, Ctx};
use crate::front::Incoming;
use crate::state::State;
use crate::Shared;

/// What to create; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedSpec {
    /// Resource group name.
    pub resource_group: String,
    /// Azure region of the app.
    pub location: String,
    /// Managed environment name (only referenced, not served).
    pub environment: String,
    /// Container app name.
    pub app: String,
    /// Image of the app's first revision.
    pub image: String,
    /// Ingress target port.
    pub target_port: u16,
    /// Front Door profile name.
    pub profile: String,
    /// AFD endpoint name.
    pub endpoint: String,
    /// Route name.
    pub route: String,
    /// Origin group that sends everything to the `blue` label.
    pub blue_origin_group: String,
    /// Origin group that sends everything to the `green` label.
    pub green_origin_group: String,
    /// Origin group with both labels as weighted origins (canary).
    pub split_origin_group: String,
    /// Rule set for tenant overrides.
    pub rule_set: String,
}

impl Default for SeedSpec {
    fn default() -> Self {
        SeedSpec {
            resource_group: "rg-bluegreen".into(),
            location: "East US".into(),
            environment: "env-bluegreen".into(),
            app: "orders".into(),
            image: "agog/orders:0.0.0".into(),
            target_port: 8080,
            profile: "fd-bluegreen".into(),
            endpoint: "orders".into(),
            route: "default".into(),
            blue_origin_group: "og-blue".into(),
            green_origin_group: "og-green".into(),
            split_origin_group: "og-split".into(),
            rule_set: "tenants".into(),
        }
    }
}

/// The ids of what was seeded, spelled as azurerm reports them.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group name.
    pub resource_group: String,
    /// `azurerm_container_app.id`.
    pub container_app_id: String,
    /// The app's default ingress FQDN.
    pub app_fqdn: String,
    /// `azurerm_cdn_frontdoor_profile.id`.
    pub profile_id: String,
    /// `azurerm_cdn_frontdoor_endpoint.id`.
    pub endpoint_id: String,
    /// The endpoint's host name.
    pub endpoint_host_name: String,
    /// `azurerm_cdn_frontdoor_route.id`.
    pub front_door_route_id: String,
    /// Blue origin group id.
    pub blue_origin_group_id: String,
    /// Green origin group id.
    pub green_origin_group_id: String,
    /// Split origin group id.
    pub split_origin_group_id: String,
    /// Rule set id.
    pub rule_set_id: String,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
#[error("seeding {what} failed with {status}: {body}")]
pub struct SeedError {
    what: String,
    status: u16,
    body: String,
}

/// azurerm's spelling of an id (camel-case segments), which differs in case
/// from Front Door's own `id` fields.
pub fn azurerm_id(id: &str) -> String {
    id.replace("/resourcegroups/", "/resourceGroups/")
        .replace("/afdendpoints/", "/afdEndpoints/")
        .replace("/origingroups/", "/originGroups/")
        .replace("/rulesets/", "/ruleSets/")
}

/// Creates the infrastructure of `spec` and returns its ids.
pub fn seed(shared: &Shared, st: &mut State, spec: &SeedSpec) -> Result<Seeded, SeedError> {
    let sub = shared.credentials.subscription_id.clone();
    let rg = spec.resource_group.clone();
    st.resource_groups.insert(group_key(&sub, &rg), rg.clone());
    let saved_lro = st.settings.lro_ms;
    st.settings.lro_ms = 0;
    let result = seed_resources(shared, st, spec, &sub, &rg);
    st.settings.lro_ms = saved_lro;
    result
}

fn seed_resources(
    shared: &Shared,
    st: &mut State,
    spec: &SeedSpec,
    sub: &str,
    rg: &str,
) -> Result<Seeded, SeedError> {
    let env_id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{}",
        spec.environment
    );
    let app_path = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{}",
        spec.app
    );
    let app = put(
        shared,
        st,
        &app_path,
        APP_API,
        json!({
            "location": spec.location,
            "properties": {
                "environmentId": env_id,
                "configuration": {
                    "activeRevisionsMode": "Multiple",
                    "ingress": {
                        "external": true,
                        "targetPort": spec.target_port,
                        "transport": "auto",
                        "traffic": [{"latestRevision": true, "weight": 100}],
                    },
                },
                "template": {
                    "revisionSuffix": "seed",
                    "containers": [{"name": spec.app, "image": spec.image, "resources": {"cpu": 0.5, "memory": "1Gi"}}],
                    "scale": {"minReplicas": 1, "maxReplicas": 1},
                },
            },
        }),
    )?;
    let domain = crate::arm::apps::domain(&env_id, &spec.location);
    let cdn = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{}",
        spec.profile
    );
    let profile = put(
        shared,
        st,
        &cdn,
        CDN_API,
        json!({
            "location": "global",
            "sku": {"name": "Premium_AzureFrontDoor"},
        }),
    )?;
    let endpoint = put(
        shared,
        st,
        &format!("{cdn}/afdEndpoints/{}", spec.endpoint),
        CDN_API,
        json!({
            "location": "global",
            "properties": {"enabledState": "Enabled"},
        }),
    )?;
    let label_host = |label: &str| format!("{}---{label}.{domain}", spec.app);
    let group_body = json!({"properties": {
        "loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3, "additionalLatencyInMilliseconds": 50},
        "healthProbeSettings": {"probePath": "/health", "probeRequestType": "GET", "probeProtocol": "Https", "probeIntervalInSeconds": 100},
        "sessionAffinityState": "Disabled",
    }});
    let mut groups = Vec::new();
    for (group, labels) in [
        (&spec.blue_origin_group, vec!["blue"]),
        (&spec.green_origin_group, vec!["green"]),
        (&spec.split_origin_group, vec!["blue", "green"]),
    ] {
        let path = format!("{cdn}/originGroups/{group}");
        let doc = put(shared, st, &path, CDN_API, group_body.clone())?;
        for label in labels {
            put(
                shared,
                st,
                &format!("{path}/origins/{label}"),
                CDN_API,
                json!({"properties": {
                    "hostName": label_host(label),
                    "originHostHeader": label_host(label),
                    "httpPort": 80,
                    "httpsPort": 443,
                    "priority": 1,
                    "weight": 500,
                    "enabledState": "Enabled",
                    "enforceCertificateNameCheck": true,
                }}),
            )?;
        }
        groups.push(id_of(&doc));
    }
    let rule_set = put(
        shared,
        st,
        &format!("{cdn}/ruleSets/{}", spec.rule_set),
        CDN_API,
        json!({}),
    )?;
    let route = put(
        shared,
        st,
        &format!("{cdn}/afdEndpoints/{}/routes/{}", spec.endpoint, spec.route),
        CDN_API,
        json!({"properties": {
            "originGroup": {"id": azurerm_id(&groups[0])},
            "supportedProtocols": ["Https"],
            "patternsToMatch": ["/*"],
            "forwardingProtocol": "HttpsOnly",
            "linkToDefaultDomain": "Enabled",
            "httpsRedirect": "Enabled",
        }}),
    )?;
    Ok(Seeded {
        subscription_id: sub.to_string(),
        resource_group: rg.to_string(),
        container_app_id: id_of(&app),
        app_fqdn: app["properties"]["configuration"]["ingress"]["fqdn"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        profile_id: azurerm_id(&id_of(&profile)),
        endpoint_id: azurerm_id(&id_of(&endpoint)),
        endpoint_host_name: endpoint["properties"]["hostName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        front_door_route_id: azurerm_id(&id_of(&route)),
        blue_origin_group_id: azurerm_id(&groups[0]),
        green_origin_group_id: azurerm_id(&groups[1]),
        split_origin_group_id: azurerm_id(&groups[2]),
        rule_set_id: azurerm_id(&id_of(&rule_set)),
    })
}

fn id_of(doc: &Value) -> String {
    doc["id"].as_str().unwrap_or_default().to_string()
}

/// PUTs through the ARM handlers, completes the operation at once and returns
/// the stored document.
fn put(
    shared: &Shared,
    st: &mut State,
    path: &str,
    api_version: &str,
    body: Value,
) -> Result<Value, SeedError> {
    let now = shared.clock.now_ms();
    let ctx = Ctx {
        shared,
        now,
        scripted_failure: None,
    };
    let incoming = Incoming {
        method: "PUT".into(),
        path: path.to_string(),
        query: vec![("api-version".into(), api_version.to_string())],
        headers: Default::default(),
        body: serde_json::to_vec(&body).unwrap_or_default().into(),
    };
    let parsed = ResourcePath::parse(path).ok_or_else(|| SeedError {
        what: path.to_string(),
        status: 0,
        body: "unparsable path".into(),
    })?;
    let reply = resources::handle(&ctx, st, &incoming, &parsed);
    if reply.status >= 300 {
        return Err(SeedError {
            what: path.to_string(),
            status: reply.status,
            body: reply.body.map(|b| b.to_string()).unwrap_or_default(),
        });
    }
    lro::advance(st, now);
    st.resources
        .get(&parsed.key())
        .cloned()
        .ok_or_else(|| SeedError {
            what: path.to_string(),
            status: reply.status,
            body: "not stored".into(),
        })
}
