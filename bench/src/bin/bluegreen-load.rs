//! `bluegreen-load URL`: sends traffic until its duration ends or it is
//! interrupted (SIGINT/SIGTERM), then prints what a user would have seen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(about = "HTTP load through the front door, counting failures and versions")]
struct Args {
    /// URL to request, e.g. http://127.0.0.1:8080/api/version
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Longest run, seconds.
    #[arg(long, default_value_t = 600.0)]
    seconds: f64,
    /// Most requests to send.
    #[arg(long, default_value_t = u64::MAX)]
    max_requests: u64,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        flag.store(true, Ordering::Relaxed);
    });
    let summary = bluegreen_bench::load::run(
        &args.url,
        args.concurrency,
        Duration::from_secs_f64(args.seconds),
        args.max_requests,
        stop,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let versions: Vec<String> = summary
            .versions
            .iter()
            .map(|(v, n)| format!("{v}: {n}"))
            .collect();
        println!(
            "{} requests in {:.1}s, {} failed; answers by version: {}; last answer from {}",
            summary.sent,
            summary.seconds,
            summary.failed,
            versions.join(", "),
            summary.last_version.as_deref().unwrap_or("nobody")
        );
    }
    Ok(())
}
