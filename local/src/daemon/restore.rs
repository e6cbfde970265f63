//! Start-up: rebuild environments from the state file, adopting colour processes that
//! survived a daemon crash, and install routing before any front door accepts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::environment::{empty_routing, header_name, ColorSlot, Env, EnvData};
use super::Daemon;
use crate::api::{Color, ProcessStatus};
use crate::frontdoor::FrontDoor;
use crate::process::procfs;
use crate::process::supervisor::{Launch, Start, Supervisor};
use crate::state::{PersistedColor, PersistedState};

/// How long start-up waits for routed colours to accept connections before the front
/// doors open; a client then gets a refused connection (retryable) rather than a 502.
const READY_WAIT: Duration = Duration::from_secs(10);

impl Daemon {
    pub(super) async fn restore(
        &self,
        state: PersistedState,
        mut inherited: BTreeMap<String, std::net::TcpListener>,
    ) {
        let mut restored = Vec::new();
        for (name, p) in state.environments {
            let tenant_header = header_name(&p.routing.tenant_header)
                .or_else(|| header_name(&p.spec.tenant_header))
                .unwrap_or_else(|| hyper::http::HeaderName::from_static("x-tenant-id"));
            let routing = if p.routing.revision == 0 {
                empty_routing(self.next_revision(), &p.spec)
            } else {
                p.routing.clone()
            };
            let env = Arc::new(Env {
                name: name.clone(),
                ops: tokio::sync::Mutex::new(()),
                data: std::sync::Mutex::new(EnvData {
                    spec: p.spec.clone(),
                    routing,
                    pending_routing: None,
                    lock: p.lock.clone(),
                    colors: [ColorSlot::default(), ColorSlot::default()],
                }),
                health: Default::default(),
                frontdoor: FrontDoor::new(&name, tenant_header),
            });
            for color in Color::ALL {
                let slot = self.restore_color(&name, color, &p.colors[color.index()]);
                env.data().colors[color.index()] = slot;
            }
            // Routing first: the table is in place before the listener exists.
            env.reinstall();
            super::health::watch(&env);
            self.inner
                .envs
                .write()
                .unwrap_or_else(|poison| poison.into_inner())
                .insert(name.clone(), env.clone());
            restored.push(env);
        }
        self.wait_routed_ready(&restored).await;
        for env in restored {
            let listen = env.data().spec.listen.clone();
            let handed_over = inherited
                .remove(&env.name)
                .and_then(|l| FrontDoor::inherit(l, &listen));
            match handed_over {
                Some(listener) => env.frontdoor.serve(listener).await,
                None => self.open_front_door(&env).await,
            }
        }
    }

    fn restore_color(&self, env: &str, color: Color, p: &PersistedColor) -> ColorSlot {
        let (Some(version), Some(port), false) = (&p.version, p.port, p.argv.is_empty()) else {
            return ColorSlot::default();
        };
        self.inner.ports.reserve(port);
        let launch = Launch {
            label: format!("{env}/{color} {version}"),
            argv: p.argv.clone(),
            env: p.env.clone(),
            port,
            log_path: p.log_path.clone().unwrap_or_else(|| {
                self.inner
                    .state_dir
                    .join("logs")
                    .join(env)
                    .join(format!("{color}.log"))
            }),
        };
        let sink = self.sink(env, color, version);
        let adopt = p
            .pid
            .filter(|pid| procfs::is_same_process(*pid, p.pid_start_time, &p.argv));
        let start = match (adopt, &p.given_up) {
            (Some(pid), _) => {
                tracing::info!(environment = env, %color, pid, "adopting running {}", launch.label);
                Start::Adopt(pid)
            }
            (None, Some(last_exit)) => {
                tracing::info!(environment = env, %color, "not starting {}: it was given up after a crash loop", launch.label);
                Start::GivenUp(last_exit.clone())
            }
            (None, None) => {
                tracing::info!(environment = env, %color, "starting {} again", launch.label);
                Start::Spawn
            }
        };
        let sup = Supervisor::start(launch.clone(), start, p.restarts, sink.clone()).or_else(|e| {
            tracing::warn!(environment = env, %color, "{e}; retrying with backoff");
            Supervisor::start(launch.clone(), Start::Respawn, p.restarts, sink)
        });
        match sup {
            Ok(sup) => ColorSlot {
                version: Some(version.clone()),
                deployed_at_ms: p.deployed_at_ms,
                launch: Some(launch),
                supervisor: Some(sup),
            },
            Err(e) => {
                // Respawn never fails synchronously; keep the record if it somehow does.
                tracing::error!(environment = env, %color, "cannot supervise {}: {e}", launch.label);
                ColorSlot {
                    version: Some(version.clone()),
                    deployed_at_ms: p.deployed_at_ms,
                    launch: Some(launch),
                    supervisor: None,
                }
            }
        }
    }

    async fn wait_routed_ready(&self, envs: &[Arc<Env>]) {
        let deadline = Instant::now() + READY_WAIT;
        loop {
            let pending = envs.iter().any(|env| {
                let data = env.data();
                Color::ALL.iter().any(|c| {
                    data.routing.routes_to(*c)
                        && data.colors[c.index()]
                            .supervisor
                            .as_ref()
                            .is_some_and(|s| s.snapshot().status != ProcessStatus::Running)
                })
            });
            if !pending || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
