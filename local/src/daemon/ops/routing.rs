//! Routing traffic between the colours: the routing table's replacement, and how
//! it reads to people.

use super::super::{Daemon, DaemonError};
use super::audited::{actor, Attempt};
use super::validate::validate_routing;
use crate::api::{
    AuditAction, AuditEntry, Color, Outcome, ProcessStatus, Routing, RoutingAction, RoutingUpdate,
};
use crate::time::{now_ms, rfc3339};

/// What traffic `color` receives under `routing`, for messages: `live` or `canary`.
pub(super) fn traffic_role(routing: &Routing, color: Color) -> &'static str {
    if routing.primary == Some(color) {
        "live"
    } else {
        "canary"
    }
}

impl Daemon {
    /// Replaces the routing table atomically.
    pub async fn set_routing(
        &self,
        name: &str,
        update: RoutingUpdate,
    ) -> Result<Routing, DaemonError> {
        let refused_action = match update.action {
            Some(RoutingAction::Rollback) => AuditAction::Rollback,
            Some(RoutingAction::Route) => AuditAction::Route,
            _ => AuditAction::Switch,
        };
        let attempt =
            Attempt::new(name, refused_action, actor(&update.actor)).color(update.primary);
        self.audited(attempt, async {
            validate_routing(&update)?;
            let env = self.env(name)?;
            let _op = env.ops.lock().await;
            let who = actor(&update.actor);
            let (old, new, versions) = {
                let mut data = env.data();
                self.check_lock(&env, &data, update.lock_owner.as_deref(), update.force)?;
                if let Some(expected) = update.if_revision {
                    if expected != data.routing.revision {
                        return Err(DaemonError::StaleRevision(format!(
                            "routing of environment {name} changed: it is at revision {}, the request expected {expected}; read it again and retry",
                            data.routing.revision
                        )));
                    }
                }
                let targets = update
                    .primary
                    .into_iter()
                    .chain(update.canary.as_ref().map(|c| c.color));
                for color in targets {
                    let slot = &data.colors[color.index()];
                    let status = slot
                        .supervisor
                        .as_ref()
                        .map(|s| s.snapshot().status)
                        .unwrap_or(ProcessStatus::Stopped);
                    if status != ProcessStatus::Running {
                        return Err(DaemonError::Conflict(format!(
                            "colour {color} of environment {name} is {status}, not running: deploy a version to it and wait until it is running before routing traffic to it"
                        )));
                    }
                }
                let new = Routing {
                    revision: self.next_revision(),
                    primary: update.primary,
                    canary: update.canary.clone(),
                    tenant_header: update
                        .tenant_header
                        .clone()
                        .unwrap_or_else(|| data.spec.tenant_header.clone()),
                    updated_at: Some(rfc3339(now_ms())),
                    updated_by: Some(who.clone()),
                };
                let version_of =
                    |c: Option<Color>| c.and_then(|c| data.colors[c.index()].version.clone());
                let versions = (version_of(data.routing.primary), version_of(new.primary));
                data.pending_routing = Some(new.clone());
                (data.routing.clone(), new, versions)
            };
            // Durable before effective: if the write fails, the old table stays in force.
            // Until then readers (status, the page, the provider) see the table that routes
            // traffic, never one that may not take effect.
            let saved = self.save().await;
            {
                let mut data = env.data();
                data.pending_routing = None;
                if saved.is_ok() {
                    data.routing = new.clone();
                }
            }
            if let Err(e) = saved {
                // Another save may have written the pending table meanwhile: write
                // the table in force again, so a restart cannot bring up a switch
                // this call answers as failed (best effort: the disk just failed).
                if let Err(again) = self.save().await {
                    tracing::warn!("restoring the routing in force on disk: {again}");
                }
                return Err(e);
            }
            env.reinstall();
            let action = match update.action {
                Some(RoutingAction::Switch) => AuditAction::Switch,
                Some(RoutingAction::Rollback) => AuditAction::Rollback,
                Some(RoutingAction::Route) => AuditAction::Route,
                None if old.primary != new.primary => AuditAction::Switch,
                None => AuditAction::Route,
            };
            let mut message = describe_routing(&new);
            if let Some(m) = update.message.as_deref().filter(|m| !m.is_empty()) {
                message = format!("{message}; {m}");
            }
            self.audit(AuditEntry {
                time: String::new(),
                actor: who,
                environment: name.to_owned(),
                action,
                from_version: versions.0,
                to_version: versions.1,
                from_color: old.primary,
                to_color: new.primary,
                revision: Some(new.revision),
                outcome: Outcome::Ok,
                message,
            });
            Ok::<_, DaemonError>(new)
        })
        .await
    }
}

/// One-line description of a routing table for humans.
pub fn describe_routing(r: &Routing) -> String {
    let mut s = match r.primary {
        Some(c) => format!("rev {}: primary {c}", r.revision),
        None => format!("rev {}: no live colour", r.revision),
    };
    if let Some(c) = &r.canary {
        s.push_str(&format!(", canary {} {}%", c.color, c.weight));
        if !c.tenants.is_empty() {
            s.push_str(&format!(
                " + tenants [{}] by {}",
                c.tenants.join(", "),
                r.tenant_header
            ));
        }
    }
    s
}
