//! The Terraform CLIs the acceptance tests run on.
//!
//! `TF_ACC_TERRAFORM_PATHS` (colon-separated) names them; by default they are
//! `terraform` on `PATH` and the 1.0.3 that `make tools` installs under
//! `.tools/`. Missing ones are skipped with a note, but finding none at all
//! fails every test: acceptance tests must never pass by not running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable listing the CLIs to test with.
pub const PATHS_VAR: &str = "TF_ACC_TERRAFORM_PATHS";

/// One Terraform CLI and its version.
#[derive(Debug, Clone)]
pub struct Terraform {
    /// The executable.
    pub path: PathBuf,
    /// `major.minor.patch`.
    pub version: (u64, u64, u64),
}

impl Terraform {
    /// Every configured CLI that exists, in order; panics when there is none.
    pub fn all() -> &'static [Terraform] {
        static ALL: OnceLock<Vec<Terraform>> = OnceLock::new();
        ALL.get_or_init(discover)
    }

    /// Probes one CLI for its version.
    pub fn probe(path: &Path) -> Result<Terraform, String> {
        let out = Command::new(path)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env_remove("TF_LOG")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} version -json failed ({}): {}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{} version -json printed no JSON: {e}", path.display()))?;
        let text = json["terraform_version"]
            .as_str()
            .ok_or_else(|| format!("{} version -json has no terraform_version", path.display()))?;
        let version = parse_version(text)
            .ok_or_else(|| format!("{}: unparsable version {text:?}", path.display()))?;
        Ok(Terraform {
            path: path.to_path_buf(),
            version,
        })
    }

    /// `1.11.4`.
    pub fn version_string(&self) -> String {
        let (a, b, c) = self.version;
        format!("{a}.{b}.{c}")
    }

    /// True from 1.1 on, where `apply -refresh-only` replaces `terraform refresh`.
    pub fn prefers_refresh_only(&self) -> bool {
        self.version >= (1, 1, 0)
    }
}

/// `1.0.3`, `1.11.4-dev` → (1, 0, 3), (1, 11, 4).
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text
        .trim()
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The repository root (where `.tools/` lives).
pub fn repo_root() -> PathBuf {
    // CARGO_MANIFEST_DIR is <root>/tests/acceptance.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn default_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(p) = which("terraform") {
        paths.push(p);
    }
    paths.push(repo_root().join(".tools/terraform-1.0.3/terraform"));
    paths
}

fn discover() -> Vec<Terraform> {
    let (configured, source) = match std::env::var(PATHS_VAR) {
        Ok(v) if !v.trim().is_empty() => (
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect::<Vec<_>>(),
            PATHS_VAR.to_string(),
        ),
        _ => (
            default_paths(),
            "the defaults (terraform on PATH, .tools/terraform-1.0.3/terraform)".to_string(),
        ),
    };
    let mut found: Vec<Terraform> = Vec::new();
    let mut problems = Vec::new();
    for path in &configured {
        if !path.exists() {
            super::announce(&format!(
                "acceptance: skipping Terraform at {}: it does not exist",
                path.display()
            ));
            problems.push(format!("{}: does not exist", path.display()));
            continue;
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if found
            .iter()
            .any(|t| std::fs::canonicalize(&t.path).unwrap_or_else(|_| t.path.clone()) == canonical)
        {
            continue;
        }
        match Terraform::probe(path) {
            Ok(tf) => found.push(tf),
            Err(e) => {
                super::announce(&format!(
                    "acceptance: skipping Terraform at {}: {e}",
                    path.display()
                ));
                problems.push(e);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no Terraform CLI found for the acceptance tests (from {source}):\n  {}\n\
         Install one (`make tools` installs 1.0.3 under .tools/) or set {PATHS_VAR} to colon-separated paths.",
        problems.join("\n  ")
    );
    let names: Vec<String> = found
        .iter()
        .map(|t| format!("{} ({})", t.version_string(), t.path.display()))
        .collect();
    super::announce(&format!("acceptance: Terraform CLIs: {}", names.join(", ")));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("1.0.3"), Some((1, 0, 3)));
        assert_eq!(parse_version("v1.11.4-dev"), Some((1, 11, 4)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_version("x"), None);
    }
}
