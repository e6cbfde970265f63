//! The `bgtest` provider plugin, built only for the acceptance tests.

use std::process::ExitCode;
use std::sync::Arc;

use bluegreen_acceptance::testprovider::{BgTestProvider, ADDRESS, LOG_MODULE};
use tfplugin::server::{serve, ServeOptions};

fn main() -> ExitCode {
    tfplugin::logging::init(LOG_MODULE);
    let debug = std::env::args()
        .skip(1)
        .any(|a| a == "--debug" || a == "-debug");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ServeOptions {
        address: ADDRESS.to_string(),
        debug,
        tcp: false,
    };
    let result = runtime.block_on(serve(Arc::new(BgTestProvider::new()), opts));
    // Terraform asked us to go: don't wait for in-flight delays to notice.
    runtime.shutdown_timeout(std::time::Duration::from_millis(10));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
