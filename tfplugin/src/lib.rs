//! Terraform plugin protocol 6, in Rust.
//!
//! This crate knows nothing of blue-green releases. It speaks go-plugin's
//! handshake and AutoMTLS, serves the `tfplugin6.Provider` gRPC service, and
//! dispatches each call to the [`provider::Provider`], [`provider::Resource`]
//! and [`provider::DataSource`] traits in terms of cty [`value::Value`]s.

pub mod diag;
pub mod logging;
pub mod model;
pub mod plan;
pub mod proto;
pub mod provider;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use value::{AttributePath, Number, PathStep, Type, Value};
