//! `bench-protocol`: how long Terraform waits for a provider before it can use it.
//!
//! Each run does what Terraform does at every provider start: spawn the binary with the
//! magic cookie and its client certificate, read the go-plugin handshake line, connect
//! over the announced unix socket with mutual TLS, and call `GetProviderSchema`. Then it
//! calls `plugin.GRPCController/Shutdown` and times the exit. The real provider and the
//! test provider are run interleaved (alternating which goes first) after warm-up runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_acceptance::harness::plugin::{
    client_config, ClientIdentity, Handshake, MAGIC_COOKIE,
};
use bluegreen_bench::machine;
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ms, Table};
use bluegreen_bench::tools::{binary_label, workspace_bin};
use clap::Parser;
use rustls_pki_types::ServerName;
use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tonic::transport::{Channel, Endpoint, Uri};

#[derive(Parser)]
#[command(about = "Provider start-up: spawn → handshake line → GetProviderSchema reply")]
struct Args {
    /// Measured runs per provider.
    #[arg(long, default_value_t = 60)]
    runs: usize,
    /// Unmeasured runs per provider first (page cache, dynamic loader).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// `TF_LOG` for the provider; unset by default, as when a user runs Terraform
    /// without TF_LOG.
    #[arg(long)]
    tf_log: Option<String>,
    /// Provider binaries to run (default: terraform-provider-bluegreen and
    /// terraform-provider-bgtest from this benchmark's target directory).
    #[arg(long = "provider")]
    providers: Vec<PathBuf>,
}

/// Milliseconds of one start, cumulative from the spawn.
#[derive(Debug, Clone, Copy)]
struct Run {
    handshake: f64,
    connected: f64,
    schema: f64,
    /// From the Shutdown reply to the process exit.
    exit_after_shutdown: f64,
}

/// The child, killed (SIGKILL) if a run fails midway.
struct Provider {
    child: tokio::process::Child,
    // Held open: go-plugin's client keeps reading stdout, and a closed pipe would
    // turn a stray write into SIGPIPE.
    _stdout: BufReader<tokio::process::ChildStdout>,
}

async fn start(
    binary: &Path,
    identity: &ClientIdentity,
    tf_log: Option<&str>,
) -> anyhow::Result<(Provider, Handshake)> {
    let mut cmd = tokio::process::Command::new(binary);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("TF_") || k.starts_with("PLUGIN_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(level) = tf_log {
        cmd.env("TF_LOG", level);
    }
    // SAFETY: prctl only; the provider must not outlive the benchmark.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    if let Some(mut stderr) = child.stderr.take() {
        // Terraform reads the provider's stderr continuously; so do we.
        tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink).await;
        });
    }
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout pipe"))?;
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    let n = tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line))
        .await
        .map_err(|_| {
            anyhow::anyhow!("{} printed no handshake line within 10 s", binary.display())
        })??;
    if n == 0 {
        let status = child.wait().await?;
        anyhow::bail!(
            "{} exited ({status}) without a handshake line",
            binary.display()
        );
    }
    let handshake = Handshake::parse(&line)?;
    Ok((
        Provider {
            child,
            _stdout: stdout,
        },
        handshake,
    ))
}

async fn connect(handshake: &Handshake, identity: &ClientIdentity) -> anyhow::Result<Channel> {
    anyhow::ensure!(
        handshake.network == "unix",
        "expected a unix socket, got {}",
        handshake.line
    );
    let cert = handshake.server_cert.clone().ok_or_else(|| {
        anyhow::anyhow!("the provider announced no certificate: {}", handshake.line)
    })?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client_config(cert, Some(identity))?));
    let path = PathBuf::from(&handshake.address);
    let connector = tower::service_fn(move |_: Uri| {
        let (path, tls) = (path.clone(), tls.clone());
        async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
            let stream = tls.connect(name, stream).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(connector)
        .await
        .context("connecting to the provider's socket with mutual TLS")
}

async fn one_run(
    binary: &Path,
    identity: &ClientIdentity,
    tf_log: Option<&str>,
) -> anyhow::Result<Run> {
    let t0 = Instant::now();
    let (mut provider, handshake) = start(binary, identity, tf_log).await?;
    let handshake_at = t0.elapsed();
    let channel = connect(&handshake, identity).await?;
    let connected_at = t0.elapsed();
    let reply = ProviderClient::new(channel.clone())
        .max_decoding_message_size(256 << 20)
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .context("GetProviderSchema")?
        .into_inner();
    let schema_at = t0.elapsed();
    anyhow::ensure!(
        reply.provider.is_some(),
        "GetProviderSchema returned no provider schema"
    );
    if let Some(d) = reply.diagnostics.first() {
        anyhow::bail!("GetProviderSchema returned a diagnostic: {}", d.summary);
    }
    // Older go-plugin servers (the Go reference provider's) exit before their reply
    // arrives, so the call fails with a broken pipe; Terraform's client ignores the
    // reply too. What counts is the exit below; the error is only told if that fails.
    let shutdown = GrpcControllerClient::new(channel)
        .shutdown(tfplugin::proto::plugin::Empty {})
        .await;
    let replied = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), provider.child.wait())
        .await
        .map_err(|_| {
            let reply = match &shutdown {
                Ok(_) => "it replied".to_owned(),
                Err(e) => format!("the call failed: {e}"),
            };
            anyhow::anyhow!(
                "{} did not exit within 5 s of Shutdown ({reply})",
                binary.display()
            )
        })??;
    let exited = replied.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Run {
        handshake: ms(handshake_at),
        connected: ms(connected_at),
        schema: ms(schema_at),
        exit_after_shutdown: ms(exited),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let providers = if args.providers.is_empty() {
        vec![
            workspace_bin("terraform-provider-bluegreen")?,
            workspace_bin("terraform-provider-bgtest")?,
        ]
    } else {
        args.providers.clone()
    };
    machine::print_header("bench-protocol: spawn → handshake → GetProviderSchema");
    println!(
        "runs: {} measured + {} warm-up per provider, interleaved; provider TF_LOG: {}",
        args.runs,
        args.warmup,
        args.tf_log.as_deref().unwrap_or("unset")
    );
    // Terraform makes its client certificate once per run; it is not the provider's cost.
    let identity = ClientIdentity::generate()?;
    let tf_log = args.tf_log.as_deref();
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); providers.len()];
    for round in 0..args.warmup + args.runs {
        // Alternate who goes first so neither always follows the other's exit.
        let mut order: Vec<usize> = (0..providers.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let run = one_run(&providers[i], &identity, tf_log)
                .await
                .with_context(|| format!("run {round} of {}", providers[i].display()))?;
            if round >= args.warmup {
                runs[i].push(run);
            }
        }
    }
    let mut table = Table::new([
        "provider",
        "runs",
        "total median ms",
        "total p90 ms",
        "min–max ms",
        "handshake line (median)",
        "+ mTLS connect",
        "+ schema",
        "exit after Shutdown (median / max)",
        "target ≤ 15 ms median",
    ]);
    for (path, runs) in providers.iter().zip(&runs) {
        let pick = |f: fn(&Run) -> f64| summarize(&runs.iter().map(f).collect::<Vec<_>>());
        let total = pick(|r| r.schema);
        let hs = pick(|r| r.handshake);
        let conn = pick(|r| r.connected - r.handshake);
        let schema = pick(|r| r.schema - r.connected);
        let exit = pick(|r| r.exit_after_shutdown);
        let name = binary_label(path);
        table.row([
            name,
            total.n.to_string(),
            ms(total.median),
            ms(total.p90),
            format!("{}–{}", ms(total.min), ms(total.max)),
            ms(hs.median),
            ms(conn.median),
            ms(schema.median),
            format!("{} / {}", ms(exit.median), ms(exit.max)),
            if total.median <= 15.0 {
                "met".into()
            } else {
                "NOT met".into()
            },
        ]);
    }
    println!("{}", table.render());
    machine::print_footer();
    Ok(())
}
