//! How a daemon ends. A restart (SIGTERM, SIGINT) or an upgrade (`serve --takeover`)
//! leaves the colour processes running for the next daemon to adopt, so it costs no more
//! than the gap until the next daemon listens (an upgrade: nothing). Stopping everything
//! is the explicit `bluegreen-local stop`.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::environment::Env;
use super::{Daemon, STOP_GRACE};
use crate::api::{AuditAction, AuditEntry, Color, DaemonStopped, Outcome, StoppedColor};
use crate::process::supervisor::hold_restarts;

impl Daemon {
    /// Each environment's listening front door socket, to hand to a successor.
    pub fn listening_sockets(&self) -> Vec<(String, OwnedFd)> {
        self.envs()
            .iter()
            .filter_map(|env| Some((env.name.clone(), env.frontdoor.listening_socket()?)))
            .collect()
    }

    /// Writes the state now (the pids of the colours included) and the release
    /// history, for a successor to read.
    pub async fn persist(&self) -> Result<(), super::DaemonError> {
        self.save_releases().await;
        self.save().await
    }

    /// From now on (`true`) the state file belongs to a successor and this daemon stops
    /// writing it; `false` takes it back after a handover that failed.
    pub fn set_handed_over(&self, handed_over: bool) {
        self.inner.handed_over.store(handed_over, Ordering::SeqCst);
    }

    /// Leaves the colour processes running for the next daemon to adopt: holds crash
    /// restarts, stops accepting on every front door, lets the requests in hand finish
    /// (for each environment's `drain_timeout` at most; with `successor_serves`, every
    /// open connection), records the pids and ends supervision.
    pub async fn release(&self, successor_serves: bool) {
        hold_restarts(true);
        let envs = self.envs();
        let drain = if successor_serves {
            Drain::Connections
        } else {
            Drain::Requests
        };
        close_front_doors(&envs, drain).await;
        if let Err(e) = self.save().await {
            tracing::error!("saving state for the next daemon: {e}");
        }
        self.save_releases().await;
        for env in &envs {
            let data = env.data();
            for slot in &data.colors {
                if let Some(sup) = &slot.supervisor {
                    sup.detach();
                }
            }
        }
    }

    /// `bluegreen-local stop`: closes every front door, lets open connections finish,
    /// stops every colour process (all at once, each with SIGTERM then SIGKILL after
    /// [`STOP_GRACE`]) and audits each under `actor`. The deployments stay recorded, so the
    /// next `serve` starts them again. Then the daemon is asked to exit.
    pub async fn stop_everything(&self, actor: Option<String>) -> DaemonStopped {
        let actor = actor
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "bluegreen-local stop".into());
        let envs = self.envs();
        close_front_doors(&envs, Drain::Requests).await;
        // Nothing may deploy or stop a colour while they are stopped.
        let mut ops = Vec::with_capacity(envs.len());
        for env in &envs {
            ops.push(env.ops.lock().await);
        }
        let mut stopping = JoinSet::new();
        for env in &envs {
            let mut data = env.data();
            for color in Color::ALL {
                let slot = &mut data.colors[color.index()];
                // The slot keeps its `launch`, so the saved state starts it at next start.
                let Some(sup) = slot.supervisor.take() else {
                    continue;
                };
                let version = slot.version.clone();
                let environment = env.name.clone();
                sup.mark_stopping();
                stopping.spawn(async move {
                    let port = sup.launch().port;
                    sup.stop(STOP_GRACE).await;
                    (
                        StoppedColor {
                            environment,
                            color,
                            version,
                        },
                        port,
                    )
                });
            }
        }
        let mut stopped = Vec::new();
        while let Some(done) = stopping.join_next().await {
            match done {
                Ok((colour, port)) => {
                    self.inner.ports.release(port);
                    stopped.push(colour);
                }
                Err(e) => tracing::error!("stopping a colour: {e}"),
            }
        }
        drop(ops);
        stopped.sort_by(|a, b| {
            (&a.environment, a.color.index()).cmp(&(&b.environment, b.color.index()))
        });
        for colour in &stopped {
            let label = colour
                .version
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            self.audit(AuditEntry {
                time: String::new(),
                actor: actor.clone(),
                environment: colour.environment.clone(),
                action: AuditAction::Stop,
                from_version: colour.version.clone(),
                to_version: None,
                from_color: Some(colour.color),
                to_color: None,
                revision: None,
                outcome: Outcome::Ok,
                message: format!(
                    "stopped {}{label}: the daemon was stopped; its next start runs it again",
                    colour.color
                ),
            });
        }
        if let Err(e) = self.save().await {
            tracing::error!("saving state at stop: {e}");
        }
        self.save_releases().await;
        tracing::info!("stopped {} colour process(es); exiting", stopped.len());
        self.inner.exit.notify_one();
        DaemonStopped {
            pid: std::process::id(),
            stopped,
        }
    }

    /// Resolves once `bluegreen-local stop` has stopped everything.
    pub async fn exit_requested(&self) {
        self.inner.exit.notified().await;
    }
}

/// What closing front doors wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Every client connection closed: a successor accepts meanwhile, so idle keep-alive
    /// connections may send one last request (answered with `Connection: close`).
    Connections,
    /// The requests in hand answered: nobody accepts meanwhile, so waiting for idle
    /// connections would only widen the gap until the next daemon listens.
    Requests,
}

/// Stops accepting on every front door and waits as `drain` says, all environments at
/// once, each for its `drain_timeout` at most.
async fn close_front_doors(envs: &[Arc<Env>], drain: Drain) {
    for env in envs {
        env.frontdoor.shutdown().await;
    }
    let mut draining = JoinSet::new();
    for env in envs {
        let env = env.clone();
        draining.spawn(async move {
            let timeout = Duration::from_millis(env.data().spec.drain_timeout_ms);
            let drained = match drain {
                Drain::Connections => env.frontdoor.wait_closed(timeout).await,
                Drain::Requests => {
                    let (blue, green) = tokio::join!(
                        env.frontdoor.wait_drained(Color::Blue, timeout),
                        env.frontdoor.wait_drained(Color::Green, timeout)
                    );
                    blue && green
                }
            };
            if !drained {
                tracing::warn!(environment = %env.name, "still busy after the drain timeout ({timeout:?}); closing its connections");
            }
        });
    }
    while draining.join_next().await.is_some() {}
}
