//! Managed resource types.

pub mod common;
pub mod environment;
pub mod migration;
pub mod planned_versions;
pub mod stop;
pub mod traffic_split;
