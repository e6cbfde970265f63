//! Revisions as running processes, each label on its own loopback address, and
//! Front Door's edge locations in front of them (README: "Revisions, labels
//! and the edge").

pub mod edge;
pub mod hosts;
pub mod process;
pub mod proxy;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Response, StatusCode};
use axum::Router;
use serde_json::json;
use tokio::process::Child;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::arm::lro;
use crate::state::RevisionProcess;
use crate::Shared;

/// How revisions run.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The app command; `{port}`, `{version}` (image tag) and `{color}` (label)
    /// are filled in per revision.
    pub command: Vec<String>,
    /// Path polled for health (200 = healthy).
    pub health_path: String,
    /// Number of edge locations (at least 2).
    pub edge_locations: usize,
    /// Where process logs go.
    pub log_dir: PathBuf,
}

/// Name of the host map file in the state directory (README: "host map").
pub const HOSTS_FILE: &str = "hosts.json";

/// Binds the edge listeners and starts the reconciler; returns their tasks.
pub async fn start(
    shared: Arc<Shared>,
    config: RuntimeConfig,
    hosts_file: PathBuf,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let client = proxy::client();
    let mut tasks = Vec::new();
    let mut edge = Vec::new();
    for index in 0..config.edge_locations.max(2) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let name = format!("edge-{}", (b'a' + (index % 26) as u8) as char);
        edge.push((name.clone(), port));
        let router = edge::router(shared.clone(), client.clone(), index, name);
        tasks.push(tokio::spawn(crate::server::serve_plain(
            listener,
            router,
            stop.clone(),
        )));
    }
    {
        let mut st = shared.lock();
        st.runtime.enabled = true;
        st.runtime.edge = edge;
    }
    std::fs::create_dir_all(&config.log_dir)?;
    // There from the start, so a client never finds it missing.
    hosts::write_host_map(&hosts_file, &hosts::host_map(&shared.lock()))?;
    tasks.push(tokio::spawn(reconcile(
        shared, config, hosts_file, client, stop,
    )));
    Ok(tasks)
}

/// Every 100 ms: completes due operations, starts processes for new active
/// revisions, opens listeners for new labels, and updates revision health.
async fn reconcile(
    shared: Arc<Shared>,
    config: RuntimeConfig,
    hosts_file: PathBuf,
    client: proxy::HttpClient,
    mut stop: watch::Receiver<bool>,
) {
    let mut written_map = None;
    let mut children: HashMap<String, Child> = HashMap::new();
    let mut listeners: Vec<JoinHandle<()>> = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => break,
        }
        let (to_start, new_hosts) = {
            let now = shared.clock.now_ms();
            let mut st = shared.lock();
            lro::advance(&mut st, now);
            let to_start: Vec<(String, String, String, String, String)> = st
                .resources
                .iter()
                .filter(|(k, d)| {
                    d["type"].as_str() == Some("Microsoft.App/containerApps/revisions")
                        && d["properties"]["active"].as_bool().unwrap_or(false)
                        && d["properties"]["provisioningState"].as_str() != Some("Failed")
                        && !st.runtime.revisions.contains_key(*k)
                })
                .map(|(k, d)| {
                    let name = d["name"].as_str().unwrap_or("").to_string();
                    let image = d["properties"]["template"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let fqdn = d["properties"]["fqdn"].as_str().unwrap_or("").to_string();
                    let color = label_of(&st, k, &name);
                    (k.clone(), name, image, fqdn, color)
                })
                .collect();
            let new_hosts: Vec<String> = hosts::addressable_hosts(&st)
                .into_iter()
                .filter(|h| !st.runtime.hosts.contains_key(h))
                .collect();
            (to_start, new_hosts)
        };
        for (key, name, image, fqdn, color) in to_start {
            let version = process::version_of(&image);
            let started = process::free_port().and_then(|port| {
                let log = config.log_dir.join(format!("{name}.log"));
                process::spawn(&config.command, port, &version, &color, &log).map(|c| (port, c))
            });
            let mut st = shared.lock();
            match started {
                Ok((port, child)) => {
                    children.insert(key.clone(), child);
                    st.runtime.revisions.insert(
                        key,
                        RevisionProcess {
                            name,
                            fqdn,
                            port,
                            version,
                            color,
                            healthy: None,
                            exited: false,
                        },
                    );
                }
                Err(e) => {
                    if let Some(doc) = st.resources.get_mut(&key) {
                        doc["properties"]["runningState"] = json!("Failed");
                        doc["properties"]["runningStateDetails"] =
                            json!(format!("The app command could not start: {e}"));
                    }
                    st.runtime.revisions.insert(
                        key,
                        RevisionProcess {
                            name,
                            fqdn,
                            port: 0,
                            version,
                            color,
                            healthy: None,
                            exited: true,
                        },
                    );
                }
            }
        }
        for host in new_hosts {
            let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await else {
                continue;
            };
            let Ok(addr) = listener.local_addr() else {
                continue;
            };
            shared
                .lock()
                .runtime
                .hosts
                .insert(host.clone(), addr.port());
            let router = Router::new().fallback(host_handler).with_state(HostState {
                shared: shared.clone(),
                client: client.clone(),
                host,
            });
            listeners.push(tokio::spawn(crate::server::serve_plain(
                listener,
                router,
                stop.clone(),
            )));
        }
        // The host map follows the listeners and the endpoints.
        let map = hosts::host_map(&shared.lock());
        if written_map.as_ref() != Some(&map) {
            match hosts::write_host_map(&hosts_file, &map) {
                Ok(()) => written_map = Some(map),
                Err(e) => eprintln!("writing the host map {} failed: {e}", hosts_file.display()),
            }
        }
        // Health of every live process.
        let live: Vec<(String, u16)> = {
            let st = shared.lock();
            st.runtime
                .revisions
                .iter()
                .filter(|(_, p)| !p.exited)
                .map(|(k, p)| (k.clone(), p.port))
                .collect()
        };
        for (key, port) in live {
            let exited = children
                .get_mut(&key)
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            let health = if exited {
                None
            } else {
                process::probe(&client, port, &config.health_path).await
            };
            let mut st = shared.lock();
            if let Some(p) = st.runtime.revisions.get_mut(&key) {
                p.exited = exited;
                p.healthy = health;
            }
            if let Some(doc) = st.resources.get_mut(&key) {
                let props = &mut doc["properties"];
                if props["provisioningState"].as_str() != Some("Provisioned") {
                    continue;
                }
                let (running, healthy, replicas) = match (exited, health) {
                    (true, _) => ("Failed", "Unhealthy", 0),
                    (false, Some(true)) => ("Running", "Healthy", 1),
                    (false, Some(false)) => ("Running", "Unhealthy", 1),
                    (false, None) => ("Activating", "None", 0),
                };
                props["runningState"] = json!(running);
                props["healthState"] = json!(healthy);
                props["replicas"] = json!(replicas);
            }
        }
    }
    for (_, mut child) in children {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    for l in listeners {
        l.abort();
    }
}

/// The label a revision carries now, as its colour (`none` without one).
fn label_of(st: &crate::state::State, revision_key: &str, name: &str) -> String {
    let app_key = revision_key
        .rsplit_once("/revisions/")
        .map(|(a, _)| a)
        .unwrap_or("");
    st.resources
        .get(app_key)
        .and_then(|app| {
            app["properties"]["configuration"]["ingress"]["traffic"]
                .as_array()
                .and_then(|t| {
                    t.iter()
                        .find(|e| {
                            e["revisionName"]
                                .as_str()
                                .is_some_and(|r| r.eq_ignore_ascii_case(name))
                        })
                        .and_then(|e| e["label"].as_str().map(str::to_string))
                })
        })
        .unwrap_or_else(|| "none".to_string())
}

#[derive(Clone)]
struct HostState {
    shared: Arc<Shared>,
    client: proxy::HttpClient,
    host: String,
}

/// A label's or app's own address: forwards to the revision the name leads to now.
async fn host_handler(State(h): State<HostState>, req: Request) -> Response<Body> {
    let port = {
        let st = h.shared.lock();
        let pick = (crate::clock::real_now_ms() % 1000) as f64 / 1000.0;
        hosts::resolve(&st, &h.host, pick)
            .and_then(|t| st.runtime.revisions.get(&t.revision_key).cloned())
            .filter(|p| !p.exited)
            .map(|p| p.port)
    };
    match port {
        Some(port) => proxy::forward(&h.client, port, req).await,
        None => proxy::plain(
            StatusCode::NOT_FOUND,
            &format!("{} leads to no running revision", h.host),
        ),
    }
}
