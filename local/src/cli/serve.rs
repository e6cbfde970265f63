//! `bluegreen-local serve`.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use anyhow::Context;
use bluegreen_local::daemon::Daemon;
use bluegreen_local::state::instance::InstanceLock;
use bluegreen_local::state::token;
use tokio::net::TcpListener;
use tracing_subscriber::filter::LevelFilter;

fn init_tracing() {
    let level = std::env::var("BLUEGREEN_LOCAL_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(state_dir: PathBuf, listen: &str) -> anyhow::Result<()> {
    init_tracing();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&state_dir)
        .with_context(|| format!("creating state directory {}", state_dir.display()))?;
    let state_dir = state_dir
        .canonicalize()
        .with_context(|| format!("resolving state directory {}", state_dir.display()))?;
    let _instance = InstanceLock::acquire(&state_dir)?;
    let token = token::load_or_create(&state_dir)?;
    // Bind the admin port before touching any colour, so a second daemon fails cleanly.
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen}: another bluegreen-local may be running there; stop it or pass another --listen")
    })?;
    let addr = listener.local_addr().context("reading the admin address")?;
    let daemon = Daemon::open(&state_dir, token).await?;
    tracing::info!(
        "bluegreen-local {} serving the admin API on http://{addr} (state {}, token in {})",
        env!("CARGO_PKG_VERSION"),
        state_dir.display(),
        token::token_path(&state_dir).display()
    );
    bluegreen_local::server::serve(daemon.clone(), listener, shutdown_signal())
        .await
        .context("serving the admin API")?;
    tracing::info!("shutting down: stopping front doors and colour processes");
    daemon.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
