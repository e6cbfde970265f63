//! What the binary does when a person runs it, and the plugin entry point.

mod docs;
pub mod migrations;
mod schema;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tfplugin::server::{self, handshake::HandshakeError, ServeError, ServeOptions};

use crate::provider::BlueGreenProvider;
use crate::{PROVIDER_ADDRESS, VERSION};

const ABOUT: &str = "\
terraform-provider-bluegreen is a Terraform provider: Terraform starts it, you don't.
Declare it in your configuration and run `terraform init`:

  terraform {
    required_providers {
      bluegreen = { source = \"agog/bluegreen\" }
    }
  }

Run by hand, it offers a few tools for people and pipelines.";

#[derive(Parser)]
#[command(name = "terraform-provider-bluegreen", version = VERSION, about = ABOUT)]
struct Cli {
    /// Serve without TLS and print a TF_REATTACH_PROVIDERS value, for debuggers.
    #[arg(long)]
    debug: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the provider version and protocol.
    Version,
    /// Print the provider schema as JSON, shaped like `terraform providers schema -json`.
    Schema,
    /// Write registry-format documentation from the schema and examples/.
    Docs {
        /// Where examples/ lives.
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
        /// Where to write docs/.
        #[arg(long, default_value = "docs")]
        out: PathBuf,
    },
    /// Check SQL migrations: expand/contract classification and lock-safety warnings.
    Migrations(migrations::MigrationsArgs),
}

/// Runs the binary; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) => print_out(&format!(
            "terraform-provider-bluegreen {VERSION} (plugin protocol 6, {PROVIDER_ADDRESS})"
        )),
        Some(Command::Schema) => {
            let provider = BlueGreenProvider::new();
            print_out(&format!(
                "{:#}",
                schema::provider_schema_json(&provider, PROVIDER_ADDRESS)
            ))
        }
        Some(Command::Docs { examples, out }) => {
            match docs::write_docs(&BlueGreenProvider::new(), &examples, &out) {
                Ok(written) => {
                    let lines: Vec<String> = written
                        .iter()
                        .map(|f| format!("wrote {}", f.display()))
                        .collect();
                    print_out(&lines.join("\n"))
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Migrations(args)) => migrations::run(args),
        None => serve(cli.debug),
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print_out(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(debug: bool) -> ExitCode {
    tfplugin::logging::init("provider.terraform-provider-bluegreen");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ServeOptions {
        address: PROVIDER_ADDRESS.to_string(),
        debug,
        tcp: false,
    };
    let result = runtime.block_on(server::serve(Arc::new(BlueGreenProvider::new()), opts));
    // Don't wait for background tasks (e.g. a rollout watch) to notice: Terraform asked us to go.
    runtime.shutdown_timeout(std::time::Duration::from_millis(10));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::Handshake(HandshakeError::NotLaunchedByTerraform)) => {
            eprintln!("{ABOUT}\n\nSee `terraform-provider-bluegreen --help` for the tools.");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
