//! `bench-switches`: many atomic switches between two running colours while a
//! closed-loop load generator sends requests through the front door. Every request must
//! succeed: a switch never drops, resets or fails a request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_bench::daemon::{Platform, BLUE_VERSION, GREEN_VERSION};
use bluegreen_bench::load;
use bluegreen_bench::machine;
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ms, Table};
use bluegreen_local::api::Color;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Switches between two running colours under sustained loopback load")]
struct Args {
    /// Number of switches.
    #[arg(long, default_value_t = 100)]
    switches: usize,
    /// Pause between switches, ms.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Path requested through the front door.
    #[arg(long, default_value = "/api/version")]
    path: String,
    /// Load before the first and after the last switch, ms.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_header("bench-switches: switches under load, failed requests must be 0");
    let mut platform = Platform::start().await?;
    let env = platform.two_colours("switches", &[]).await?;
    let url = env.url(&args.path);
    println!(
        "front door {url}; blue {BLUE_VERSION} on :{}, green {GREEN_VERSION} on :{}; {} connections, {} switches every {} ms",
        env.colour_ports[0], env.colour_ports[1], args.concurrency, args.switches, args.interval_ms
    );

    let stop = Arc::new(AtomicBool::new(false));
    // Long enough for every switch; the stop flag ends it.
    let budget = Duration::from_millis(
        2 * args.settle_ms + (args.switches as u64) * (args.interval_ms + 1000) + 10_000,
    );
    let load = {
        let (url, stop, concurrency) = (url.clone(), stop.clone(), args.concurrency);
        tokio::spawn(async move { load::run(&url, concurrency, budget, u64::MAX, stop).await })
    };
    let load_url = url.clone();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;

    let mut call_ms = Vec::with_capacity(args.switches);
    let mut live = Color::Blue;
    let mut outcome: anyhow::Result<()> = Ok(());
    for i in 0..args.switches {
        let next = live.other();
        let t = Instant::now();
        if let Err(e) = platform.route(&env.name, next).await {
            outcome = Err(e.context(format!("switch {} of {}", i + 1, args.switches)));
            break;
        }
        call_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        live = next;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    stop.store(true, Ordering::Relaxed);
    let summary = load
        .await
        .context("the load generator task panicked")?
        .with_context(|| format!("load on {load_url}"))?;
    let wall = started.elapsed();
    outcome?;
    platform.ensure_running()?;

    let expected_last = if live == Color::Blue {
        BLUE_VERSION
    } else {
        GREEN_VERSION
    };
    let calls = summarize(&call_ms);
    let mut table = Table::new([
        "switches",
        "requests sent",
        "failed",
        "duration s",
        "req/s",
        "latency p50 / p99 ms",
        "answers blue / green",
        "switch call median / p99 ms",
        "target: 0 failed",
    ]);
    let count = |v: &str| summary.versions.get(v).copied().unwrap_or(0);
    table.row([
        call_ms.len().to_string(),
        summary.sent.to_string(),
        summary.failed.to_string(),
        format!("{:.1}", summary.seconds),
        format!("{:.0}", summary.sent as f64 / summary.seconds.max(1e-9)),
        format!("{} / {}", ms(summary.p50_ms), ms(summary.p99_ms)),
        format!("{} / {}", count(BLUE_VERSION), count(GREEN_VERSION)),
        format!("{} / {}", ms(calls.median), ms(calls.p99)),
        if summary.failed == 0 && call_ms.len() >= 50 {
            "met".into()
        } else {
            "NOT met".into()
        },
    ]);
    println!("{}", table.render());
    if !summary.failures.is_empty() {
        println!("failures by kind: {:?}", summary.failures);
    }
    println!(
        "last answer from {} (live colour {live} runs {expected_last}); wall time {:.1} s",
        summary.last_version.as_deref().unwrap_or("nobody"),
        wall.as_secs_f64()
    );
    machine::print_footer();
    drop(platform);
    if summary.failed > 0 {
        anyhow::bail!(
            "{} of {} requests failed during the switches",
            summary.failed,
            summary.sent
        );
    }
    Ok(())
}
