//! `bench-restart`: what replacing the daemon costs the users of its front doors. For each
//! way of replacing it (SIGTERM then `serve`, `kill -9` then `serve`, and the upgrade
//! `serve --takeover`), environments with two running colours take closed-loop load, the
//! daemon is replaced, and the benchmark counts failed requests and measures the gap
//! during which a prober's fresh connections failed. The upgrade must fail nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_bench::daemon::{
    demo_app_spec, deploy_running, serve_command, BLUE_VERSION, GREEN_VERSION,
};
use bluegreen_bench::load::{self, LoadSummary};
use bluegreen_bench::machine;
use bluegreen_bench::process::{free_port, signal, ProcessGuard};
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ms, Table};
use bluegreen_bench::tools::workspace_bin;
use bluegreen_local::api::{Color, DaemonStopRequest, RoutingUpdate};
use bluegreen_local::client::Client;
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// SIGTERM, wait for the exit, start `serve` again.
    Restart,
    /// SIGKILL, start `serve` again.
    Kill9,
    /// `serve --takeover` while the old daemon runs.
    Upgrade,
}

#[derive(Parser)]
#[command(about = "Replaces the local platform daemon under load: restart, kill -9, upgrade")]
struct Args {
    /// Environments (each runs two colours) with load on their front doors.
    #[arg(long, default_value_t = 3)]
    environments: usize,
    /// Concurrent keep-alive connections per environment.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Replacements per mode.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Load before and after each replacement, ms.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// The daemon binary (default: `bluegreen-local` beside this program), e.g. an older
    /// build to compare with.
    #[arg(long)]
    daemon: Option<PathBuf>,
    /// Modes to run.
    #[arg(long, value_delimiter = ',', default_value = "restart,kill9,upgrade")]
    modes: Vec<Mode>,
}

/// One daemon with its state directory and admin port, replaceable in place.
struct Daemon {
    bin: PathBuf,
    state_dir: PathBuf,
    port: u16,
    process: Option<ProcessGuard>,
}

impl Daemon {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&self, takeover: bool) -> anyhow::Result<ProcessGuard> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state_dir.join("daemon.stderr"))
            .context("opening the daemon log")?;
        let mut cmd = serve_command(&self.bin, &self.state_dir, self.port, log);
        if takeover {
            cmd.arg("--takeover");
        }
        ProcessGuard::spawn("bluegreen-local", &mut cmd, Duration::from_secs(30))
    }

    /// Waits until the admin API answers from `pid`.
    async fn wait_serving(&self, pid: u32) -> anyhow::Result<()> {
        let probe = Client::new(&self.endpoint(), None)?.with_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if probe.health().await.map(|h| h.pid).ok() == Some(pid) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "bluegreen-local {pid} did not answer within 30 s; log:\n{}",
                    std::fs::read_to_string(self.state_dir.join("daemon.stderr"))
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::from_state_dir(&self.endpoint(), &self.state_dir)?
            .with_timeout(Duration::from_secs(60)))
    }
}

/// Fresh-connection probe of one front door every 10 ms: the longest run of failures.
async fn probe_gap(url: String, stop: Arc<AtomicBool>) -> Duration {
    let mut longest = Duration::ZERO;
    let mut failing_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let ok = probe_once(&url).await;
        match (ok, failing_since) {
            (false, None) => failing_since = Some(Instant::now()),
            (true, Some(since)) => {
                longest = longest.max(since.elapsed());
                failing_since = None;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(since) = failing_since {
        longest = longest.max(since.elapsed());
    }
    longest
}

async fn probe_once(url: &str) -> bool {
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return false;
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    matches!(
        tokio::time::timeout(Duration::from_secs(2), client.get(uri)).await,
        Ok(Ok(resp)) if resp.status().is_success()
    )
}

/// One replacement's figures.
struct Round {
    load: LoadSummary,
    /// From the start of the replacement until the new daemon's admin API answered.
    serving_ms: f64,
    gap_ms: f64,
    adopted: bool,
}

async fn environments(daemon: &Daemon, count: usize, app: &Path) -> anyhow::Result<Vec<String>> {
    let client = daemon.client()?;
    let mut urls = Vec::new();
    for i in 0..count {
        let name = format!("env{i}");
        let front = free_port()?;
        client
            .put_environment(&name, &demo_app_spec(app, front, &[]), Some("bench"))
            .await?;
        for (color, version) in [(Color::Blue, BLUE_VERSION), (Color::Green, GREEN_VERSION)] {
            deploy_running(&client, &name, color, version).await?;
        }
        let update = RoutingUpdate {
            primary: Some(Color::Green),
            actor: Some("bench".into()),
            ..RoutingUpdate::default()
        };
        client.set_routing(&name, &update).await?;
        urls.push(format!("http://127.0.0.1:{front}/api/version"));
    }
    Ok(urls)
}

async fn colour_pids(daemon: &Daemon) -> anyhow::Result<Vec<Option<u32>>> {
    let envs = daemon.client()?.list_environments().await?;
    Ok(envs
        .iter()
        .flat_map(|e| [e.colors.blue.pid, e.colors.green.pid])
        .collect())
}

async fn round(
    daemon: &mut Daemon,
    mode: Mode,
    urls: &[String],
    args: &Args,
) -> anyhow::Result<Round> {
    let before = colour_pids(daemon).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let budget = Duration::from_secs(120);
    let loads: Vec<_> = urls
        .iter()
        .map(|url| {
            let (url, stop, n) = (url.clone(), stop.clone(), args.concurrency);
            tokio::spawn(async move { load::run(&url, n, budget, u64::MAX, stop).await })
        })
        .collect();
    let prober = tokio::spawn(probe_gap(urls[0].clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;

    let started = Instant::now();
    let mut old = daemon.process.take().context("no daemon runs")?;
    let new = match mode {
        Mode::Restart => {
            old.stop();
            daemon.spawn(false)?
        }
        Mode::Kill9 => {
            signal(old.pid(), libc::SIGKILL);
            old.stop();
            daemon.spawn(false)?
        }
        Mode::Upgrade => daemon.spawn(true)?,
    };
    daemon.wait_serving(new.pid()).await?;
    let serving = started.elapsed();
    daemon.process = Some(new);
    if mode == Mode::Upgrade {
        let deadline = Instant::now() + Duration::from_secs(30);
        while old.try_wait().is_none() {
            anyhow::ensure!(Instant::now() < deadline, "the old daemon did not exit");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(old);
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = LoadSummary::default();
    for l in loads {
        let s = l.await.context("load task")??;
        total.sent += s.sent;
        total.ok += s.ok;
        total.failed += s.failed;
        for (kind, n) in s.failures {
            *total.failures.entry(kind).or_default() += n;
        }
    }
    let gap = prober.await.context("prober task")?;
    let after = colour_pids(daemon).await?;
    Ok(Round {
        load: total,
        serving_ms: serving.as_secs_f64() * 1000.0,
        gap_ms: gap.as_secs_f64() * 1000.0,
        adopted: before == after,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_header(
        "bench-restart: replacing the daemon under load; the upgrade must fail 0 requests",
    );
    let app = workspace_bin("agog-demo-app")?;
    let state = tempfile::Builder::new()
        .prefix("bluegreen-bench-restart-")
        .tempdir()
        .context("creating the state directory")?;
    let mut daemon = Daemon {
        bin: match &args.daemon {
            Some(path) => path.clone(),
            None => workspace_bin("bluegreen-local")?,
        },
        state_dir: state.path().to_path_buf(),
        port: free_port()?,
        process: None,
    };
    let first = daemon.spawn(false)?;
    daemon.wait_serving(first.pid()).await?;
    daemon.process = Some(first);
    let urls = environments(&daemon, args.environments, &app).await?;
    println!(
        "{} environments ({} colour processes), {} keep-alive connections each; {} rounds per mode",
        args.environments,
        2 * args.environments,
        args.concurrency,
        args.rounds
    );

    let mut table = Table::new([
        "mode",
        "rounds",
        "requests sent",
        "failed (total)",
        "failed per round median / max",
        "front door gap median / max ms",
        "admin API back after median ms",
        "colours adopted",
        "failures by kind",
    ]);
    let mut upgrade_failed = 0;
    let mut outcome = Ok(());
    for &mode in &args.modes {
        let mut rounds = Vec::new();
        for i in 0..args.rounds {
            match round(&mut daemon, mode, &urls, &args).await {
                Ok(r) => rounds.push(r),
                Err(e) => {
                    outcome = Err(e.context(format!("{mode:?} round {}", i + 1)));
                    break;
                }
            }
        }
        if rounds.is_empty() {
            break;
        }
        let failed: Vec<f64> = rounds.iter().map(|r| r.load.failed as f64).collect();
        let gaps: Vec<f64> = rounds.iter().map(|r| r.gap_ms).collect();
        let serving: Vec<f64> = rounds.iter().map(|r| r.serving_ms).collect();
        let (f, g, s) = (summarize(&failed), summarize(&gaps), summarize(&serving));
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        for r in &rounds {
            for (k, n) in &r.load.failures {
                *kinds.entry(k.clone()).or_default() += n;
            }
        }
        let total_failed: u64 = rounds.iter().map(|r| r.load.failed).sum();
        if mode == Mode::Upgrade {
            upgrade_failed = total_failed;
        }
        table.row([
            format!("{mode:?}").to_lowercase(),
            rounds.len().to_string(),
            rounds.iter().map(|r| r.load.sent).sum::<u64>().to_string(),
            total_failed.to_string(),
            format!("{:.0} / {:.0}", f.median, f.max),
            format!("{} / {}", ms(g.median), ms(g.max)),
            ms(s.median),
            format!(
                "{} of {}",
                rounds.iter().filter(|r| r.adopted).count(),
                rounds.len()
            ),
            format!("{kinds:?}"),
        ]);
        if outcome.is_err() {
            break;
        }
    }
    println!("{}", table.render());
    machine::print_footer();
    // Stop everything, colours included.
    if let Ok(client) = daemon.client() {
        let _ = client.stop_daemon(&DaemonStopRequest::default()).await;
    }
    if let Some(mut p) = daemon.process.take() {
        let deadline = Instant::now() + Duration::from_secs(30);
        while p.try_wait().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    outcome?;
    anyhow::ensure!(
        upgrade_failed == 0,
        "{upgrade_failed} requests failed during upgrades"
    );
    Ok(())
}
