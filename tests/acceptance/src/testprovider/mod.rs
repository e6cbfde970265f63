//! `bgtest`: a provider built only for tests, exercising plugin protocol 6
//! end to end through `tfplugin` (unknowns across resources, nested blocks,
//! sets, maps, sensitive values, requires-replace, import, state upgrade,
//! diagnostics with paths, Stop) and dynamically typed values (`bgtest_data`).
//!
//! Objects live in a JSON file [`store::Store`] under the provider's
//! `store_dir`, so that Read reports the real object and a test can change it
//! behind Terraform's back.

pub mod data;
pub mod echo;
pub mod store;
pub mod thing;

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tfplugin::provider::{Ctx, DataSource, Provider, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

use store::Store;

/// The provider type name.
pub const TYPE_NAME: &str = "bgtest";
/// The provider's registry address.
pub const ADDRESS: &str = "registry.terraform.io/agog/bgtest";
/// The hclog module of the provider's log lines.
pub const LOG_MODULE: &str = "provider.terraform-provider-bgtest";

/// State shared by the provider and its resources: the store, once configured.
#[derive(Debug, Default)]
pub struct Shared {
    store: RwLock<Option<Store>>,
}

impl Shared {
    /// The configured store, or an error saying the provider is not configured.
    pub fn store(&self) -> Result<Store, Diagnostic> {
        // A poisoned lock only means another call panicked; the store itself is still valid.
        let guard = self.store.read().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "bgtest provider is not configured",
                "Terraform did not call ConfigureProvider before using a resource. Set `store_dir` in the provider block.",
            )
        })
    }

    fn set_store(&self, store: Store) {
        *self.store.write().unwrap_or_else(|e| e.into_inner()) = Some(store);
    }
}

/// The `bgtest` provider.
#[derive(Debug, Default)]
pub struct BgTestProvider {
    shared: Arc<Shared>,
}

impl BgTestProvider {
    /// A provider, not yet configured.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Provider for BgTestProvider {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Test provider for the acceptance harness.")
                .attr(Attribute::string("store_dir").required().description(
                    "Directory of the JSON file store that holds the provider's objects.",
                )),
        )
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(thing::Thing::new(self.shared.clone())),
            Arc::new(data::Data::default()),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(echo::Echo)]
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if config.get("store_dir").as_str() == Some("") {
            diags.error_at(
                AttributePath::attr("store_dir"),
                "store_dir must not be empty",
                "Set store_dir to a directory the provider may create files in.",
            );
        }
        diags
    }

    async fn configure(&self, _ctx: &Ctx, terraform_version: &str, config: &Value) -> Diagnostics {
        let Some(dir) = config.get("store_dir").as_str() else {
            return Diagnostic::error(
                "store_dir is not known",
                "store_dir must be known when the provider is configured; do not derive it from resource attributes.",
            )
            .at(AttributePath::attr("store_dir"))
            .into();
        };
        match Store::open(dir) {
            Ok(store) => {
                tracing::debug!(terraform_version, store_dir = dir, "configured");
                self.shared.set_store(store);
                Diagnostics::new()
            }
            Err(e) => Diagnostic::error(
                "Cannot open the store",
                format!("{e}. Choose a writable store_dir."),
            )
            .at(AttributePath::attr("store_dir"))
            .into(),
        }
    }
}
