//! Managed resource types.

pub mod environment;
