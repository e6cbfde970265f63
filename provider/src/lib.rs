//! terraform-provider-bluegreen: blue-green releases as Terraform resources.

pub mod cli;
pub mod config;
pub mod data_sources;
pub mod env;
pub mod http;
pub mod migrate;
pub mod notify;
pub mod platform;
pub mod provider;
pub mod resources;
pub mod rollout;
pub mod shared;
pub mod waits;

/// The provider's registry address.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/agog/bluegreen";
/// The provider's release version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
