//! `bluegreen-local stop`: stops every colour process, then the daemon.

use std::time::{Duration, Instant};

use anyhow::bail;
use bluegreen_local::api::DaemonStopRequest;
use bluegreen_local::client::Client;

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
