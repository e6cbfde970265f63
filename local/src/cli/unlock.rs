//! `bluegreen-local unlock ENV`: breaks an environment lock left by a run that died.

use bluegreen_local::api::BreakLockRequest;
use bluegreen_local::client::Client;

use super::switch::operator;

/// Breaks the lock of `environment`, whoever holds it; audited under the operator's name.
pub async fn run(client: &Client, environment: &str) -> anyhow::Result<()> {
    let request = BreakLockRequest {
        actor: Some(operator()),
    };
    match client.break_lock(environment, &request).await? {
        Some(lock) => println!(
            "{environment}: broke the lock of {} (held since {}, expiring {}); the next terraform apply can take it",
            lock.owner, lock.since, lock.expires_at
        ),
        None => println!("{environment}: not locked; nothing changed"),
    }
    Ok(())
}
