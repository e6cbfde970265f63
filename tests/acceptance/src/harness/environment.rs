//! The `bluegreen_environment.api` block the suites write: the demo
//! application behind a front door, with short gates.

use std::collections::BTreeMap;

use super::front_door::demo_app_local_block;

/// A `bluegreen_environment.api` block.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `candidate_version` (omitted when `None`).
    pub candidate: Option<String>,
    /// `local.listen`.
    pub listen: String,
    /// `local.env` (omitted when empty).
    pub env: BTreeMap<String, String>,
    /// `local.upstream_timeout` (omitted when `None`).
    pub upstream_timeout: Option<String>,
    /// Write the `health_check` block.
    pub health_check: bool,
    /// Write a `smoke_test` block against `/api/orders`.
    pub smoke_test: bool,
    /// Write the `post_switch` block.
    pub post_switch: bool,
    /// `health_check.timeout`.
    pub health_timeout: String,
    /// `health_check.deadline`.
    pub health_deadline: String,
    /// `post_switch.window`.
    pub window: String,
    /// `post_switch.min_requests`.
    pub min_requests: u32,
    /// `post_switch.max_error_rate`, as written (the provider's default when `None`).
    pub max_error_rate: Option<String>,
}

impl EnvConfig {
    /// `name` at `version` behind a front door on 127.0.0.1:`front_port`,
    /// with short gates: probes every 200 ms, a 3 s post-switch window.
    pub fn new(name: &str, version: &str, front_port: u16) -> EnvConfig {
        EnvConfig {
            name: name.to_string(),
            version: version.to_string(),
            candidate: None,
            listen: format!("127.0.0.1:{front_port}"),
            env: BTreeMap::new(),
            upstream_timeout: None,
            health_check: true,
            smoke_test: true,
            post_switch: true,
            health_timeout: "1s".into(),
            health_deadline: "3s".into(),
            window: "3s".into(),
            min_requests: 20,
            // Written out, as the documentation's example does.
            max_error_rate: Some("0.01".into()),
        }
    }

    /// With another version.
    #[must_use]
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_string();
        self
    }

    /// With a `candidate_version`.
    #[must_use]
    pub fn candidate(mut self, version: &str) -> Self {
        self.candidate = Some(version.to_string());
        self
    }

    /// With one more `local.env` variable.
    #[must_use]
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Without the gate blocks: only the required arguments (what an import can know).
    #[must_use]
    pub fn minimal(mut self) -> Self {
        self.health_check = false;
        self.smoke_test = false;
        self.post_switch = false;
        self
    }

    /// Without the smoke test (when a fault makes the demo app fail some requests).
    #[must_use]
    pub fn without_smoke_test(mut self) -> Self {
        self.smoke_test = false;
        self
    }

    /// The HCL.
    pub fn hcl(&self) -> String {
        let mut out = format!(
            "resource \"bluegreen_environment\" \"api\" {{\n  name    = \"{}\"\n  version = \"{}\"\n",
            self.name, self.version
        );
        if let Some(c) = &self.candidate {
            out.push_str(&format!("  candidate_version = \"{c}\"\n"));
        }
        out.push_str(&demo_app_local_block(
            &self.listen,
            &self.env,
            self.upstream_timeout.as_deref(),
        ));
        if self.health_check {
            out.push_str(&format!(
                "\n  health_check {{\n    interval          = \"200ms\"\n    timeout           = \"{}\"\n    healthy_threshold = 2\n    deadline          = \"{}\"\n  }}\n",
                self.health_timeout, self.health_deadline
            ));
        }
        if self.smoke_test {
            out.push_str(
                "\n  smoke_test {\n    name          = \"orders\"\n    path          = \"/api/orders\"\n    body_contains = \"orders\"\n  }\n",
            );
        }
        if self.post_switch {
            out.push_str(&format!(
                "\n  post_switch {{\n    window       = \"{}\"\n    min_requests = {}\n",
                self.window, self.min_requests
            ));
            if let Some(rate) = &self.max_error_rate {
                out.push_str(&format!("    max_error_rate = {rate}\n"));
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        out
    }
}
