//! Command-line interface: `serve`, `status`, `switch`, `stop`, `unlock`.

mod audit;
mod release;
mod serve;
mod status;
mod stop;
mod switch;
mod unlock;

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use bluegreen_local::api::Color;
use bluegreen_local::client::{Client, ClientError, DEFAULT_ENDPOINT};
use clap::{Parser, Subcommand};

/// Default state directory, relative to the working directory (as in the provider).
pub const DEFAULT_STATE_DIR: &str = ".bluegreen";

/// The embedded local platform of terraform-provider-bluegreen.
#[derive(Debug, Parser)]
#[command(name = "bluegreen-local", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Admin API of the daemon (for status, switch, stop and unlock).
    #[arg(long, global = true, env = "BLUEGREEN_LOCAL_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,

    /// State directory: holds state.json, audit.log, logs/ and the API token.
    #[arg(long, global = true, env = "BLUEGREEN_LOCAL_STATE_DIR")]
    state_dir: Option<PathBuf>,

    /// API token (instead of reading STATE_DIR/token).
    #[arg(
        long,
        global = true,
        env = "BLUEGREEN_LOCAL_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: admin API, front doors, colour processes.
    ///
    /// SIGTERM or SIGINT restarts cheaply: the daemon stops accepting, finishes the
    /// requests in hand and exits, leaving the colour processes running; the next `serve`
    /// on the same state directory adopts them. `bluegreen-local stop` stops everything.
    ///
    /// Environment: BLUEGREEN_LOCAL_LOG sets the log level (default info);
    /// BLUEGREEN_FRONT_DOOR_THREADS sets how many threads serve front door connections
    /// (default one per CPU; 0 serves them on the daemon's own runtime).
    Serve {
        /// Admin API address; keep it on loopback.
        #[arg(long, default_value = "127.0.0.1:7480")]
        listen: String,
        /// Upgrade in place: take over the listening sockets of the daemon running on the
        /// same state directory, which then finishes its requests and exits. No request
        /// fails and colours keep running. Without a running daemon, starts normally.
        #[arg(long)]
        takeover: bool,
        #[command(flatten)]
        admin: serve::AdminArgs,
    },
    /// Stop every colour process, then the daemon (audited).
    ///
    /// Deployments stay recorded: the next `serve` (or `terraform apply`) starts them
    /// again. With no daemon answering, stops the colours recorded in --state-dir that a
    /// SIGTERM or kill -9 of the daemon left running.
    Stop,
    /// Show environments: colours, versions, processes, routing, and the running or
    /// last release (phase, versions, colours, the watch's live figures, last steps).
    Status {
        /// Only this environment.
        environment: Option<String>,
        /// Print JSON: the admin API's environment objects, each with `last_release`
        /// (the running or last release, as `GET …/releases` answers it, or null).
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Redraw every second until Ctrl-C (for a terminal without a browser).
        #[arg(long)]
        watch: bool,
    },
    /// Emergency switch outside Terraform: send all traffic of ENV to COLOR.
    Switch {
        /// Environment name.
        environment: String,
        /// Colour to make live: blue or green.
        color: Color,
        /// Switch even if a Terraform run holds the environment's lock.
        #[arg(long)]
        force: bool,
        /// Reason, recorded in the audit log.
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Break ENV's lock, whoever holds it: for a Terraform run that died (a live run's
    /// lock is freed when it ends). Audited under your name.
    Unlock {
        /// Environment name.
        environment: String,
    },
    /// Show the audit log, oldest first: deploys, switches, rollbacks, releases (how
    /// each ended and why), locks, crashes, refused requests.
    Audit {
        /// Only this environment.
        environment: Option<String>,
        /// How many of the newest entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Print JSON (the admin API's entries).
        #[arg(long)]
        json: bool,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            ref listen,
            takeover,
            admin,
        } => {
            let dir = cli
                .state_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
            serve::run(dir, listen, takeover, admin.limits()).await
        }
        Command::Stop => {
            let anonymous = Client::new(&cli.endpoint, None)?;
            if let Err(ClientError::Unreachable { .. }) = anonymous.health().await {
                let dir = cli
                    .state_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
                return stop::run_without_daemon(&cli.endpoint, &dir);
            }
            let client = client(&cli).await?;
            stop::run(&client, &cli.endpoint).await
        }
        Command::Status {
            ref environment,
            json,
            watch,
        } => {
            let client = client(&cli).await?;
            if watch {
                status::watch(&client, environment.as_deref()).await
            } else {
                status::run(&client, environment.as_deref(), json).await
            }
        }
        Command::Switch {
            ref environment,
            color,
            force,
            ref message,
        } => {
            let client = client(&cli).await?;
            switch::run(&client, environment, color, force, message.clone()).await
        }
        Command::Unlock { ref environment } => {
            let client = client(&cli).await?;
            unlock::run(&client, environment).await
        }
        Command::Audit {
            ref environment,
            limit,
            json,
        } => {
            let client = client(&cli).await?;
            audit::run(&client, environment.as_deref(), limit as usize, json).await
        }
    }
}

/// Builds a client: token from --token, else --state-dir, else the state directory the
/// daemon reports on its unauthenticated health endpoint.
async fn client(cli: &Cli) -> anyhow::Result<Client> {
    let anonymous = Client::new(&cli.endpoint, None)?;
    if let Some(t) = &cli.token {
        return Ok(Client::new(&cli.endpoint, Some(t.clone()))?);
    }
    let dir = match &cli.state_dir {
        Some(d) => d.clone(),
        None => match anonymous.health().await {
            Ok(h) => PathBuf::from(h.state_dir),
            Err(e @ ClientError::Unreachable { .. }) => return Err(e.into()),
            Err(_) => PathBuf::from(DEFAULT_STATE_DIR),
        },
    };
    let token = bluegreen_local::state::token::read_token(&dir)
        .map_err(|e| anyhow!("{e}: pass the daemon's --state-dir, or set BLUEGREEN_LOCAL_TOKEN"))?;
    Client::new(&cli.endpoint, Some(token)).context("building the API client")
}
