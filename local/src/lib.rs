//! `bluegreen-local`: the embedded local platform of terraform-provider-bluegreen.
//!
//! It runs each colour of an environment as a local process, puts a reverse-proxy
//! front door with an atomically replaced routing table in front of them, records
//! per-colour metrics for the rollout gates, and serves an admin API. The provider
//! talks to it through [`client::Client`] with the types in [`api`], both defined in
//! the `bluegreen-local-api` crate so that clients do not link the daemon.

// Re-exported so the daemon's modules keep naming them `crate::api` and `crate::client`.
pub use bluegreen_local_api::{api, client};

pub mod audit;
pub mod daemon;
pub mod frontdoor;
pub mod handover;
pub mod lock;
pub mod page;
pub mod process;
pub mod server;
pub mod state;
pub mod time;
