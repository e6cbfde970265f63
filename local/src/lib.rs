//! `bluegreen-local`: the embedded local platform of terraform-provider-bluegreen.
//!
//! It runs each colour of an environment as a local process, puts a reverse-proxy
//! front door with an atomically replaced routing table in front of them, records
//! per-colour metrics for the rollout gates, and serves an admin API. The provider
//! talks to it through [`client::Client`] with the types in [`api`].

pub mod api;
pub mod audit;
pub mod client;
pub mod daemon;
pub mod dashboard;
pub mod frontdoor;
pub mod handover;
pub mod lock;
pub mod process;
pub mod server;
pub mod state;
pub mod time;
