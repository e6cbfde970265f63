//! Acceptance tests of the `bgtest` provider on the real Terraform CLIs
//! (every CLI of `TF_ACC_TERRAFORM_PATHS`, by default `terraform` on PATH and
//! `.tools/terraform-1.0.3/terraform`).

mod cross_resource;
mod diagnostics;
mod drift;
mod dynamic_values;
mod lifecycle;
mod protocol_logs;
mod sensitive;
mod set_blocks;
mod state_upgrade;
mod stop;

use bluegreen_acceptance::harness::{ProviderBinary, Workspace};
use bluegreen_acceptance::testprovider::store::Store;
use bluegreen_acceptance::testprovider::thing::{ThingRecord, STORE_KIND};

/// The test provider, as built by cargo for these tests.
pub fn bgtest() -> ProviderBinary {
    ProviderBinary::new(
        "bgtest",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_BIN_EXE_terraform-provider-bgtest"),
    )
}

/// `body` with the `terraform` and `provider "bgtest"` blocks in front; the
/// store lives in the work directory.
pub fn config(body: &str) -> String {
    format!(
        "{}\nprovider \"bgtest\" {{\n  store_dir = \"{{{{workdir}}}}/store\"\n}}\n\n{body}",
        bgtest().required_providers_block()
    )
}

/// The 1-based line of `config(body)` holding `needle`, for diagnostics that
/// point at a line.
pub fn line_of(config_text: &str, needle: &str) -> usize {
    config_text
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} is not in the configuration"))
}

/// The provider's store in a work directory.
pub fn store(ws: &Workspace) -> Store {
    Store::open(ws.dir().join("store")).expect("open the store")
}

/// Every thing in the store.
pub fn things(ws: &Workspace) -> Vec<ThingRecord> {
    let store = store(ws);
    store
        .ids(STORE_KIND)
        .expect("list the store")
        .iter()
        .map(|id| {
            let json = store
                .get(STORE_KIND, id)
                .expect("read the store")
                .expect("listed object exists");
            ThingRecord::from_json(json).expect("stored thing parses")
        })
        .collect()
}

/// The destroy check every case shares: nothing left in the store.
pub fn store_is_empty(ws: &Workspace) {
    let left = things(ws);
    assert!(
        left.is_empty(),
        "things left in the store after destroy: {left:?}"
    );
}
