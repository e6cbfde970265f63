//! Finding the programs a benchmark drives: this workspace's binaries next to the
//! benchmark's own executable, and system tools on PATH.

use std::path::{Path, PathBuf};

/// A binary built from this workspace, in the same target directory as the running
/// benchmark (`target/release/NAME`).
pub fn workspace_bin(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("the benchmark executable has no directory"))?;
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        anyhow::bail!(
            "{} is missing: build the workspace binaries first, e.g. `cargo build --release -p terraform-provider-bluegreen -p bluegreen-local -p agog-demo-app -p bluegreen-acceptance -p bluegreen-bench` (same CARGO_TARGET_DIR as the benchmark)",
            path.display()
        )
    }
}

/// A system tool, looked up on PATH and in the sbin directories (nginx lives in
/// /usr/sbin, which is not on every PATH).
pub fn system_tool(name: &str, install_hint: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| anyhow::anyhow!("{name} is not installed: {install_hint}"))
}

/// How a compared binary is named in tables: its folder and file name, since builds
/// compared side by side often share the file name (`release/terraform-provider-bgtest`
/// beside `go-reference-provider/terraform-provider-bgtest`).
pub fn binary_label(path: &Path) -> String {
    let mut last_two: Vec<_> = path.iter().rev().take(2).collect();
    last_two.reverse();
    last_two
        .into_iter()
        .collect::<PathBuf>()
        .display()
        .to_string()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What to run on Debian/Ubuntu when `wrk` or `nginx` is missing.
pub const WRK_NGINX_HINT: &str = "apt-get install wrk nginx";
