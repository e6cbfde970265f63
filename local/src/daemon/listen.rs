//! Front doors that cannot bind their `listen` address (a port still held by another
//! process after a restart) are reported down and keep retrying with backoff, so a
//! restart never leaves a silent outage behind.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::environment::Env;
use super::{Daemon, Inner};
use crate::api::{AuditAction, AuditEntry, Outcome};
use crate::frontdoor::{FrontDoor, FrontDoorError, Outage};
use crate::time::rfc3339;

/// First delay before binding again; doubled after each failure.
const RETRY_FIRST: Duration = Duration::from_millis(250);
/// Longest delay between two binds: a freed port is served again within this.
const RETRY_MAX: Duration = Duration::from_secs(5);

impl Daemon {
    /// Binds and serves `env`'s front door; when that fails, reports the front door down
    /// and keeps retrying in the background.
    pub(super) async fn open_front_door(&self, env: &Arc<Env>) {
        let listen = env.data().spec.listen.clone();
        match FrontDoor::bind(&listen).await {
            Ok(listener) => env.frontdoor.serve(listener).await,
            Err(e) => self.front_door_down(env, &listen, &e),
        }
    }

    /// Records a failed bind of `listen`, audits the outage when it begins, and makes
    /// sure a retry task runs.
    pub(super) fn front_door_down(&self, env: &Arc<Env>, listen: &str, error: &FrontDoorError) {
        let outage = env.frontdoor.record_bind_failure(listen, error);
        tracing::error!(environment = %env.name, "{error}: the front door is down; retrying with backoff until the address is free");
        if outage.attempts == 1 {
            self.audit(listen_entry(
                &env.name,
                Outcome::Failed,
                format!("{error}: the front door is down and retries with backoff; free the address or change `listen`"),
            ));
        }
        if !env.frontdoor.retrying() {
            let task = tokio::spawn(keep_binding(
                Arc::downgrade(&self.inner),
                Arc::downgrade(env),
            ));
            env.frontdoor.set_retry(task);
        }
    }

    /// Audits that the front door listens again after `outage`.
    pub(super) fn front_door_back(&self, env: &Env, outage: &Outage) {
        tracing::info!(environment = %env.name, address = %outage.address, "front door listening again after {} failed binds", outage.attempts);
        self.audit(listen_entry(
            &env.name,
            Outcome::Ok,
            format!(
                "front door listening on {} again (down since {}, {} failed binds)",
                outage.address,
                rfc3339(outage.since_ms),
                outage.attempts
            ),
        ));
    }
}

fn listen_entry(environment: &str, outcome: Outcome, message: String) -> AuditEntry {
    AuditEntry {
        time: String::new(),
        actor: "daemon".into(),
        environment: environment.to_owned(),
        action: AuditAction::Listen,
        from_version: None,
        to_version: None,
        from_color: None,
        to_color: None,
        revision: None,
        outcome,
        message,
    }
}

/// Binds again with backoff until it works, the environment goes away, or someone
/// else (a redefinition) bound the front door.
async fn keep_binding(daemon: Weak<Inner>, env: Weak<Env>) {
    let mut delay = RETRY_FIRST;
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY_MAX);
        let (Some(inner), Some(env)) = (daemon.upgrade(), env.upgrade()) else {
            return;
        };
        let daemon = Daemon { inner };
        // Serialised with define and delete, which bind or close this front door too.
        let _op = env.ops.lock().await;
        let Some(outage) = env.frontdoor.outage() else {
            return;
        };
        if env.frontdoor.local_addr().is_some() {
            return;
        }
        let listen = env.data().spec.listen.clone();
        match FrontDoor::bind(&listen).await {
            Ok(listener) => {
                env.frontdoor.serve(listener).await;
                daemon.front_door_back(&env, &outage);
                return;
            }
            Err(e) => {
                let outage = env.frontdoor.record_bind_failure(&listen, &e);
                tracing::debug!(environment = %env.name, "bind attempt {} failed: {e}", outage.attempts);
            }
        }
    }
}
