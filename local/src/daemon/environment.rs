//! One environment inside the daemon: definition, routing, lock, colour processes and
//! front door, and the views built from them.

use std::sync::Mutex;
use std::time::Duration;

use hyper::http::{HeaderName, HeaderValue};

use super::health::HealthSlots;
use crate::api::{
    Color, ColorStatus, Colors, EnvironmentSpec, EnvironmentStatus, FrontDoorStatus, ProcessStatus,
    Routing, DEFAULT_TENANT_HEADER,
};
use crate::frontdoor::routing::{CanaryTarget, RoutingTable, Target};
use crate::frontdoor::FrontDoor;
use crate::lock::LeaseSlot;
use crate::process::command::{expand_argv, expand_env};
use crate::process::logs;
use crate::process::supervisor::{Launch, Supervisor};
use crate::time::{now_ms, rfc3339};

/// Lines of log shown with a crashed colour.
const LOG_TAIL_LINES: usize = 20;

/// One colour's deployment.
#[derive(Debug, Default)]
pub struct ColorSlot {
    /// Deployed version (None when stopped).
    pub version: Option<String>,
    /// Deployment time, unix ms.
    pub deployed_at_ms: Option<u64>,
    /// What the deployment runs; kept when the daemon stops so a restart respawns it.
    pub launch: Option<Launch>,
    /// Its process, while supervised.
    pub supervisor: Option<Supervisor>,
}

impl ColorSlot {
    /// Whether the colour's process was started from an older definition
    /// (`command` or `env`) than `spec`: reusing it would keep running what
    /// the user has since corrected.
    pub fn outdated(&self, spec: &EnvironmentSpec, color: Color) -> bool {
        let (Some(sup), Some(version)) = (&self.supervisor, &self.version) else {
            return false;
        };
        let launch = sup.launch();
        launch.argv != expand_argv(&spec.command, launch.port, version, color)
            || launch.env != expand_env(&spec.env, launch.port, version, color)
    }
}

/// Mutable data of an environment, guarded by one mutex held only briefly.
#[derive(Debug)]
pub struct EnvData {
    /// Definition.
    pub spec: EnvironmentSpec,
    /// Routing table in force: the front door's table is compiled from it.
    pub routing: Routing,
    /// A routing write being made durable: persisted in its place, shown nowhere and
    /// in force nowhere until the state file holds it (then it becomes `routing`).
    pub pending_routing: Option<Routing>,
    /// Lease lock.
    pub lock: LeaseSlot,
    /// Blue then green.
    pub colors: [ColorSlot; 2],
}

/// An environment.
#[derive(Debug)]
pub struct Env {
    /// Name.
    pub name: String,
    /// Serialises mutations (deploy, stop, routing, delete) of this environment.
    pub ops: tokio::sync::Mutex<()>,
    /// Its data.
    pub data: Mutex<EnvData>,
    /// Its front door.
    pub frontdoor: FrontDoor,
    /// The application's health per colour, as its health path last answered.
    pub health: HealthSlots,
}

/// Parses a tenant header name, case-insensitively.
pub fn header_name(name: &str) -> Option<HeaderName> {
    HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).ok()
}

impl Env {
    /// Locks the data, surviving a poisoned mutex (the data stays consistent per field).
    pub fn data(&self) -> std::sync::MutexGuard<'_, EnvData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last health answers, surviving a poisoned mutex.
    pub fn health_slots(&self) -> std::sync::MutexGuard<'_, [Option<super::health::Probed>; 2]> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compiles `data.routing` into a front door table.
    pub fn compile(&self, data: &EnvData) -> RoutingTable {
        let target = |color: Color| -> Option<Target> {
            let port = data.colors[color.index()]
                .supervisor
                .as_ref()?
                .launch()
                .port;
            Some(Target {
                color,
                port,
                host: HeaderValue::from_str(&format!("127.0.0.1:{port}")).ok()?,
                header: HeaderValue::from_static(color.as_str()),
                stats: self.frontdoor.stats(color).clone(),
            })
        };
        let r = &data.routing;
        RoutingTable {
            revision: r.revision,
            primary: r.primary.and_then(target),
            canary: r.canary.as_ref().and_then(|c| {
                Some(CanaryTarget {
                    target: target(c.color)?,
                    weight: c.weight.min(100),
                    tenants: c
                        .tenants
                        .iter()
                        .map(|t| t.trim().to_ascii_lowercase())
                        .collect(),
                })
            }),
            tenant_header: header_name(&r.tenant_header)
                .unwrap_or_else(|| HeaderName::from_static("x-tenant-id")),
        }
    }

    /// Recompiles and installs the front door table from the current data.
    pub fn reinstall(&self) {
        let (table, trust_forwarded_headers, upstream_timeout, drain_timeout) = {
            let data = self.data();
            for color in Color::ALL {
                if let Some(sup) = &data.colors[color.index()].supervisor {
                    sup.set_routed(data.routing.routes_to(color));
                }
            }
            (
                self.compile(&data),
                data.spec.trust_forwarded_headers,
                Duration::from_millis(data.spec.upstream_timeout_ms),
                Duration::from_millis(data.spec.drain_timeout_ms),
            )
        };
        // Before the table: a colour this table retires gets this drain for its tunnels.
        self.frontdoor.set_drain_timeout(drain_timeout);
        self.frontdoor
            .set_trust_forwarded_headers(trust_forwarded_headers);
        self.frontdoor.set_upstream_timeout(upstream_timeout);
        self.frontdoor.install(table);
    }

    /// Status of one colour.
    pub fn color_status(&self, data: &EnvData, color: Color) -> ColorStatus {
        let slot = &data.colors[color.index()];
        let stats = self.frontdoor.stats(color);
        let connections = stats.connections();
        let mut status = ColorStatus {
            color,
            version: slot.version.clone(),
            status: ProcessStatus::Stopped,
            pid: None,
            port: None,
            address: None,
            restarts: 0,
            started_at: None,
            deployed_at: slot.deployed_at_ms.map(rfc3339),
            last_exit: None,
            log_path: None,
            log_tail: Vec::new(),
            in_flight: connections.open_connections - connections.open_tunnels,
            open_tunnels: connections.open_tunnels,
            open_connections: connections.open_connections,
            upgrades_accepted: connections.upgrades_accepted,
            upgrades_refused: connections.upgrades_refused,
            tunnels_drained: connections.tunnels_drained,
            tunnels_cut: connections.tunnels_cut,
            outdated: slot.outdated(&data.spec, color),
            health: None,
        };
        if let Some(sup) = &slot.supervisor {
            let s = sup.snapshot();
            let launch = sup.launch();
            status.status = s.status;
            status.pid = s.pid;
            status.port = Some(launch.port);
            status.address = Some(format!("http://127.0.0.1:{}", launch.port));
            status.restarts = s.restarts;
            status.started_at = s.started_at_ms.map(rfc3339);
            status.last_exit = s.last_exit;
            status.log_path = Some(launch.log_path.display().to_string());
            // Only the running process's own answer, and only while a path is set.
            if data.spec.health_path.is_some() && s.status == ProcessStatus::Running {
                status.health = self.health_slots()[color.index()]
                    .as_ref()
                    .filter(|p| Some(p.pid) == s.pid)
                    .map(|p| p.health.clone());
            }
            if status.last_exit.is_some() && status.status != ProcessStatus::Running {
                status.log_tail = logs::tail(&launch.log_path, LOG_TAIL_LINES);
            }
        }
        status
    }

    /// Full view of the environment.
    pub fn status(&self) -> EnvironmentStatus {
        let data = self.data();
        let colors = Colors {
            blue: self.color_status(&data, Color::Blue),
            green: self.color_status(&data, Color::Green),
        };
        let live_version = data
            .routing
            .primary
            .and_then(|c| colors.get(c).version.clone());
        EnvironmentStatus {
            name: self.name.clone(),
            spec: data.spec.clone(),
            endpoint: format!("http://{}", data.spec.listen),
            routing: data.routing.clone(),
            live_version,
            colors,
            lock: data.lock.current(now_ms()).map(|l| l.info()),
            front_door: Some(self.front_door_status(&data.spec.listen)),
        }
    }

    /// The front door part of an environment's status.
    fn front_door_status(&self, listen: &str) -> FrontDoorStatus {
        let outage = self.frontdoor.outage();
        FrontDoorStatus {
            listening: self.frontdoor.local_addr().is_some(),
            address: listen.to_owned(),
            error: outage.as_ref().map(|o| o.error.clone()),
            down_since: outage.as_ref().map(|o| rfc3339(o.since_ms)),
            bind_attempts: outage.map_or(0, |o| o.attempts),
        }
    }
}

/// A routing table that routes nothing, at `revision`.
pub fn empty_routing(revision: u64, spec: &EnvironmentSpec) -> Routing {
    Routing {
        revision,
        primary: None,
        canary: None,
        tenant_header: if spec.tenant_header.trim().is_empty() {
            DEFAULT_TENANT_HEADER.to_owned()
        } else {
            spec.tenant_header.clone()
        },
        updated_at: Some(rfc3339(now_ms())),
        updated_by: None,
    }
}
