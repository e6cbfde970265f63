//! Code generated from `schemas/*.proto`.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// Terraform plugin protocol 6 messages and services.
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's controller, stdio and broker services.
pub mod plugin {
    tonic::include_proto!("plugin");
}
