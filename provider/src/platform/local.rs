//! The local platform: a client of the `bluegreen-local` daemon, which it
//! starts by itself when nothing answers and `autostart = true`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bluegreen_local_api::api::{
    self, DeployRequest, EnvironmentSpec, LockRequest, RoutingAction, RoutingUpdate, StopRequest,
};
use bluegreen_local_api::client::{Client, ClientError};

use super::{
    CanaryRoute, Color, ColorPhase, ColorState, Connections, EnvironmentRef, EnvironmentState,
    Failure, Latency, LatencyStatistic, Lease, LockHeld, Metrics, Platform, PlatformError,
    Propagation, ReleaseEvent, ReleasePhase, RouteChange, RouteReason, RoutingRevision,
    RoutingTable, TargetSpec,
};

/// Settings of the local platform, resolved from the provider's `local`
/// block and its variables by [`crate::config`].
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// Admin endpoint.
    pub endpoint: String,
    /// State directory (token location).
    pub state_dir: PathBuf,
    /// Start the daemon when nothing answers.
    pub autostart: bool,
}

/// The local platform.
pub struct LocalPlatform {
    client: Client,
    /// `--endpoint … --state-dir …` of this daemon, for the unlock command a lock error names.
    cli_target: String,
}

const ACTOR: &str = "terraform";

/// How long the daemon has to take one progress report.
const PROGRESS_TIMEOUT: Duration = Duration::from_millis(400);

/// The engine's progress report in the admin API's terms.
fn release_event(event: &ReleaseEvent) -> api::ReleaseEvent {
    api::ReleaseEvent {
        release_id: event.release_id.clone(),
        version: event.version.clone(),
        phase: match event.phase {
            ReleasePhase::Deploying => api::ReleasePhase::Deploying,
            ReleasePhase::Validating => api::ReleasePhase::Validating,
            ReleasePhase::Switching => api::ReleasePhase::Switching,
            ReleasePhase::Watching => api::ReleasePhase::Watching,
            ReleasePhase::Done => api::ReleasePhase::Done,
            ReleasePhase::RolledBack => api::ReleasePhase::RolledBack,
            ReleasePhase::Failed => api::ReleasePhase::Failed,
        },
        color: event.color,
        previous_color: event.previous_color,
        previous_version: event.previous_version.clone(),
        step: event.step.clone(),
        figures: event.figures.map(|f| api::WatchFigures {
            elapsed_ms: f.elapsed.as_millis() as u64,
            window_ms: f.window.as_millis() as u64,
            requests: f.metrics.requests,
            errors: f.metrics.errors,
            error_rate: f.metrics.error_rate,
            max_error_rate: f.max_error_rate,
            warn_error_rate: Some(f.warn_error_rate),
            latency_ms: f.metrics.latency.map(|l| l.ms),
            latency_statistic: f.metrics.latency.map(|l| l.statistic.as_str().to_owned()),
        }),
        reason: event.reason.clone(),
        actor: Some(ACTOR.to_owned()),
    }
}

impl LocalPlatform {
    /// Connects to the daemon, starting it first when allowed and needed.
    pub async fn connect(config: &LocalConfig) -> Result<Self, PlatformError> {
        let probe = Client::new(&config.endpoint, None).map_err(unreachable)?;
        let health = probe.health().await;
        let daemon_state_dir = health.as_ref().ok().map(|h| h.state_dir.clone());
        if let Err(first) = health {
            if !matches!(
                first,
                ClientError::Unreachable { .. }
                    | ClientError::Transport { .. }
                    | ClientError::Timeout { .. }
            ) {
                return Err(unreachable(first));
            }
            if !config.autostart {
                return Err(PlatformError::Unreachable(format!(
                    "{first}. autostart is false in the provider's local block; start the daemon yourself or set autostart = true"
                )));
            }
            start_daemon(config)?;
            wait_healthy(&probe, Duration::from_secs(15)).await?;
        }
        let token = match std::env::var("BLUEGREEN_LOCAL_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
        {
            Some(t) => Some(t),
            None => Some(read_token(&config.state_dir, daemon_state_dir.as_deref())?),
        };
        let client = Client::new(&config.endpoint, token).map_err(unreachable)?;
        let state_dir = daemon_state_dir.unwrap_or_else(|| {
            std::path::absolute(&config.state_dir)
                .unwrap_or_else(|_| config.state_dir.clone())
                .display()
                .to_string()
        });
        let cli_target = format!("--endpoint {} --state-dir {state_dir}", config.endpoint);
        Ok(Self { client, cli_target })
    }
}

fn read_token(state_dir: &Path, daemon_state_dir: Option<&str>) -> Result<String, PlatformError> {
    bluegreen_local_api::token::read_token(state_dir).map_err(|e| {
        let hint = match daemon_state_dir {
            Some(d) => format!("The daemon answering at this endpoint serves state directory {d:?}: set state_dir in the provider's local block (or BLUEGREEN_LOCAL_STATE_DIR) to it, or point endpoint at another daemon"),
            None => "Set state_dir in the provider's local block (or BLUEGREEN_LOCAL_STATE_DIR) to the daemon's --state-dir, or set BLUEGREEN_LOCAL_TOKEN".into(),
        };
        PlatformError::Unreachable(format!("cannot read the local platform's admin token: {e}. {hint}"))
    })
}

/// Where the daemon binary is: `BLUEGREEN_LOCAL_BIN`, beside this provider
/// (`make install` puts them together), or on PATH.
fn daemon_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BLUEGREEN_LOCAL_BIN") {
        return Some(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let candidate = dir.join("bluegreen-local");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("bluegreen-local"))
            .find(|p| p.is_file())
    })
}

fn start_daemon(config: &LocalConfig) -> Result<(), PlatformError> {
    use std::os::unix::process::CommandExt;
    let bin = daemon_binary().ok_or_else(|| {
        PlatformError::Unreachable(format!(
            "nothing answers at {} and the bluegreen-local binary was not found (looked at BLUEGREEN_LOCAL_BIN, beside the provider, and on PATH). Install it with `make install`, or start it yourself",
            config.endpoint
        ))
    })?;
    let listen = config
        .endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    std::fs::create_dir_all(&config.state_dir).map_err(|e| {
        PlatformError::Unreachable(format!("creating {}: {e}", config.state_dir.display()))
    })?;
    let log_path = config.state_dir.join("daemon.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| PlatformError::Unreachable(format!("opening {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| PlatformError::Unreachable(e.to_string()))?;
    tracing::info!(binary = %bin.display(), listen = %listen, state_dir = %config.state_dir.display(), "starting the local platform daemon");
    let mut command = std::process::Command::new(&bin);
    command
        .arg("serve")
        .arg("--state-dir")
        .arg(&config.state_dir)
        .arg("--listen")
        .arg(&listen)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (setsid, close), touching no memory shared with other threads.
    unsafe {
        command.pre_exec(|| {
            // Its own session: Terraform's Ctrl-C must not take the platform down.
            libc::setsid();
            // Terraform 1.0 hands providers extra descriptors (its output pipes
            // among them) without close-on-exec; a daemon holding them would keep
            // `terraform apply | tee` waiting for end-of-file until it dies.
            for fd in 3..1024 {
                libc::close(fd);
            }
            Ok(())
        });
    }
    command
        .spawn()
        .map_err(|e| PlatformError::Unreachable(format!("starting {}: {e}", bin.display())))?;
    Ok(())
}

async fn wait_healthy(client: &Client, limit: Duration) -> Result<(), PlatformError> {
    let started = Instant::now();
    loop {
        match client.health().await {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() > limit => {
                return Err(PlatformError::Unreachable(format!(
                    "the local platform daemon did not come up within {limit:?}: {e}"
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn unreachable(e: ClientError) -> PlatformError {
    PlatformError::Unreachable(e.to_string())
}

/// The daemon's answer as a platform error: the kind from the daemon's error
/// code (the client decoded it into a variant), never from a message's words.
fn map_err(environment: &str, e: ClientError) -> PlatformError {
    let (code, retryable) = match &e {
        ClientError::Locked {
            owner,
            since,
            expires_at,
            expires_in_secs,
            ..
        } => {
            return PlatformError::Locked(Box::new(LockHeld {
                environment: environment.to_string(),
                owner: owner.clone(),
                since: since.clone(),
                expires_at: expires_at.clone(),
                expires_in_secs: *expires_in_secs,
                unlock_command: None,
            }))
        }
        ClientError::StaleRevision { .. } => {
            return PlatformError::Conflict {
                environment: environment.to_string(),
                request_id: None,
            }
        }
        ClientError::Unreachable { .. }
        | ClientError::Transport { .. }
        | ClientError::Timeout { .. } => return PlatformError::Unreachable(e.to_string()),
        ClientError::Unauthorized { .. } => ("unauthorized".to_string(), false),
        ClientError::NotFound { .. } => ("not_found".to_string(), false),
        ClientError::Conflict { .. } => ("conflict".to_string(), false),
        ClientError::ListenFailed { .. } => ("listen_failed".to_string(), false),
        ClientError::Invalid { .. } => ("invalid".to_string(), false),
        ClientError::Api { status, code, .. } => (
            if code.is_empty() {
                format!("http_{status}")
            } else {
                code.clone()
            },
            *status >= 500 || *status == 429,
        ),
        ClientError::InvalidResponse { .. } => ("invalid_response".to_string(), false),
        ClientError::InvalidEndpoint(_) => ("invalid_endpoint".to_string(), false),
        ClientError::NotReady { .. } => ("not_ready".to_string(), false),
    };
    PlatformError::Refused(Failure {
        code,
        message: e.to_string(),
        // The daemon is local and has no request ids: its audit log is the trail.
        request_id: None,
        correlation_id: None,
        retryable,
    })
}

fn phase(s: api::ProcessStatus) -> ColorPhase {
    match s {
        api::ProcessStatus::Stopped => ColorPhase::Stopped,
        api::ProcessStatus::Starting => ColorPhase::Starting,
        api::ProcessStatus::Running => ColorPhase::Running,
        api::ProcessStatus::Crashed => ColorPhase::Crashed,
        api::ProcessStatus::Stopping => ColorPhase::Stopping,
    }
}

fn color_state(c: &api::ColorStatus) -> ColorState {
    ColorState {
        version: c.version.clone(),
        phase: phase(c.status),
        address: c.address.clone(),
        instance_id: c.pid.map(|p| p.to_string()),
        restarts: c.restarts,
        last_exit: c.last_exit.clone(),
        log_tail: c.log_tail.clone(),
        outdated: c.outdated,
        connections: Some(Connections {
            open: c.open_tunnels,
            drained: c.tunnels_drained,
            cut: c.tunnels_cut,
        }),
    }
}

fn environment_state(s: &api::EnvironmentStatus) -> EnvironmentState {
    let colors = [Color::Blue, Color::Green]
        .into_iter()
        .map(|c| (c, color_state(s.colors.get(c))))
        .collect();
    EnvironmentState {
        endpoint: s.endpoint.clone(),
        routing: RoutingTable {
            revision: RoutingRevision::new(s.routing.revision.to_string()),
            primary: s.routing.primary,
            canary: s.routing.canary.as_ref().map(|c| CanaryRoute {
                color: c.color,
                weight: c.weight,
                tenants: c.tenants.clone(),
            }),
            tenant_header: s.routing.tenant_header.clone(),
            updated_by: s.routing.updated_by.clone(),
        },
        colors,
        spec: Some(TargetSpec::Local {
            command: s.spec.command.clone(),
            env: s.spec.env.clone(),
            listen: s.spec.listen.clone(),
            drain_timeout: Duration::from_millis(s.spec.drain_timeout_ms),
            upstream_timeout: Duration::from_millis(s.spec.upstream_timeout_ms),
            trust_forwarded_headers: s.spec.trust_forwarded_headers,
            health_path: s.spec.health_path.clone(),
        }),
        front_door_down: s
            .front_door
            .as_ref()
            .filter(|f| !f.listening)
            .map(|f| match &f.error {
                Some(e) => format!(
                    "{e} (the daemon retries with backoff; {} failed binds so far)",
                    f.bind_attempts
                ),
                None => format!("the front door does not listen on {}", f.address),
            }),
    }
}

#[async_trait]
impl Platform for LocalPlatform {
    fn poll_interval(&self) -> Duration {
        // The daemon is on this machine and answers from memory.
        Duration::from_millis(100)
    }

    async fn propagation(
        &self,
        _environment: &EnvironmentRef,
        _revision: &RoutingRevision,
    ) -> Result<Propagation, PlatformError> {
        // One front door, switched atomically: what the daemon accepted is served.
        Ok(Propagation::Complete)
    }

    async fn locate(&self, name: &str) -> Result<EnvironmentRef, PlatformError> {
        // The daemon finds environments by name: nothing to look up.
        Ok(EnvironmentRef::local(name))
    }

    async fn define(
        &self,
        environment: &EnvironmentRef,
        spec: &TargetSpec,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        let TargetSpec::Local {
            command,
            env,
            listen,
            drain_timeout,
            upstream_timeout,
            trust_forwarded_headers,
            health_path,
        } = spec
        else {
            return Err(PlatformError::Api(format!(
                "environment {:?} declares an azure block, which the local platform cannot run; configure the provider's azure block to release it on Azure",
                environment.name
            )));
        };
        // Keep a tenant header set by a traffic split.
        let tenant_header = match self.client.get_environment(&environment.name).await {
            Ok(s) => s.spec.tenant_header,
            Err(_) => api::DEFAULT_TENANT_HEADER.to_string(),
        };
        let spec = EnvironmentSpec {
            command: command.clone(),
            env: env.clone(),
            listen: listen.clone(),
            drain_timeout_ms: drain_timeout.as_millis() as u64,
            upstream_timeout_ms: upstream_timeout.as_millis() as u64,
            tenant_header,
            trust_forwarded_headers: *trust_forwarded_headers,
            health_path: health_path.clone(),
        };
        self.client
            .put_environment(&environment.name, &spec, Some(ACTOR))
            .await
            .map_err(|e| match e {
                ClientError::ListenFailed { message } => PlatformError::Listen {
                    address: listen.clone(),
                    reason: message,
                },
                other => map_err(&environment.name, other),
            })?;
        Ok(())
    }

    async fn status(
        &self,
        environment: &EnvironmentRef,
    ) -> Result<Option<EnvironmentState>, PlatformError> {
        match self.client.get_environment(&environment.name).await {
            Ok(s) => Ok(Some(environment_state(&s))),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(map_err(&environment.name, e)),
        }
    }

    async fn deploy(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        version: &str,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        let req = DeployRequest {
            version: version.to_string(),
            actor: Some(ACTOR.into()),
            lock_owner: Some(lease.owner.clone()),
            restart: true,
        };
        self.client
            .deploy(&environment.name, color, &req)
            .await
            .map_err(|e| map_err(&environment.name, e))?;
        Ok(())
    }

    async fn stop(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        let req = StopRequest {
            actor: Some(ACTOR.into()),
            lock_owner: Some(lease.owner.clone()),
        };
        self.client
            .stop(&environment.name, color, &req)
            .await
            .map_err(|e| map_err(&environment.name, e))?;
        Ok(())
    }

    async fn route(
        &self,
        environment: &EnvironmentRef,
        change: RouteChange,
        lease: &Lease,
    ) -> Result<RoutingRevision, PlatformError> {
        // The daemon counts revisions; a token it never issued cannot be current.
        let Ok(if_revision) = change.if_revision.as_str().parse::<u64>() else {
            return Err(PlatformError::Conflict {
                environment: environment.to_string(),
                request_id: None,
            });
        };
        let update = RoutingUpdate {
            primary: change.primary,
            canary: change.canary.map(|c| api::Canary {
                color: c.color,
                weight: c.weight,
                tenants: c.tenants,
            }),
            tenant_header: change.tenant_header,
            actor: Some(ACTOR.into()),
            action: Some(match change.reason {
                RouteReason::Switch => RoutingAction::Switch,
                RouteReason::Rollback => RoutingAction::Rollback,
                RouteReason::Route => RoutingAction::Route,
            }),
            if_revision: Some(if_revision),
            lock_owner: Some(lease.owner.clone()),
            force: false,
            message: None,
        };
        let routing = self
            .client
            .set_routing(&environment.name, &update)
            .await
            .map_err(|e| map_err(&environment.name, e))?;
        Ok(RoutingRevision::new(routing.revision.to_string()))
    }

    async fn metrics(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        since_ms: u64,
        until_ms: u64,
    ) -> Result<Option<Metrics>, PlatformError> {
        // The daemon counts as requests are answered: zero is a measured zero.
        let m = self
            .client
            .metrics(&environment.name, color, Some(since_ms), Some(until_ms))
            .await
            .map_err(|e| map_err(&environment.name, e))?;
        Ok(Some(Metrics {
            requests: m.requests,
            errors: m.errors_5xx,
            error_rate: m.error_rate,
            latency: m.p95_ms.map(|ms| Latency {
                ms,
                statistic: LatencyStatistic::P95,
            }),
        }))
    }

    async fn report_progress(&self, environment: &EnvironmentRef, event: &ReleaseEvent) {
        // The engine bounds the wait too; this keeps a slow daemon's answer from
        // being read after the engine has moved on.
        let client = self.client.clone().with_timeout(PROGRESS_TIMEOUT);
        if let Err(e) = client
            .report_release(&environment.name, &release_event(event))
            .await
        {
            tracing::warn!(environment = %environment, "release progress not recorded by bluegreen-local: {e}");
        }
    }

    async fn lock(
        &self,
        environment: &EnvironmentRef,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, PlatformError> {
        // This process renews the lease and acts under it: when it is gone, so is the lock.
        let req = LockRequest::new(owner, ttl.as_secs().max(1)).held_by_this_process();
        match self.client.acquire_lock(&environment.name, &req).await {
            Ok(_) => Ok(Lease {
                owner: owner.to_string(),
            }),
            Err(e) => Err(match map_err(&environment.name, e) {
                PlatformError::Locked(mut held) => {
                    held.unlock_command = Some(format!(
                        "bluegreen-local unlock {environment} {}",
                        self.cli_target
                    ));
                    PlatformError::Locked(held)
                }
                other => other,
            }),
        }
    }

    async fn renew(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<(), PlatformError> {
        let req = LockRequest::new(&lease.owner, ttl.as_secs().max(1)).held_by_this_process();
        self.client
            .renew_lock(&environment.name, &req)
            .await
            .map(|_| ())
            .map_err(|e| map_err(&environment.name, e))
    }

    async fn unlock(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        match self
            .client
            .release_lock(&environment.name, &lease.owner)
            .await
        {
            Ok(()) | Err(ClientError::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(&environment.name, e)),
        }
    }

    async fn delete(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        let req = StopRequest {
            actor: Some(ACTOR.into()),
            lock_owner: Some(lease.owner.clone()),
        };
        match self
            .client
            .delete_environment(&environment.name, &req)
            .await
        {
            Ok(()) | Err(ClientError::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(&environment.name, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_revision_is_a_conflict_by_its_code() {
        let stale = ClientError::StaleRevision {
            message: "routing of environment api changed".into(),
        };
        assert!(matches!(
            map_err("api", stale),
            PlatformError::Conflict { ref environment, .. } if environment == "api"
        ));
        // Another conflict stays a refusal with its code, whatever its words say.
        let other = map_err(
            "api",
            ClientError::Conflict {
                message: "expected revision 3".into(),
            },
        );
        assert_eq!(other.code(), Some("conflict"));
        assert!(matches!(other, PlatformError::Refused(_)), "{other:?}");
    }

    #[tokio::test]
    async fn a_revision_the_daemon_never_issued_is_stale_without_asking() {
        // Nothing listens on port 9: a request would fail as unreachable.
        let platform = LocalPlatform {
            client: Client::new("http://127.0.0.1:9", None).expect("valid endpoint"),
            cli_target: String::new(),
        };
        let change = RouteChange::all_to(
            Color::Green,
            RoutingRevision::new("W/\"0a1b\""),
            RouteReason::Switch,
        );
        let lease = Lease { owner: "me".into() };
        let err = platform
            .route(&EnvironmentRef::local("api"), change, &lease)
            .await
            .unwrap_err();
        assert!(matches!(err, PlatformError::Conflict { .. }), "{err:?}");
    }

    #[test]
    fn daemon_failures_keep_their_code_and_say_whether_to_retry() {
        let e = map_err(
            "api",
            ClientError::Api {
                status: 503,
                code: "too_many_connections".into(),
                message: "busy".into(),
            },
        );
        assert_eq!(e.code(), Some("too_many_connections"));
        assert!(e.retryable());
        assert!(e.to_string().contains("code too_many_connections"), "{e}");
        let e = map_err(
            "api",
            ClientError::Invalid {
                message: "bad version".into(),
            },
        );
        assert_eq!(e.code(), Some("invalid"));
        assert!(!e.retryable());
    }
}
