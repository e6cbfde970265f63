//! What a user gets through an environment's front door, and the demo
//! application's `local` block that the environments of the suites run
//! behind it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::http;
use super::local_platform::workspace_binary;

/// What the front door answered on `/api/version`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `version` of the body.
    pub version: String,
    /// `x-bluegreen-color` of the answer.
    pub color: String,
}

impl Answer {
    /// `GET url` once with `headers`: the status, the body's `version` and
    /// the `x-bluegreen-color` header (empty when missing).
    pub fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Answer, String> {
        let reply = http::request("GET", url, headers, None, timeout)?;
        let version = reply
            .json()
            .ok()
            .and_then(|j| j["version"].as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(Answer {
            status: reply.status,
            version,
            color: reply.header("x-bluegreen-color").unwrap_or("").to_string(),
        })
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {} on {}", self.status, self.version, self.color)
    }
}

/// The `local` block of a `bluegreen_environment` that runs the demo
/// application (`agog-demo-app`) as its colours behind a front door on
/// `listen`, with `env` as `local.env` (omitted when empty) and
/// `upstream_timeout` (omitted when `None`): from the blank line before it to
/// its closing brace.
pub fn demo_app_local_block(
    listen: &str,
    env: &BTreeMap<String, String>,
    upstream_timeout: Option<&str>,
) -> String {
    let app = workspace_binary("agog-demo-app");
    let mut out = format!(
        "\n  local {{\n    command       = [\"{}\", \"--port\", \"{{port}}\", \"--version\", \"{{version}}\", \"--color\", \"{{color}}\"]\n    listen        = \"{}\"\n    drain_timeout = \"1s\"\n",
        app.display(),
        listen
    );
    if let Some(t) = upstream_timeout {
        out.push_str(&format!("    upstream_timeout = \"{t}\"\n"));
    }
    if !env.is_empty() {
        out.push_str("    env = {\n");
        for (k, v) in env {
            out.push_str(&format!("      {k} = \"{v}\"\n"));
        }
        out.push_str("    }\n");
    }
    out.push_str("  }\n");
    out
}
