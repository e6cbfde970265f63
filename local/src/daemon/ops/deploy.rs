//! Deploying a version to a colour, stopping a colour, and retiring the process a
//! colour no longer needs.

use std::time::Duration;

use super::super::environment::Env;
use super::super::{Daemon, DaemonError, STOP_GRACE};
use super::audited::{actor, Attempt};
use super::routing::traffic_role;
use super::validate::validate_version;
use crate::api::{
    AuditAction, AuditEntry, Color, ColorStatus, DeployRequest, Outcome, ProcessStatus, StopRequest,
};
use crate::process::command::{expand_argv, expand_env};
use crate::process::supervisor::{Launch, Start, Supervisor};
use crate::time::now_ms;

impl Daemon {
    /// Deploys `req.version` to `color`, refusing if the colour receives traffic.
    pub async fn deploy(
        &self,
        name: &str,
        color: Color,
        req: DeployRequest,
    ) -> Result<ColorStatus, DaemonError> {
        let attempt = Attempt::new(name, AuditAction::Deploy, actor(&req.actor))
            .color(Some(color))
            .version(&req.version);
        self.audited(attempt, async {
            validate_version(&req.version)?;
            let env = self.env(name)?;
            let _op = env.ops.lock().await;
            let (old, spec) = {
                let mut data = env.data();
                self.check_lock(&env, &data, req.lock_owner.as_deref(), false)?;
                if data.routing.routes_to(color) {
                    return Err(DaemonError::Conflict(format!(
                        "colour {color} of environment {name} receives traffic ({}): deploy to the idle colour {}, or route traffic away from {color} first",
                        traffic_role(&data.routing, color),
                        color.other()
                    )));
                }
                let outdated = data.colors[color.index()].outdated(&data.spec, color);
                let slot = &mut data.colors[color.index()];
                let running = slot.supervisor.as_ref().is_some_and(|s| {
                    matches!(
                        s.snapshot().status,
                        ProcessStatus::Starting | ProcessStatus::Running
                    )
                });
                if !req.restart
                    && !outdated
                    && running
                    && slot.version.as_deref() == Some(req.version.as_str())
                {
                    let status = env.color_status(&data, color);
                    return Ok(status);
                }
                let old = (slot.version.take(), slot.supervisor.take());
                slot.launch = None;
                (old, data.spec.clone())
            };
            let (old_version, old_sup) = old;
            let tunnels = match old_sup {
                Some(sup) => {
                    self.retire(
                        &env,
                        color,
                        sup,
                        Duration::from_millis(spec.drain_timeout_ms),
                    )
                    .await
                }
                None => String::new(),
            };
            let port = self
                .inner
                .ports
                .allocate()
                .map_err(|e| DaemonError::Internal(format!("allocating a port: {e}")))?;
            let launch = Launch {
                label: format!("{name}/{color} {}", req.version),
                argv: expand_argv(&spec.command, port, &req.version, color),
                env: expand_env(&spec.env, port, &req.version, color),
                port,
                log_path: self
                    .inner
                    .state_dir
                    .join("logs")
                    .join(name)
                    .join(format!("{color}.log")),
            };
            let sink = self.sink(name, color, &req.version);
            let sup = match Supervisor::start(launch.clone(), Start::Spawn, 0, sink) {
                Ok(s) => s,
                Err(e) => {
                    self.inner.ports.release(port);
                    self.save().await?;
                    return Err(e.into());
                }
            };
            {
                let mut data = env.data();
                let slot = &mut data.colors[color.index()];
                slot.version = Some(req.version.clone());
                slot.deployed_at_ms = Some(now_ms());
                slot.launch = Some(launch);
                slot.supervisor = Some(sup);
            }
            env.reinstall();
            self.save().await?;
            self.audit(AuditEntry {
                time: String::new(),
                actor: actor(&req.actor),
                environment: name.to_owned(),
                action: AuditAction::Deploy,
                from_version: old_version.clone(),
                to_version: Some(req.version.clone()),
                from_color: None,
                to_color: Some(color),
                revision: None,
                outcome: Outcome::Ok,
                message: match old_version {
                    Some(v) => format!(
                        "deployed {} to {color} (replacing {v}){tunnels}",
                        req.version
                    ),
                    None => format!("deployed {} to {color}", req.version),
                },
            });
            let data = env.data();
            Ok::<_, DaemonError>(env.color_status(&data, color))
        })
        .await
    }

    /// Stops `color` after draining it, refusing if it receives traffic.
    pub async fn stop(
        &self,
        name: &str,
        color: Color,
        req: StopRequest,
    ) -> Result<ColorStatus, DaemonError> {
        let attempt = Attempt::new(name, AuditAction::Stop, actor(&req.actor)).color(Some(color));
        self.audited(attempt, async {
            let env = self.env(name)?;
            let _op = env.ops.lock().await;
            let (sup, version, drain) = {
                let mut data = env.data();
                self.check_lock(&env, &data, req.lock_owner.as_deref(), false)?;
                if data.routing.routes_to(color) {
                    return Err(DaemonError::Conflict(format!(
                        "colour {color} of environment {name} receives traffic ({}): route traffic away from it before stopping it",
                        traffic_role(&data.routing, color)
                    )));
                }
                let drain = Duration::from_millis(data.spec.drain_timeout_ms);
                let slot = &mut data.colors[color.index()];
                slot.launch = None;
                slot.deployed_at_ms = None;
                (slot.supervisor.take(), slot.version.take(), drain)
            };
            if let Some(sup) = sup {
                let tunnels = self.retire(&env, color, sup, drain).await;
                self.save().await?;
                self.audit(AuditEntry {
                    time: String::new(),
                    actor: actor(&req.actor),
                    environment: name.to_owned(),
                    action: AuditAction::Stop,
                    from_version: version.clone(),
                    to_version: None,
                    from_color: Some(color),
                    to_color: None,
                    revision: None,
                    outcome: Outcome::Ok,
                    message: format!(
                        "stopped {color}{}{tunnels}",
                        version.map(|v| format!(" ({v})")).unwrap_or_default()
                    ),
                });
            }
            let data = env.data();
            Ok::<_, DaemonError>(env.color_status(&data, color))
        })
        .await
    }

    /// Drains a colour that no longer receives traffic, then stops its process. Returns
    /// what became of its tunnels since it lost its traffic, for the audit entry (empty
    /// when it had none).
    pub(super) async fn retire(
        &self,
        env: &Env,
        color: Color,
        sup: Supervisor,
        drain: Duration,
    ) -> String {
        sup.mark_stopping();
        if !env.frontdoor.drain_color(color, drain).await {
            tracing::warn!(environment = %env.name, %color, "drain timeout ({drain:?}) reached with requests in flight or tunnels open; stopping anyway");
        }
        let port = sup.launch().port;
        sup.stop(STOP_GRACE).await;
        self.inner.ports.release(port);
        match env.frontdoor.stats(color).retirement.episode() {
            (0, 0) => String::new(),
            (drained, cut) => format!(
                "; WebSocket tunnels since the switch: {drained} drained, {cut} cut at the drain deadline"
            ),
        }
    }
}
