//! Time bounds for the raw-socket protocol tests: every network step either completes
//! or fails the test, so a hang in the front door shows as a failure, not a stuck suite.

use std::future::Future;
use std::time::Duration;

/// Bound on any single network step of the client side: loopback answers in
/// milliseconds, so hitting this means a hang.
pub const STEP: Duration = Duration::from_secs(5);
/// Bound on an upstream task's reads, so a stuck connection task ends on its own.
pub const UPSTREAM_READ: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {STEP:?}"))
}
