//! Colours on a Container App: the revision labels `blue` and `green`, each
//! the label of one entry of `ingress.traffic`, reached at the label's own
//! address `https://<app>---<label>.<domain>`. Reading them (version, phase,
//! address) and the deploy PATCH body (new template, both labels re-asserted).

use std::collections::BTreeMap;

use super::models::{
    Configuration, ContainerApp, ContainerAppProperties, Ingress, Revision, Template, TrafficWeight,
};
use crate::platform::{Color, ColorPhase, ColorState};

/// The revision a label leads to now: its entry's `revisionName`, or the
/// newest revision for an entry that follows `latestRevision`.
pub fn label_revision(app: &ContainerApp, color: Color) -> Option<String> {
    let props = app.properties.as_ref()?;
    let entry = traffic(app).iter().find(|e| {
        e.label
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(color.as_str()))
    })?;
    match &entry.revision_name {
        Some(name) => Some(name.clone()),
        None if entry.latest_revision == Some(true) => props.latest_revision_name.clone(),
        None => None,
    }
}

fn traffic(app: &ContainerApp) -> &[TrafficWeight] {
    app.properties
        .as_ref()
        .and_then(|p| p.configuration.as_ref())
        .and_then(|c| c.ingress.as_ref())
        .and_then(|i| i.traffic.as_deref())
        .unwrap_or(&[])
}

/// The app's name as Azure spells it in host names.
pub fn app_name(app: &ContainerApp) -> Option<String> {
    app.name.as_ref().map(|n| n.to_ascii_lowercase())
}

/// The environment's default domain: the app FQDN `<app>.<domain>` without the app.
pub fn domain(app: &ContainerApp) -> Option<String> {
    let fqdn = app
        .properties
        .as_ref()?
        .configuration
        .as_ref()?
        .ingress
        .as_ref()?
        .fqdn
        .as_deref()?;
    let (_, domain) = fqdn.split_once('.')?;
    Some(domain.to_ascii_lowercase())
}

/// The label host name `<app>---<label>.<domain>`.
pub fn label_host(app: &ContainerApp, color: Color) -> Option<String> {
    Some(format!(
        "{}---{}.{}",
        app_name(app)?,
        color.as_str(),
        domain(app)?
    ))
}

/// The version an image runs: its tag (`registry/orders:1.2.0` → `1.2.0`).
pub fn version_of_image(image: &str) -> Option<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let without_digest = last.split('@').next().unwrap_or(last);
    without_digest
        .split_once(':')
        .map(|(_, tag)| tag.to_string())
        .filter(|t| !t.is_empty())
}

/// The version `image` runs given the image template: what stands in for
/// `{version}` when the image fits the template, else the image's tag.
pub fn version_in(template: &str, image: &str) -> Option<String> {
    if let Some((prefix, suffix)) = template.split_once("{version}") {
        if let Some(v) = image
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .filter(|v| !v.is_empty())
        {
            return Some(v.to_string());
        }
    }
    version_of_image(image)
}

/// The container a deploy sets: the named one, else the template's only one.
pub fn container_index(template: &Template, name: Option<&str>) -> Result<usize, String> {
    let containers = template.containers.as_deref().unwrap_or(&[]);
    match name {
        Some(name) => containers
            .iter()
            .position(|c| c.name.as_deref() == Some(name))
            .ok_or_else(|| {
                format!(
                    "azure.container_name: the Container App's template has no container {name:?} (it has {}); set container_name to one of them",
                    names(template)
                )
            }),
        None if containers.len() == 1 => Ok(0),
        None => Err(format!(
            "azure.container_name: the Container App's template has {} containers ({}); set container_name to the one whose image a release sets",
            containers.len(),
            names(template)
        )),
    }
}

fn names(template: &Template) -> String {
    let list: Vec<String> = template
        .containers
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|c| format!("{:?}", c.name.as_deref().unwrap_or("")))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// A colour's state from its label's revision. `image_template` reads the
/// version (None: the image's tag).
pub fn color_state(
    app: &ContainerApp,
    revisions: &[Revision],
    color: Color,
    container_name: Option<&str>,
    image_template: Option<&str>,
    address: Option<String>,
) -> Option<ColorState> {
    let name = label_revision(app, color)?;
    let revision = revisions.iter().find(|r| {
        r.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
    });
    Some(revision_state(
        name,
        revision,
        color,
        container_name,
        image_template,
        address,
    ))
}

/// The state of `color` whose label leads to revision `name`, from that
/// revision alone (`None`: it does not exist): what `color_state` reports
/// once it found the label's revision, and what the readiness wait reads
/// after a deploy that named the revision itself.
pub fn revision_state(
    name: String,
    revision: Option<&Revision>,
    color: Color,
    container_name: Option<&str>,
    image_template: Option<&str>,
    address: Option<String>,
) -> ColorState {
    let props = revision.and_then(|r| r.properties.as_ref());
    let image = props.and_then(|p| p.template.as_ref()).and_then(|t| {
        let i = container_index(t, container_name).unwrap_or(0);
        t.containers.as_deref()?.get(i)?.image.clone()
    });
    let version = image.as_deref().and_then(|i| match image_template {
        Some(t) => version_in(t, i),
        None => version_of_image(i),
    });
    // Started from another image template than the one declared now (the
    // registry or repository changed): a release redeploys it, not reuses it.
    let outdated = match (image.as_deref(), image_template) {
        (Some(i), Some(t)) => !fits(t, i),
        _ => false,
    };
    let (phase, last_exit) = match props {
        None => (
            ColorPhase::Stopped,
            Some(format!("revision {name} of label {color} does not exist")),
        ),
        Some(p) => phase_of(p),
    };
    ColorState {
        version,
        phase,
        address,
        instance_id: Some(name),
        restarts: 0,
        last_exit,
        log_tail: Vec::new(),
        outdated,
        // Front Door reports no connections per origin.
        connections: None,
    }
}

/// Whether `image` is `template` with some version in place of `{version}`.
fn fits(template: &str, image: &str) -> bool {
    template
        .split_once("{version}")
        .is_some_and(|(prefix, suffix)| {
            image.len() > prefix.len() + suffix.len()
                && image.starts_with(prefix)
                && image.ends_with(suffix)
        })
}

/// Phase from a revision's provisioning, running and health states.
fn phase_of(p: &super::models::RevisionProperties) -> (ColorPhase, Option<String>) {
    let is = |v: &Option<String>, w: &str| v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(w));
    if is(&p.provisioning_state, "Failed") {
        return (
            ColorPhase::Crashed,
            Some(format!(
                "revision provisioning failed: {}",
                p.provisioning_error.as_deref().unwrap_or("no reason given")
            )),
        );
    }
    if is(&p.running_state, "Failed") {
        return (
            ColorPhase::Crashed,
            Some("revision running state Failed (its containers exited)".into()),
        );
    }
    if p.active == Some(false)
        || is(&p.running_state, "Stopped")
        || is(&p.provisioning_state, "Deprovisioned")
    {
        return (ColorPhase::Stopped, None);
    }
    if is(&p.provisioning_state, "Deprovisioning") {
        return (ColorPhase::Stopping, None);
    }
    let provisioned = is(&p.provisioning_state, "Provisioned");
    let running = is(&p.running_state, "Running") || is(&p.running_state, "Degraded");
    // Healthy, or Unhealthy with replicas up: it accepts connections, and the
    // health gate judges it with its own figures.
    if provisioned && running && !is(&p.health_state, "None") {
        return (ColorPhase::Running, None);
    }
    (ColorPhase::Starting, None)
}

/// Both colours' states.
pub fn color_states(
    app: &ContainerApp,
    revisions: &[Revision],
    container_name: Option<&str>,
    image_template: Option<&str>,
    address: impl Fn(Color) -> Option<String>,
) -> BTreeMap<Color, ColorState> {
    [Color::Blue, Color::Green]
        .into_iter()
        .filter_map(|c| {
            color_state(
                app,
                revisions,
                c,
                container_name,
                image_template,
                address(c),
            )
            .map(|s| (c, s))
        })
        .collect()
}

/// `revisionSuffix` of `version` on `color` for `template` (the new one,
/// its own suffix ignored): DNS-label characters of the version, the colour,
/// and a hash of the template, so the same version with a changed env or
/// probe gets a new revision and the same one gets the same name. Fits
/// `<app>--<suffix>` in 63 characters.
pub fn revision_suffix(app_name: &str, version: &str, color: Color, template: &Template) -> String {
    let mut hashed = template.clone();
    hashed.revision_suffix = None;
    let text = serde_json::to_string(&hashed).unwrap_or_default();
    let hash = format!("{:016x}", fnv1a(text.as_bytes()));
    let mut cleaned = String::new();
    for c in version.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (cleaned.is_empty() || cleaned.ends_with('-'))) {
            cleaned.push(c);
        }
    }
    let tail = format!("{}-{}", color.as_str(), &hash[..6]);
    // 63 - "<app>--" - "-<tail>"
    let room = 63usize.saturating_sub(app_name.len() + 2 + tail.len() + 1);
    let version_part: String = cleaned.chars().take(room).collect();
    let version_part = version_part.trim_matches('-');
    if version_part.is_empty() {
        tail
    } else {
        format!("{version_part}-{tail}")
    }
}

/// FNV-1a, 64 bits: a hash stable across Rust versions and processes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What a deploy sends.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployPlan {
    /// The PATCH body.
    pub body: ContainerApp,
    /// The revision the colour's label leads to afterwards.
    pub revision: String,
}

/// The deploy PATCH: the app's template with the image of `version`
/// (unless `existing` already names a revision of that template: then only
/// the label moves), and `ingress.traffic` with both labels — the deployed
/// one at weight 0 when the other colour has a revision, which keeps 100.
pub fn deploy_plan(
    app: &ContainerApp,
    color: Color,
    version: &str,
    image_template: &str,
    container_name: Option<&str>,
    existing_revisions: &[String],
) -> Result<DeployPlan, String> {
    let name = app_name(app).ok_or("the Container App answered without a name")?;
    let current = app
        .properties
        .as_ref()
        .and_then(|p| p.template.clone())
        .ok_or("the Container App answered without a template")?;
    let index = container_index(&current, container_name)?;
    let mut template = current.clone();
    if let Some(c) = template.containers.as_mut().and_then(|c| c.get_mut(index)) {
        c.image = Some(image_template.replace("{version}", version));
    }
    let suffix = revision_suffix(&name, version, color, &template);
    template.revision_suffix = Some(suffix.clone());
    let revision = format!("{name}--{suffix}");
    let exists = existing_revisions
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&revision));
    let other = label_revision(app, color.other());
    let (weight, other_weight) = if other.is_some() { (0, 100) } else { (100, 0) };
    let mut entries = vec![TrafficWeight {
        revision_name: Some(revision.clone()),
        weight: Some(weight),
        label: Some(color.as_str().to_string()),
        ..TrafficWeight::default()
    }];
    if let Some(other) = other {
        entries.push(TrafficWeight {
            revision_name: Some(other),
            weight: Some(other_weight),
            label: Some(color.other().as_str().to_string()),
            ..TrafficWeight::default()
        });
    }
    // Blue first, as people read it.
    entries.sort_by_key(|e| e.label.clone());
    let body = ContainerApp {
        properties: Some(ContainerAppProperties {
            configuration: Some(Configuration {
                ingress: Some(Ingress {
                    traffic: Some(entries),
                    ..Ingress::default()
                }),
                ..Configuration::default()
            }),
            // The revision exists (this version was on this colour before):
            // re-sending its template under its name would be refused as a
            // reuse of the name, so only the label moves.
            template: (!exists).then_some(template),
            ..ContainerAppProperties::default()
        }),
        ..ContainerApp::default()
    };
    Ok(DeployPlan { body, revision })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(traffic: serde_json::Value) -> ContainerApp {
        serde_json::from_value(json!({
            "name": "orders",
            "properties": {
                "latestRevisionName": "orders--seed",
                "configuration": {"activeRevisionsMode": "Multiple", "ingress": {
                    "fqdn": "orders.env-1234.eastus.azurecontainerapps.io", "traffic": traffic}},
                "template": {"revisionSuffix": "seed",
                    "containers": [{"name": "orders", "image": "agog/orders:0.0.0", "env": [{"name": "A", "value": "1"}]}],
                    "scale": {"minReplicas": 1}}
            }
        }))
        .expect("app")
    }

    #[test]
    fn versions_from_images_and_templates() {
        assert_eq!(
            version_of_image("reg.io:5000/a/orders:1.2.0").as_deref(),
            Some("1.2.0")
        );
        assert_eq!(version_of_image("orders"), None);
        assert_eq!(
            version_in("reg/orders:{version}-alpine", "reg/orders:1.2.0-alpine").as_deref(),
            Some("1.2.0")
        );
        assert_eq!(
            version_in("reg/x:{version}", "other/y:3").as_deref(),
            Some("3")
        );
    }

    #[test]
    fn a_colour_from_another_image_template_is_outdated() {
        let a = app(json!([{"revisionName": "orders--seed", "label": "blue", "weight": 100}]));
        let revisions: Vec<Revision> = serde_json::from_value(json!([{
            "name": "orders--seed",
            "properties": {"provisioningState": "Provisioned", "runningState": "Running", "healthState": "Healthy",
                           "template": {"containers": [{"name": "orders", "image": "agog/orders:0.0.0"}]}}
        }]))
        .expect("revisions");
        let state = |template| {
            color_state(&a, &revisions, Color::Blue, None, Some(template), None).expect("blue")
        };
        let same = state("agog/orders:{version}");
        assert_eq!(
            (same.version.as_deref(), same.outdated, same.phase),
            (Some("0.0.0"), false, ColorPhase::Running)
        );
        let moved = state("myregistry.azurecr.io/orders:{version}");
        assert_eq!(
            (moved.version.as_deref(), moved.outdated),
            (Some("0.0.0"), true)
        );
    }

    #[test]
    fn suffix_is_a_valid_unique_label_part() {
        let a = app(json!([]));
        let t = a
            .properties
            .as_ref()
            .and_then(|p| p.template.clone())
            .expect("t");
        let s = revision_suffix("orders", "1.2.0+Build_7", Color::Green, &t);
        assert!(s.starts_with("1-2-0-build-7-green-"), "{s}");
        assert!(s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        let long = revision_suffix("orders", &"9".repeat(80), Color::Blue, &t);
        assert!(format!("orders--{long}").len() <= 63, "{long}");
        let mut changed = t.clone();
        changed
            .other
            .insert("scale".into(), json!({"minReplicas": 2}));
        assert_ne!(
            s,
            revision_suffix("orders", "1.2.0+Build_7", Color::Green, &changed)
        );
    }

    #[test]
    fn deploy_reasserts_both_labels_with_the_idle_one_at_zero() {
        let a = app(json!([
            {"revisionName": "orders--1-0-0-blue-aaaaaa", "label": "blue", "weight": 100},
            {"revisionName": "orders--0-9-green-bbbbbb", "label": "green", "weight": 0}
        ]));
        let plan = deploy_plan(
            &a,
            Color::Green,
            "2.0.0",
            "agog/orders:{version}",
            None,
            &[],
        )
        .expect("plan");
        let body = serde_json::to_value(&plan.body).expect("json");
        let traffic = &body["properties"]["configuration"]["ingress"]["traffic"];
        assert_eq!(
            traffic[0],
            json!({"revisionName": "orders--1-0-0-blue-aaaaaa", "weight": 100, "label": "blue"})
        );
        assert_eq!(traffic[1]["label"], "green");
        assert_eq!(traffic[1]["weight"], 0);
        assert_eq!(traffic[1]["revisionName"], json!(plan.revision));
        let template = &body["properties"]["template"];
        assert_eq!(template["containers"][0]["image"], "agog/orders:2.0.0");
        assert_eq!(
            template["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}])
        );
        assert_eq!(template["scale"], json!({"minReplicas": 1}));
        assert!(plan.revision.starts_with("orders--2-0-0-green-"));
        // The revision exists already: only the label moves.
        let again = deploy_plan(
            &a,
            Color::Green,
            "2.0.0",
            "agog/orders:{version}",
            None,
            std::slice::from_ref(&plan.revision),
        )
        .expect("plan");
        assert!(
            serde_json::to_value(&again.body).expect("json")["properties"]["template"].is_null()
        );
    }

    #[test]
    fn first_deploy_takes_the_app_traffic_and_container_choice_is_explained() {
        let a = app(json!([{"latestRevision": true, "weight": 100}]));
        let plan = deploy_plan(&a, Color::Blue, "1.0.0", "agog/orders:{version}", None, &[])
            .expect("plan");
        let body = serde_json::to_value(&plan.body).expect("json");
        assert_eq!(
            body["properties"]["configuration"]["ingress"]["traffic"],
            json!([{"revisionName": plan.revision, "weight": 100, "label": "blue"}])
        );
        let err = deploy_plan(&a, Color::Blue, "1", "x:{version}", Some("web"), &[])
            .expect_err("no such container");
        assert!(
            err.contains("azure.container_name") && err.contains("\"orders\""),
            "{err}"
        );
    }
}
