//! Data source types.

pub mod environment;
