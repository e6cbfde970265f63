//! `bluegreen-local stop`: stops every colour process, then the daemon. With no daemon
//! answering, it stops the colour processes the state directory records, which a SIGTERM
//! or a `kill -9` of the daemon left running.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bluegreen_local::api::{AuditAction, AuditEntry, Color, DaemonStopRequest, Outcome};
use bluegreen_local::audit::AuditLog;
use bluegreen_local::client::Client;
use bluegreen_local::daemon::STOP_GRACE;
use bluegreen_local::process::procfs;
use bluegreen_local::state::instance::{InstanceError, InstanceLock};
use bluegreen_local::state::store::Store;

use super::switch::operator;

/// How long the daemon may take to exit after answering.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// Stops everything the daemon behind `client` runs, and waits for it to exit.
pub async fn run(client: &Client, endpoint: &str) -> anyhow::Result<()> {
    let answer = client
        .stop_daemon(&DaemonStopRequest {
            actor: Some(operator()),
        })
        .await?;
    for colour in &answer.stopped {
        println!(
            "stopped {}/{} ({})",
            colour.environment,
            colour.color,
            colour.version.as_deref().unwrap_or("no version")
        );
    }
    let started = Instant::now();
    // The admin port closes when the daemon is gone.
    while client.health().await.is_ok() {
        if started.elapsed() > EXIT_WAIT {
            bail!(
                "bluegreen-local (pid {}) stopped its colours but still answers at {endpoint} after {EXIT_WAIT:?}; end it with `kill {}`",
                answer.pid,
                answer.pid
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "bluegreen-local (pid {}) stopped with {} colour process(es); port {} is free. The deployments stay recorded: `bluegreen-local serve` or the next `terraform apply` starts them again (`terraform destroy` first to forget them).",
        answer.pid,
        answer.stopped.len(),
        endpoint.rsplit(':').next().unwrap_or(endpoint).trim_end_matches('/')
    );
    Ok(())
}

/// A colour process recorded in the state file and still running.
struct Leftover {
    environment: String,
    color: Color,
    version: Option<String>,
    pid: u32,
}

/// Stops the colour processes recorded in `state_dir` when no daemon runs there.
pub fn run_without_daemon(endpoint: &str, state_dir: &Path) -> anyhow::Result<()> {
    let store = Store::new(state_dir);
    if !store.path().exists() {
        println!(
            "nothing answers at {endpoint} and {} records no colour: nothing to stop",
            state_dir.display()
        );
        return Ok(());
    }
    // Held while stopping, so no daemon starts on the directory meanwhile.
    let _lock = match InstanceLock::acquire(state_dir) {
        Ok(lock) => lock,
        Err(InstanceError::Busy { pid, .. }) => bail!(
            "a bluegreen-local (pid {pid}) serves {} but does not answer at {endpoint}: pass its --endpoint",
            state_dir.display()
        ),
        Err(e) => return Err(e.into()),
    };
    let state = store.load()?;
    let mut leftovers = Vec::new();
    for (name, env) in &state.environments {
        for color in Color::ALL {
            let c = &env.colors[color.index()];
            if let Some(pid) = c.pid {
                if procfs::is_same_process(pid, c.pid_start_time, &c.argv) {
                    leftovers.push(Leftover {
                        environment: name.clone(),
                        color,
                        version: c.version.clone(),
                        pid,
                    });
                }
            }
        }
    }
    if leftovers.is_empty() {
        println!(
            "nothing answers at {endpoint} and no colour recorded in {} runs: nothing to stop",
            state_dir.display()
        );
        return Ok(());
    }
    for l in &leftovers {
        procfs::signal_group(l.pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while leftovers.iter().any(|l| procfs::is_alive(l.pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let audit = AuditLog::open(&state_dir.join("audit.log")).context("opening the audit log")?;
    for l in &leftovers {
        if procfs::is_alive(l.pid) {
            procfs::signal_group(l.pid, libc::SIGKILL);
        }
        let version = l.version.as_deref().unwrap_or("no version");
        println!(
            "stopped {}/{} ({version}), pid {}",
            l.environment, l.color, l.pid
        );
        audit.append(AuditEntry {
            time: String::new(),
            actor: operator(),
            environment: l.environment.clone(),
            action: AuditAction::Stop,
            from_version: l.version.clone(),
            to_version: None,
            from_color: Some(l.color),
            to_color: None,
            revision: None,
            outcome: Outcome::Ok,
            message: format!(
                "stopped {} ({version}) left running by a daemon that is gone; its next start runs it again",
                l.color
            ),
        })?;
    }
    println!(
        "no daemon answered at {endpoint}; stopped {} colour process(es) it left running. The deployments stay recorded: `bluegreen-local serve` starts them again.",
        leftovers.len()
    );
    Ok(())
}
