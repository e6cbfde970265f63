//! An environment lock held for one apply: a short lease, renewed in the background
//! while the apply runs, so that a run that dies frees the environment within one lease.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{EnvironmentRef, Lease, Platform, PlatformError};

/// Lease duration asked for: short, since the holder renews it while it works.
pub const LOCK_TTL: Duration = Duration::from_secs(60);

/// How often the lease is renewed: a quarter of its duration, so that a renewal or two
/// may fail (a busy daemon) before it lapses.
pub const RENEW_EVERY: Duration = Duration::from_secs(15);

/// A held environment lock; its renewal stops when it is released or dropped.
pub struct HeldLock {
    environment: EnvironmentRef,
    lease: Lease,
    renewal: JoinHandle<()>,
}

impl HeldLock {
    /// Takes the lock of `environment` for `owner` and starts renewing it.
    pub async fn acquire(
        platform: &Arc<dyn Platform>,
        environment: &EnvironmentRef,
        owner: &str,
    ) -> Result<HeldLock, PlatformError> {
        let lease = platform.lock(environment, owner, LOCK_TTL).await?;
        let renewal = tokio::spawn(renew(
            Arc::clone(platform),
            environment.clone(),
            lease.clone(),
        ));
        Ok(HeldLock {
            environment: environment.clone(),
            lease,
            renewal,
        })
    }

    /// The lease, for the platform calls made under it.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Stops renewing and releases the lock.
    pub async fn release(self, platform: &dyn Platform) -> Result<(), PlatformError> {
        self.renewal.abort();
        platform.unlock(&self.environment, &self.lease).await
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // An apply that ends without releasing (cancelled, or the process exiting)
        // must not keep the lease alive: it then lapses within LOCK_TTL.
        self.renewal.abort();
    }
}

async fn renew(platform: Arc<dyn Platform>, environment: EnvironmentRef, lease: Lease) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match platform.renew(&environment, &lease, LOCK_TTL).await {
            Ok(()) => tracing::debug!(environment = %environment, "environment lock renewed"),
            Err(e) => {
                tracing::warn!(environment = %environment, error = %e, "renewing the environment lock failed; the platform refuses changes under a lock this run no longer holds")
            }
        }
    }
}
