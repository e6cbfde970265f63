//! Operations of the admin API: define, deploy, stop, route, delete, lock, metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::environment::{empty_routing, header_name, ColorSlot, Env, EnvData};
use super::{Daemon, DaemonError, STOP_GRACE};
use crate::api::{
    AuditAction, AuditEntry, Color, ColorStatus, DeployRequest, EnvironmentSpec, EnvironmentStatus,
    LockInfo, LockRequest, MetricsQuery, MetricsSummary, Outcome, ProcessStatus, Routing,
    RoutingAction, RoutingUpdate, StopRequest,
};
use crate::frontdoor::FrontDoor;
use crate::lock::{HolderProcess, LeaseError, LeaseSlot};
use crate::process::command::{expand_argv, expand_env};
use crate::process::supervisor::{Launch, Start, Supervisor};
use crate::time::{now_ms, rfc3339};

/// Default metrics window when `since` is omitted.
const DEFAULT_METRICS_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Longest accepted drain timeout.
const MAX_DRAIN_MS: u64 = 60 * 60 * 1000;

fn actor(a: &Option<String>) -> String {
    a.as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("api")
        .to_owned()
}

/// Checks an environment name: it becomes part of file paths and URLs.
pub fn validate_name(name: &str) -> Result<(), DaemonError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DaemonError::Invalid(format!(
            "invalid environment name {name:?}: use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

fn validate_spec(spec: &EnvironmentSpec) -> Result<(), DaemonError> {
    if spec.command.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(DaemonError::Invalid(
            "`command` must name a program, e.g. [\"agog-demo-app\", \"--port\", \"{port}\", \"--version\", \"{version}\"]".into(),
        ));
    }
    if spec.listen.parse::<SocketAddr>().is_err() {
        return Err(DaemonError::Invalid(format!(
            "`listen` must be IP:PORT, e.g. 127.0.0.1:8080 (got {:?})",
            spec.listen
        )));
    }
    if header_name(&spec.tenant_header).is_none() {
        return Err(DaemonError::Invalid(format!(
            "`tenant_header` {:?} is not a valid HTTP header name",
            spec.tenant_header
        )));
    }
    if spec.drain_timeout_ms > MAX_DRAIN_MS {
        return Err(DaemonError::Invalid(format!(
            "`drain_timeout_ms` must be at most {MAX_DRAIN_MS} (one hour)"
        )));
    }
    Ok(())
}

fn validate_version(version: &str) -> Result<(), DaemonError> {
    if version.trim().is_empty() || version.len() > 128 || version.chars().any(char::is_control) {
        return Err(DaemonError::Invalid(format!(
            "invalid version {version:?}: expected a non-empty printable string of at most 128 characters"
        )));
    }
    Ok(())
}

fn traffic_role(routing: &Routing, color: Color) -> &'static str {
    if routing.primary == Some(color) {
        "live"
    } else {
        "canary"
    }
}

impl Daemon {
    fn lease_error(&self, environment: &str, e: LeaseError) -> DaemonError {
        match e {
            LeaseError::Held(lease) => DaemonError::Locked {
                environment: environment.to_owned(),
                lease: Box::new(lease),
                unlock_command: format!(
                    "bluegreen-local unlock {environment} --state-dir {}",
                    self.state_dir().display()
                ),
                at_ms: now_ms(),
            },
            LeaseError::NotHeld(owner) => DaemonError::Conflict(format!(
                "environment {environment} has no lock held by {owner}: acquire it with POST /v1/environments/{environment}/lock"
            )),
        }
    }

    fn check_lock(
        &self,
        env: &Env,
        data: &EnvData,
        owner: Option<&str>,
        force: bool,
    ) -> Result<(), DaemonError> {
        if force {
            return Ok(());
        }
        data.lock
            .check(owner, now_ms())
            .map_err(|e| self.lease_error(&env.name, e))
    }

    fn audit_refusal(
        &self,
        environment: &str,
        action: AuditAction,
        actor: String,
        color: Option<Color>,
        version: Option<String>,
        err: &DaemonError,
    ) {
        if matches!(err, DaemonError::NotFound(_)) {
            return;
        }
        self.audit(AuditEntry {
            time: String::new(),
            actor,
            environment: environment.to_owned(),
            action,
            from_version: None,
            to_version: version,
            from_color: None,
            to_color: color,
            revision: None,
            outcome: Outcome::Refused,
            message: err.to_string(),
        });
    }

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
            self.audit(AuditEntry {
                time: String::new(),
                actor: who,
                environment: name.to_owned(),
                action: AuditAction::Define,
                from_version: None,
                to_version: None,
                from_color: None,
                to_color: None,
                revision: None,
                outcome: Outcome::Ok,
                message: format!("definition updated (front door {})", spec.listen),
            });
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
                spec: spec.clone(),
                lock: LeaseSlot::default(),
                colors: [ColorSlot::default(), ColorSlot::default()],
            }),
            frontdoor: FrontDoor::new(name, tenant_header),
        });
        env.reinstall();
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
        self.audit(AuditEntry {
            time: String::new(),
            actor: who,
            environment: name.to_owned(),
            action: AuditAction::Define,
            from_version: None,
            to_version: None,
            from_color: None,
            to_color: None,
            revision: None,
            outcome: Outcome::Ok,
            message: format!("environment created; front door on {}", spec.listen),
        });
        Ok(env.status())
    }

    /// Deploys `req.version` to `color`, refusing if the colour receives traffic.
    pub async fn deploy(
        &self,
        name: &str,
        color: Color,
        req: DeployRequest,
    ) -> Result<ColorStatus, DaemonError> {
        let res = self.deploy_inner(name, color, &req).await;
        if let Err(e) = &res {
            self.audit_refusal(
                name,
                AuditAction::Deploy,
                actor(&req.actor),
                Some(color),
                Some(req.version.clone()),
                e,
            );
        }
        res
    }

    async fn deploy_inner(
        &self,
        name: &str,
        color: Color,
        req: &DeployRequest,
    ) -> Result<ColorStatus, DaemonError> {
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
        if let Some(sup) = old_sup {
            self.retire(
                &env,
                color,
                sup,
                Duration::from_millis(spec.drain_timeout_ms),
            )
            .await;
        }
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
                Some(v) => format!("deployed {} to {color} (replacing {v})", req.version),
                None => format!("deployed {} to {color}", req.version),
            },
        });
        let data = env.data();
        Ok(env.color_status(&data, color))
    }

    /// Drains a colour that no longer receives traffic, then stops its process.
    async fn retire(&self, env: &Env, color: Color, sup: Supervisor, drain: Duration) {
        sup.mark_stopping();
        if !env.frontdoor.wait_drained(color, drain).await {
            tracing::warn!(environment = %env.name, %color, "drain timeout ({drain:?}) reached with requests in flight; stopping anyway");
        }
        let port = sup.launch().port;
        sup.stop(STOP_GRACE).await;
        self.inner.ports.release(port);
    }

    /// Stops `color` after draining it, refusing if it receives traffic.
    pub async fn stop(
        &self,
        name: &str,
        color: Color,
        req: StopRequest,
    ) -> Result<ColorStatus, DaemonError> {
        let res = self.stop_inner(name, color, &req).await;
        if let Err(e) = &res {
            self.audit_refusal(
                name,
                AuditAction::Stop,
                actor(&req.actor),
                Some(color),
                None,
                e,
            );
        }
        res
    }

    async fn stop_inner(
        &self,
        name: &str,
        color: Color,
        req: &StopRequest,
    ) -> Result<ColorStatus, DaemonError> {
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
            self.retire(&env, color, sup, drain).await;
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
                    "stopped {color}{}",
                    version.map(|v| format!(" ({v})")).unwrap_or_default()
                ),
            });
        }
        let data = env.data();
        Ok(env.color_status(&data, color))
    }

    /// Replaces the routing table atomically.
    pub async fn set_routing(
        &self,
        name: &str,
        update: RoutingUpdate,
    ) -> Result<Routing, DaemonError> {
        let res = self.set_routing_inner(name, &update).await;
        if let Err(e) = &res {
            let action = match update.action {
                Some(RoutingAction::Rollback) => AuditAction::Rollback,
                Some(RoutingAction::Route) => AuditAction::Route,
                _ => AuditAction::Switch,
            };
            self.audit_refusal(name, action, actor(&update.actor), update.primary, None, e);
        }
        res
    }

    async fn set_routing_inner(
        &self,
        name: &str,
        update: &RoutingUpdate,
    ) -> Result<Routing, DaemonError> {
        if let Some(c) = &update.canary {
            if c.weight > 100 {
                return Err(DaemonError::Invalid(format!(
                    "canary weight must be 0-100 (got {})",
                    c.weight
                )));
            }
            if update.primary.is_none() {
                return Err(DaemonError::Invalid(
                    "a canary needs a primary colour for the rest of the traffic".into(),
                ));
            }
            if update.primary == Some(c.color) {
                return Err(DaemonError::Invalid(format!(
                    "the canary colour must differ from the primary ({})",
                    c.color
                )));
            }
            if c.tenants.iter().any(|t| t.trim().is_empty()) {
                return Err(DaemonError::Invalid(
                    "canary tenants must not be empty strings".into(),
                ));
            }
        }
        if let Some(h) = &update.tenant_header {
            if header_name(h).is_none() {
                return Err(DaemonError::Invalid(format!(
                    "tenant_header {h:?} is not a valid HTTP header name"
                )));
            }
        }
        let env = self.env(name)?;
        let _op = env.ops.lock().await;
        let who = actor(&update.actor);
        let (old, new, versions) = {
            let mut data = env.data();
            self.check_lock(&env, &data, update.lock_owner.as_deref(), update.force)?;
            if let Some(expected) = update.if_revision {
                if expected != data.routing.revision {
                    return Err(DaemonError::Conflict(format!(
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
            let old = std::mem::replace(&mut data.routing, new.clone());
            (old, new, versions)
        };
        // Durable before effective: if the write fails, the old table stays in force.
        if let Err(e) = self.save().await {
            env.data().routing = old;
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
        Ok(new)
    }

    /// Routes nothing, drains and stops both colours, forgets the environment.
    pub async fn delete(&self, name: &str, req: StopRequest) -> Result<(), DaemonError> {
        let _define = self.inner.define_lock.lock().await;
        let env = self.env(name)?;
        let _op = env.ops.lock().await;
        let (sups, drain, live) = {
            let mut data = env.data();
            if let Err(e) = self.check_lock(&env, &data, req.lock_owner.as_deref(), false) {
                drop(data);
                self.audit_refusal(name, AuditAction::Delete, actor(&req.actor), None, None, &e);
                return Err(e);
            }
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
            (sups, drain, live)
        };
        env.reinstall();
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

    /// Front door metrics of one colour over a window.
    pub fn metrics(&self, name: &str, q: MetricsQuery) -> Result<MetricsSummary, DaemonError> {
        let env = self.env(name)?;
        let until = q.until.unwrap_or_else(now_ms);
        let since = q
            .since
            .unwrap_or_else(|| until.saturating_sub(DEFAULT_METRICS_WINDOW_MS));
        if since > until {
            return Err(DaemonError::Invalid(format!(
                "`since` ({since}) is after `until` ({until})"
            )));
        }
        Ok(env
            .frontdoor
            .stats(q.color)
            .metrics
            .summary(q.color, since, until))
    }

    /// The environment's current lock.
    pub fn lock_info(&self, name: &str) -> Result<Option<LockInfo>, DaemonError> {
        let env = self.env(name)?;
        let data = env.data();
        Ok(data.lock.current(now_ms()).map(|l| l.info()))
    }

    /// Acquires (or re-acquires) the lock.
    pub async fn acquire_lock(
        &self,
        name: &str,
        req: LockRequest,
    ) -> Result<LockInfo, DaemonError> {
        let process = holder_process(&req);
        self.lease_op(
            name,
            &req.owner,
            |slot, now| slot.acquire(&req.owner, process, req.ttl_secs.saturating_mul(1000), now),
            Some(AuditAction::Lock),
        )
        .await
    }

    /// Renews a lock held by `req.owner`.
    pub async fn renew_lock(&self, name: &str, req: LockRequest) -> Result<LockInfo, DaemonError> {
        let process = holder_process(&req);
        self.lease_op(
            name,
            &req.owner,
            |slot, now| slot.renew(&req.owner, process, req.ttl_secs.saturating_mul(1000), now),
            None,
        )
        .await
    }

    /// Breaks the lock whoever holds it: the operator's way out when a run died on
    /// another machine. Audited under `actor`; returns the lease broken, if any.
    pub async fn break_lock(
        &self,
        name: &str,
        actor: &str,
    ) -> Result<Option<LockInfo>, DaemonError> {
        let env = self.env(name)?;
        let broken = env.data().lock.break_lease(now_ms());
        if let Some(lease) = &broken {
            self.save().await?;
            self.audit(lock_entry(
                name,
                actor,
                AuditAction::Unlock,
                format!(
                    "lock of {} (held since {}, expiring {}) broken by an operator",
                    lease.owner,
                    rfc3339(lease.since_ms),
                    rfc3339(lease.expires_ms)
                ),
            ));
        }
        Ok(broken.map(|l| l.info()))
    }

    /// Releases a lock held by `owner`.
    pub async fn release_lock(&self, name: &str, owner: &str) -> Result<(), DaemonError> {
        let env = self.env(name)?;
        let released = {
            let mut data = env.data();
            data.lock
                .release(owner, now_ms())
                .map_err(|e| self.lease_error(name, e))?
        };
        if released.is_some() {
            self.save().await?;
            self.audit(lock_entry(
                name,
                owner,
                AuditAction::Unlock,
                "lock released".into(),
            ));
        }
        Ok(())
    }

    async fn lease_op(
        &self,
        name: &str,
        owner: &str,
        op: impl FnOnce(&mut LeaseSlot, u64) -> Result<crate::lock::Lease, LeaseError>,
        audit: Option<AuditAction>,
    ) -> Result<LockInfo, DaemonError> {
        if owner.trim().is_empty() {
            return Err(DaemonError::Invalid(
                "a lock needs a non-empty `owner`".into(),
            ));
        }
        let env = self.env(name)?;
        let (lease, fresh, dead) = {
            let mut data = env.data();
            let now = now_ms();
            let dead = data.lock.clear_dead_holder(now);
            let held_before = data.lock.current(now).is_some_and(|l| l.owner == owner);
            let lease = op(&mut data.lock, now).map_err(|e| self.lease_error(name, e));
            (lease, !held_before, dead)
        };
        if let Some(dead) = dead {
            let pid = dead.process.as_ref().map_or(0, |p| p.pid);
            self.audit(lock_entry(
                name,
                "bluegreen-local",
                AuditAction::Unlock,
                format!(
                    "lock of {} (held since {}) freed: its process {pid} on this machine is gone",
                    dead.owner,
                    rfc3339(dead.since_ms)
                ),
            ));
        }
        let lease = match lease {
            Ok(l) => l,
            Err(e) => {
                if let (Some(action), DaemonError::Locked { .. }) = (audit, &e) {
                    let mut entry = lock_entry(name, owner, action, e.to_string());
                    entry.outcome = Outcome::Refused;
                    self.audit(entry);
                }
                return Err(e);
            }
        };
        self.save().await?;
        if let (Some(action), true) = (audit, fresh) {
            self.audit(lock_entry(
                name,
                owner,
                action,
                format!("lock acquired until {}", rfc3339(lease.expires_ms)),
            ));
        }
        Ok(lease.info())
    }
}

/// The holder's process named in `req`, when it gave both its pid and its pid space.
fn holder_process(req: &LockRequest) -> Option<HolderProcess> {
    Some(HolderProcess {
        pid: req.pid?,
        pid_space: req.pid_space.clone()?,
    })
}

fn lock_entry(name: &str, owner: &str, action: AuditAction, message: String) -> AuditEntry {
    AuditEntry {
        time: String::new(),
        actor: owner.to_owned(),
        environment: name.to_owned(),
        action,
        from_version: None,
        to_version: None,
        from_color: None,
        to_color: None,
        revision: None,
        outcome: Outcome::Ok,
        message,
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
