//! The provider under test: its registry address, version and binary.

use std::path::{Path, PathBuf};

/// A provider binary Terraform should install from a filesystem mirror.
#[derive(Debug, Clone)]
pub struct ProviderBinary {
    /// Registry hostname, `registry.terraform.io`.
    pub hostname: String,
    /// Namespace, `agog`.
    pub namespace: String,
    /// Type name, e.g. `bgtest` or `bluegreen`.
    pub type_name: String,
    /// Version the mirror offers it as.
    pub version: String,
    /// The built executable.
    pub binary: PathBuf,
}

impl ProviderBinary {
    /// `registry.terraform.io/agog/<type_name>` at `version`, from `binary`.
    pub fn new(type_name: &str, version: &str, binary: impl Into<PathBuf>) -> Self {
        Self {
            hostname: "registry.terraform.io".into(),
            namespace: "agog".into(),
            type_name: type_name.into(),
            version: version.into(),
            binary: binary.into(),
        }
    }

    /// A binary of this workspace, `target/<profile>/terraform-provider-<type_name>`,
    /// found next to the running test executable. Panics, saying how to build
    /// it, when it is missing.
    pub fn workspace_bin(type_name: &str, version: &str) -> Self {
        let name = format!("terraform-provider-{type_name}");
        let binary = target_profile_dir().join(&name);
        assert!(
            binary.is_file(),
            "{} is missing: build the workspace binaries first with `cargo build --workspace --bins`",
            binary.display()
        );
        Self::new(type_name, version, binary)
    }

    /// `registry.terraform.io/agog/bgtest`.
    pub fn address(&self) -> String {
        format!("{}/{}/{}", self.hostname, self.namespace, self.type_name)
    }

    /// `agog/bgtest`, for `required_providers`.
    pub fn source(&self) -> String {
        format!("{}/{}", self.namespace, self.type_name)
    }

    /// `terraform-provider-bgtest`: the prefix of the logger name
    /// (`provider.terraform-provider-bgtest_v0.1.0`) go-plugin gives its lines.
    pub fn plugin_name(&self) -> String {
        format!("terraform-provider-{}", self.type_name)
    }

    /// The file name inside the mirror: `terraform-provider-bgtest_v0.1.0`.
    pub fn mirror_file_name(&self) -> String {
        format!("terraform-provider-{}_v{}", self.type_name, self.version)
    }

    /// A `terraform { required_providers { ... } }` block for this provider.
    pub fn required_providers_block(&self) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    {} = {{\n      source  = \"{}\"\n      version = \"{}\"\n    }}\n  }}\n}}\n",
            self.type_name,
            self.source(),
            self.version
        )
    }

    /// Places the binary in the filesystem-mirror layout under `mirror`
    /// (hard link, or a copy across filesystems).
    pub fn install_into_mirror(&self, mirror: &Path) -> std::io::Result<PathBuf> {
        let dir = mirror
            .join(&self.hostname)
            .join(&self.namespace)
            .join(&self.type_name)
            .join(&self.version)
            .join(platform());
        std::fs::create_dir_all(&dir)?;
        let dest = dir.join(self.mirror_file_name());
        if std::fs::hard_link(&self.binary, &dest).is_err() {
            std::fs::copy(&self.binary, &dest)?;
        }
        Ok(dest)
    }
}

/// `terraform-provider-bluegreen` of this workspace, from `target/<profile>/`.
pub fn bluegreen() -> ProviderBinary {
    ProviderBinary::workspace_bin("bluegreen", env!("CARGO_PKG_VERSION"))
}

/// Terraform's platform name, `linux_amd64`.
pub fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

/// `target/debug` (or whichever profile built the running test).
pub fn target_profile_dir() -> PathBuf {
    // The test executable is target/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .map_or_else(|| PathBuf::from("target/debug"), Path::to_path_buf)
}

/// `target/`.
pub fn target_dir() -> PathBuf {
    let profile = target_profile_dir();
    profile.parent().map_or(profile.clone(), Path::to_path_buf)
}
