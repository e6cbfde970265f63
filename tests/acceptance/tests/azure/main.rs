//! Acceptance tests of `bluegreen_environment` on Azure (issue 14) on the
//! real Terraform CLIs, against the Azure emulator (one per test and CLI),
//! whose revisions run the demo application and whose Front Door edge
//! follows the route. What a release did is read from the emulator's
//! request journal: the ARM writes a pipeline would have made.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod canary;
mod credentials;
mod drift;
mod failed_gate;
mod faults;
mod lifecycle;
mod secrets;
mod watch_rollback;

use std::time::Duration;

use bluegreen_acceptance::harness::azure_emulator::AzureEmulator;
pub use bluegreen_acceptance::harness::output::{expect_match, unwrapped};
pub use bluegreen_acceptance::harness::provider::bluegreen;
use bluegreen_acceptance::harness::{http, Terraform, Workspace};
use serde_json::Value as Json;

/// The resource every test manages.
pub const ADDRESS: &str = "bluegreen_environment.api";

/// One test on one CLI: its own seeded emulator and the environment's name.
pub struct Fixture {
    /// The emulator (stopped when the fixture drops).
    pub azure: AzureEmulator,
    /// Environment name.
    pub name: String,
}

impl Fixture {
    /// A fresh emulator `<label>-tf<version>` for `tf`; the environment is `name`.
    pub fn new(label: &str, tf: &Terraform, name: &str) -> Fixture {
        Fixture {
            azure: AzureEmulator::start(&format!("{label}-tf{}", tf.version_string())),
            name: name.to_string(),
        }
    }

    /// A fixture whose emulator runs the demo application with `env`, on
    /// real time (see [`AzureEmulator::start_with`]).
    pub fn with_env(label: &str, tf: &Terraform, name: &str, env: &[(&str, &str)]) -> Fixture {
        Fixture {
            azure: AzureEmulator::start_with(
                &format!("{label}-tf{}", tf.version_string()),
                env,
                1.0,
            ),
            name: name.to_string(),
        }
    }

    /// The whole configuration: the provider's `azure` block at the emulator, then `body`.
    pub fn config(&self, body: &str) -> String {
        format!(
            "{}\n{}\n{body}",
            bluegreen().required_providers_block(),
            self.azure.provider_block()
        )
    }

    /// A workspace whose commands reach the emulator's host names on loopback.
    pub fn workspace(&self, test: &str, tf: &Terraform) -> Workspace {
        let ws = Workspace::new(test, tf, &bluegreen());
        self.prepare(&ws);
        ws
    }

    /// Points a workspace's commands at the emulator's host map.
    pub fn prepare(&self, ws: &Workspace) {
        if let Some(hosts) = self.azure.hosts_file() {
            ws.set_env("BLUEGREEN_AZURE_HOST_MAP", hosts);
        }
    }

    /// The environment at `version`, with short gates.
    pub fn env(&self, version: &str) -> AzureEnv {
        AzureEnv {
            name: self.name.clone(),
            version: version.to_string(),
            block: self.azure.environment_block(false),
            gates: true,
            health_path: "/api/health".into(),
            window: "3s".into(),
            timeouts: None,
        }
    }

    /// The id of the seeded Container App.
    pub fn app_id(&self) -> String {
        self.azure.seeded("container_app_id")
    }

    /// The origin group the route sends traffic to now.
    pub fn route_origin_group(&self) -> String {
        let route = self
            .azure
            .resource(&self.azure.seeded("front_door_route_id"));
        route["properties"]["originGroup"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the route has no originGroup: {route}"))
            .to_string()
    }

    /// Asserts the route names the origin group of `color`.
    pub fn assert_route_to(&self, color: &str) {
        let want = self.azure.seeded(&format!("{color}_origin_group_id"));
        let got = self.route_origin_group();
        assert!(
            got.eq_ignore_ascii_case(&want),
            "the route sends traffic to {got}, expected the {color} origin group {want}"
        );
    }

    /// `n` requests to every edge location: each must answer 200 from `version`.
    pub fn assert_edge_serves(&self, n: usize, version: &str) {
        let host = self.azure.seeded("endpoint_host_name");
        let edges = self.azure.edge_urls();
        assert!(!edges.is_empty(), "the emulator lists no edge location");
        for edge in &edges {
            for _ in 0..n {
                let reply = http::request(
                    "GET",
                    &format!("{edge}/api/version"),
                    &[("Host", host.as_str())],
                    None,
                    Duration::from_secs(5),
                )
                .unwrap_or_else(|e| panic!("edge {edge}: {e}"));
                let served = reply
                    .json()
                    .ok()
                    .and_then(|j| j["version"].as_str().map(str::to_string));
                assert!(
                    reply.status == 200 && served.as_deref() == Some(version),
                    "edge {edge} answered HTTP {} {:?}, expected 200 from {version}: {}",
                    reply.status,
                    served,
                    reply.body
                );
            }
        }
    }

    /// The journal's app PATCHes that change its template (a deploy).
    pub fn deploys(&self, journal: &[Json]) -> Vec<Json> {
        let app = self.app_id().to_ascii_lowercase();
        journal
            .iter()
            .filter(|e| {
                e["method"] == "PATCH"
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.to_ascii_lowercase() == app)
                    && !e["body"]["properties"]["template"].is_null()
            })
            .cloned()
            .collect()
    }

    /// The journal's PATCHes of the route (switches).
    pub fn route_patches(&self, journal: &[Json]) -> Vec<Json> {
        let route = self
            .azure
            .seeded("front_door_route_id")
            .to_ascii_lowercase();
        journal
            .iter()
            .filter(|e| {
                e["method"] == "PATCH"
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.to_ascii_lowercase() == route)
            })
            .cloned()
            .collect()
    }
}

/// A `bluegreen_environment.api` block on Azure.
#[derive(Debug, Clone)]
pub struct AzureEnv {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// The `azure` block.
    pub block: String,
    /// Write `health_check` and `post_switch` blocks with short timings.
    pub gates: bool,
    /// `health_check.path`.
    pub health_path: String,
    /// `post_switch.window`.
    pub window: String,
    /// The `timeouts` block's body (e.g. `update = "20s"`), when written.
    pub timeouts: Option<String>,
}

impl AzureEnv {
    /// Without the gate blocks: only the required arguments (what an import can know).
    #[must_use]
    pub fn minimal(mut self) -> Self {
        self.gates = false;
        self
    }

    /// With another post-switch window.
    #[must_use]
    pub fn window(mut self, window: &str) -> Self {
        self.window = window.to_string();
        self
    }

    /// With another health check path.
    #[must_use]
    pub fn health_path(mut self, path: &str) -> Self {
        self.health_path = path.to_string();
        self
    }

    /// With a `timeouts` block whose body is `body` (e.g. `update = "20s"`).
    #[must_use]
    pub fn timeouts(mut self, body: &str) -> Self {
        self.timeouts = Some(body.to_string());
        self
    }

    /// The HCL.
    pub fn hcl(&self) -> String {
        let mut out = format!(
            "resource \"bluegreen_environment\" \"api\" {{\n  name    = \"{}\"\n  version = \"{}\"\n{}",
            self.name, self.version, self.block
        );
        if self.gates {
            out.push_str(&format!(
                "\n  health_check {{\n    path              = \"{}\"\n    interval          = \"500ms\"\n    timeout           = \"2s\"\n    healthy_threshold = 2\n    deadline          = \"30s\"\n  }}\n\n  post_switch {{\n    window       = \"{}\"\n    min_requests = 20\n  }}\n",
                self.health_path, self.window
            ));
        }
        if let Some(body) = &self.timeouts {
            out.push_str(&format!("\n  timeouts {{\n    {body}\n  }}\n"));
        }
        out.push_str("}\n");
        out
    }
}
