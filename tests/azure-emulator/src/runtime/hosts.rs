//! Host names of Container Apps to revisions: the app's FQDN (split by the
//! ingress weights), label FQDNs `<app>---<label>.<domain>` and revision FQDNs
//! `<revision>.<domain>`, as Azure names them.

use serde_json::Value;

use crate::arm::apps;
use crate::state::State;

/// A revision a host name leads to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The revision's key.
    pub revision_key: String,
    /// The revision's name.
    pub revision: String,
    /// The app's key.
    pub app_key: String,
}

/// Every container app with its key and default domain.
fn apps_with_domains(st: &State) -> Vec<(String, &Value, String)> {
    st.resources
        .iter()
        .filter(|(_, d)| d["type"].as_str() == Some("Microsoft.App/containerApps"))
        .map(|(k, d)| {
            let env = d["properties"]["managedEnvironmentId"]
                .as_str()
                .unwrap_or("");
            let location = d["location"].as_str().unwrap_or("");
            (k.clone(), d, apps::domain(env, location))
        })
        .collect()
}

/// The label FQDNs (`<app>---<label>.<domain>`) and app FQDNs that exist now.
pub fn addressable_hosts(st: &State) -> Vec<String> {
    let mut hosts = Vec::new();
    for (_, app, domain) in apps_with_domains(st) {
        let name = app["name"].as_str().unwrap_or("").to_lowercase();
        hosts.push(format!("{name}.{domain}"));
        for entry in traffic(app) {
            if let Some(label) = entry["label"].as_str() {
                hosts.push(format!("{name}---{}.{domain}", label.to_lowercase()));
            }
        }
    }
    hosts
}

fn traffic(app: &Value) -> Vec<Value> {
    app["properties"]["configuration"]["ingress"]["traffic"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The revision that `host` reaches now; `pick` in [0, 1) chooses within a
/// weighted split.
pub fn resolve(st: &State, host: &str, pick: f64) -> Option<Target> {
    let host = host.split(':').next().unwrap_or(host).to_lowercase();
    for (app_key, app, domain) in apps_with_domains(st) {
        let Some(prefix) = host.strip_suffix(&format!(".{domain}")) else {
            continue;
        };
        let name = app["name"].as_str().unwrap_or("").to_lowercase();
        let latest = app["properties"]["latestRevisionName"]
            .as_str()
            .unwrap_or("");
        let entry_revision = |e: &Value| -> String {
            e["revisionName"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| latest.to_string())
        };
        let revision = if prefix == name {
            let entries = traffic(app);
            let total: i64 = entries
                .iter()
                .map(|e| e["weight"].as_i64().unwrap_or(0))
                .sum();
            let mut point = pick * total as f64;
            let mut chosen = None;
            for e in &entries {
                let w = e["weight"].as_i64().unwrap_or(0) as f64;
                if w > 0.0 && point < w {
                    chosen = Some(entry_revision(e));
                    break;
                }
                point -= w;
            }
            chosen.or_else(|| (!latest.is_empty()).then(|| latest.to_string()))?
        } else if let Some(label) = prefix.strip_prefix(&format!("{name}---")) {
            let entries = traffic(app);
            let e = entries.iter().find(|e| {
                e["label"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case(label))
            })?;
            entry_revision(e)
        } else if prefix.starts_with(&format!("{name}--")) {
            prefix.to_string()
        } else {
            continue;
        };
        return Some(Target {
            revision_key: format!("{app_key}/revisions/{}", revision.to_lowercase()),
            revision,
            app_key,
        });
    }
    None
}

/// The host map a client without the emulator's DNS uses (the provider's
/// `BLUEGREEN_AZURE_HOST_MAP`): each label or app FQDN to its listener, each
/// Front Door endpoint host name to every edge location.
pub fn host_map(st: &State) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut map: std::collections::BTreeMap<String, Vec<String>> = st
        .runtime
        .hosts
        .iter()
        .map(|(host, port)| (host.clone(), vec![format!("http://127.0.0.1:{port}")]))
        .collect();
    let edges: Vec<String> = st
        .runtime
        .edge
        .iter()
        .map(|(_, port)| format!("http://127.0.0.1:{port}"))
        .collect();
    for doc in st.resources.values() {
        let is_endpoint = doc["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Cdn/profiles/afdendpoints"));
        if let (true, Some(host)) = (is_endpoint, doc["properties"]["hostName"].as_str()) {
            map.insert(host.to_lowercase(), edges.clone());
        }
    }
    map
}

/// Writes `map` to `file` (through a temporary file and a rename, so a
/// reader never sees half of it).
pub fn write_host_map(
    file: &std::path::Path,
    map: &std::collections::BTreeMap<String, Vec<String>>,
) -> std::io::Result<()> {
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(map).unwrap_or_default())?;
    std::fs::rename(&tmp, file)
}
