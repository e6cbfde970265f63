//! Tests of the plugin protocol itself, talking to provider binaries the way
//! Terraform does: handshake, mutual TLS, Shutdown, and malformed input.

mod malformed;
mod mtls;

use std::path::PathBuf;

use bluegreen_acceptance::harness::ProviderBinary;

/// The test provider binary.
pub fn bgtest_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-bgtest"))
}

/// The real provider binary (built by `cargo build --workspace --bins`).
pub fn bluegreen_binary() -> PathBuf {
    ProviderBinary::workspace_bin("bluegreen", env!("CARGO_PKG_VERSION")).binary
}
