//! Azure Resource Manager client layer for the Azure platform: settings
//! (the provider `azure` block with azurerm's `ARM_*` fallbacks), credentials,
//! the ARM client with retries and long-running operations, and typed models
//! of the resources a release touches (Container Apps, Front Door, Monitor).
//! `platform.rs` implements `Platform` on top of this.

pub mod assertion;
pub mod auth;
pub mod client;
pub mod colors;
pub mod error;
pub mod hosts;
pub mod lock;
pub mod lro;
pub mod managed_identity;
pub mod metrics;
pub mod models;
pub mod monitor;
pub mod platform;
pub mod propagation;
pub mod recent;
pub mod resource_id;
pub mod routing;
pub mod settings;
pub mod subscription;
pub mod tags;
pub mod target;
pub mod transport;
pub mod wait;

pub use platform::AzurePlatform;
pub use target::AzureTarget;
