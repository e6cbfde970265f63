//! Defining an environment (its front door, command and drain) and deleting it.

use std::sync::Arc;
use std::time::Duration;

use super::super::environment::{empty_routing, header_name, ColorSlot, Env, EnvData};
use super::super::{Daemon, DaemonError};
use super::audited::{actor, Attempt};
use super::validate::{validate_name, validate_spec};
use crate::api::{
    AuditAction, AuditEntry, Color, EnvironmentSpec, EnvironmentStatus, Outcome, StopRequest,
};
use crate::frontdoor::FrontDoor;
use crate::lock::LeaseSlot;
use crate::process::supervisor::Supervisor;

impl Daemon {
    /// Creates or updates an environment definition (idempotent).
    pub async fn define(
        &self,
        name: &str,
        spec: EnvironmentSpec,
        actor_name: Option<String>,
    ) -> Result<EnvironmentStatus, DaemonError> {
        validate_name(name)?;
        validate_spec(&spec)?;
        let who = actor(&actor_name);
        let _define = self.inner.define_lock.lock().await;
        if let Ok(env) = self.env(name) {
            let _op = env.ops.lock().await;
            let old = env.data().spec.clone();
            let listening = env.frontdoor.local_addr().is_some();
            if old == spec && listening {
                return Ok(env.status());
            }
            if old.listen != spec.listen || !listening {
                // A front door that is down is bound again here, so an apply repairs it.
                let outage = env.frontdoor.outage();
                let listener = match FrontDoor::bind(&spec.listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        if old.listen == spec.listen {
                            self.front_door_down(&env, &spec.listen, &e);
                        }
                        return Err(e.into());
                    }
                };
                env.frontdoor.stop_retrying().await;
                env.frontdoor.serve(listener).await;
                if let Some(outage) = outage.filter(|o| o.address == spec.listen) {
                    self.front_door_back(&env, &outage);
                }
                if old == spec {
                    return Ok(env.status());
                }
            }
            {
                let mut data = env.data();
                // A routing table that used the definition's header follows its change.
                if data.routing.tenant_header == old.tenant_header {
                    data.routing.tenant_header = spec.tenant_header.clone();
                }
                data.spec = spec.clone();
            }
            env.reinstall();
            self.save().await?;
            self.audit(
                Attempt::new(name, AuditAction::Define, who)
                    .succeeded(format!("definition updated (front door {})", spec.listen)),
            );
            return Ok(env.status());
        }
        let listener = FrontDoor::bind(&spec.listen).await?;
        let tenant_header = header_name(&spec.tenant_header)
            .ok_or_else(|| DaemonError::Invalid("invalid tenant header".into()))?;
        let env = Arc::new(Env {
            name: name.to_owned(),
            ops: tokio::sync::Mutex::new(()),
            data: std::sync::Mutex::new(EnvData {
                routing: empty_routing(self.next_revision(), &spec),
                pending_routing: None,
                spec: spec.clone(),
                lock: LeaseSlot::default(),
                colors: [ColorSlot::default(), ColorSlot::default()],
            }),
            frontdoor: FrontDoor::new(name, tenant_header),
            health: Default::default(),
        });
        env.reinstall();
        crate::daemon::health::watch(&env);
        self.inner
            .envs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), env.clone());
        env.frontdoor.serve(listener).await;
        if let Err(e) = self.save().await {
            env.frontdoor.shutdown().await;
            self.inner
                .envs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(name);
            return Err(e);
        }
        self.audit(
            Attempt::new(name, AuditAction::Define, who).succeeded(format!(
                "environment created; front door on {}",
                spec.listen
            )),
        );
        Ok(env.status())
    }

    /// Routes nothing, drains and stops both colours, forgets the environment.
    pub async fn delete(&self, name: &str, req: StopRequest) -> Result<(), DaemonError> {
        let _define = self.inner.define_lock.lock().await;
        let env = self.env(name)?;
        let _op = env.ops.lock().await;
        let attempt = Attempt::new(name, AuditAction::Delete, actor(&req.actor));
        // Only the lock refuses a delete; once it starts, it goes to the end.
        let (sups, drain, live) = self
            .audited(attempt, async {
                let mut data = env.data();
                self.check_lock(&env, &data, req.lock_owner.as_deref(), false)?;
                let live = data
                    .routing
                    .primary
                    .and_then(|c| data.colors[c.index()].version.clone());
                data.routing = empty_routing(self.next_revision(), &data.spec);
                let drain = Duration::from_millis(data.spec.drain_timeout_ms);
                let sups: Vec<(Color, Supervisor)> = Color::ALL
                    .iter()
                    .filter_map(|c| {
                        let slot = &mut data.colors[c.index()];
                        slot.version = None;
                        slot.launch = None;
                        slot.supervisor.take().map(|s| (*c, s))
                    })
                    .collect();
                Ok::<_, DaemonError>((sups, drain, live))
            })
            .await?;
        env.reinstall();
        self.inner.releases.forget(name);
        for (color, sup) in sups {
            self.retire(&env, color, sup, drain).await;
        }
        env.frontdoor.shutdown().await;
        self.inner
            .envs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.save().await?;
        self.audit(AuditEntry {
            time: String::new(),
            actor: actor(&req.actor),
            environment: name.to_owned(),
            action: AuditAction::Delete,
            from_version: live,
            to_version: None,
            from_color: None,
            to_color: None,
            revision: None,
            outcome: Outcome::Ok,
            message: "environment deleted: traffic stopped, colours drained and stopped".into(),
        });
        Ok(())
    }
}
