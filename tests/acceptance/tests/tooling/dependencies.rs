//! What the provider binary links: Terraform runs it for every plan and apply,
//! so the daemon (`bluegreen-local`) and its HTTP server stack (axum) stay out;
//! the provider talks to the daemon through `bluegreen-local-api` only. Nor
//! OpenSSL, native-tls or reqwest: TLS is rustls, the Azure client brings its own transport.

use crate::{both, run_in_repo};

/// Crates the provider's normal dependency tree must not contain, and why.
const KEPT_OUT: &[(&str, &str)] = &[
    (
        "bluegreen-local",
        "the provider reaches the daemon through bluegreen-local-api, not by linking it",
    ),
    (
        "axum",
        "tfplugin dispatches gRPC services itself (tfplugin/src/server/routes.rs); \
         tonic's `router` feature brings axum back",
    ),
    (
        "openssl-sys",
        "TLS is rustls with aws-lc-rs everywhere; the Azure crates (azure_core, azure_identity) \
         are used with default features off, which would bring OpenSSL in through native-tls",
    ),
    ("native-tls", "TLS is rustls; see openssl-sys"),
    (
        "reqwest",
        "the Azure client's HTTP transport is the provider's own (platform/azure/transport.rs); \
         azure_core's default features bring reqwest",
    ),
];

#[test]
fn the_provider_links_neither_the_daemon_nor_axum() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = run_in_repo(
        &cargo,
        &[
            "tree",
            "--offline",
            "--locked",
            "-p",
            "terraform-provider-bluegreen",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ],
    );
    let text = both(&out);
    assert!(out.status.success(), "`cargo tree` failed:\n{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Each line is `name vX.Y.Z [(path)] [(*)]`.
    let crates: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"tfplugin") && crates.contains(&"bluegreen-local-api"),
        "`cargo tree` did not list the provider's own dependencies:\n{text}"
    );
    for (name, why) in KEPT_OUT {
        assert!(
            !crates.contains(name),
            "terraform-provider-bluegreen depends on {name} again: {why}. \
             See the path with `cargo tree -p terraform-provider-bluegreen -e normal -i {name}`"
        );
    }
}
