//! Managed resource types.

pub mod environment;
pub mod migration;
pub mod traffic_split;
