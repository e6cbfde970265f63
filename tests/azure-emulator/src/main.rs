//! `bluegreen-azure-emulator`: runs the Azure emulator until interrupted and
//! prints where it listens, its CA file and its credentials as one JSON line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bluegreen_azure_emulator::runtime::RuntimeConfig;
use bluegreen_azure_emulator::state::Settings;
use bluegreen_azure_emulator::{Emulator, EmulatorConfig};
use clap::Parser;

/// An Azure ARM emulator (AAD, Container Apps, Front Door, Monitor) for tests.
#[derive(Debug, Parser)]
#[command(name = "bluegreen-azure-emulator", about, version)]
struct Args {
    /// TLS listener for AAD, managed identity and ARM (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Plain-HTTP admin listener.
    #[arg(long, default_value = "127.0.0.1:0")]
    admin_listen: SocketAddr,
    /// Directory for ca.pem and emulator.json.
    #[arg(long)]
    state_dir: PathBuf,
    /// Emulated time runs this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    clock_scale: f64,
    /// Emulated milliseconds an ARM write takes to complete.
    #[arg(long, default_value_t = 1000)]
    lro_ms: u64,
    /// Seed the default blue-green infrastructure at start (ids in the output line).
    #[arg(long)]
    seed: bool,
    /// Run each active revision as this command ({port}, {version} = image tag,
    /// {color} = label filled in), e.g. "agog-demo-app --port {port} --version {version} --color {color}".
    #[arg(long)]
    app_command: Option<String>,
    /// Health path of the app command.
    #[arg(long, default_value = "/api/health")]
    health_path: String,
    /// Number of Front Door edge locations (with --app-command; at least 2).
    #[arg(long, default_value_t = 2)]
    edge_locations: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = EmulatorConfig {
        listen: args.listen,
        admin_listen: args.admin_listen,
        state_dir: args.state_dir.clone(),
        clock_scale: args.clock_scale,
        settings: Settings {
            lro_ms: args.lro_ms,
            ..Settings::default()
        },
        runtime: args.app_command.as_ref().map(|command| RuntimeConfig {
            command: command.split_whitespace().map(str::to_string).collect(),
            health_path: args.health_path.clone(),
            edge_locations: args.edge_locations,
            log_dir: args.state_dir.join("revisions"),
        }),
    };
    let emulator = Emulator::start(config)
        .await
        .context("starting the emulator")?;
    let mut line = serde_json::to_value(emulator.info()).context("describing the emulator")?;
    if args.seed {
        let shared = emulator.shared();
        let mut st = shared.lock();
        let seeded = bluegreen_azure_emulator::seed::seed(shared, &mut st, &Default::default())
            .context("seeding")?;
        line["seeded"] = serde_json::to_value(seeded).context("describing the seed")?;
    }
    println!("{line}");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    emulator.shutdown().await;
    Ok(())
}
