//! `agog-demo-app`: the demo application deployed by the quickstart, with flags to
//! inject the faults the rollout gates must catch.

mod clock;
mod config;
mod faults;
mod routes;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::config::Config;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    config.validate()?;
    // One thread is plenty for a demo and keeps many colour processes cheap.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}: is the port already in use?"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let faults = config.faults_enabled();
    println!(
        "{} agog-demo-app version={} color={} listening on http://{local} (faults {}: error_rate={} latency_ms={} unhealthy={} degraded={} report_version={:?} crash_after={:?})",
        clock::now_rfc3339(),
        config.version,
        config.color,
        if faults { "on" } else { "off" },
        config.error_rate,
        config.latency_ms,
        config.unhealthy,
        config.degraded,
        config.report_version,
        config.crash_after,
    );
    if let (Some(secs), true) = (config.crash_after, faults) {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            println!(
                "{} crashing on purpose after {secs}s (--crash-after)",
                clock::now_rfc3339()
            );
            std::process::exit(1);
        });
    }
    let app = Arc::new(routes::App::new(config));
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    println!("{} agog-demo-app stopped", clock::now_rfc3339());
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the default action (exit) still applies.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    println!(
        "{} shutting down: finishing in-flight requests",
        clock::now_rfc3339()
    );
}
