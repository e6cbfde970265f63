//! `bench-websocket`: WebSocket echo round trips through the front door against nginx
//! configured as a WebSocket proxy to the same colour (the demo app's `/ws`), in
//! interleaved rounds, with the colour measured directly as the ceiling; then the front
//! door's memory per open tunnel (RSS growth with N idle WebSockets open through it).
//! Client and server are `tokio-tungstenite`; every run is bounded in time.

use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_bench::daemon::Platform;
use bluegreen_bench::machine;
use bluegreen_bench::nginx::Nginx;
use bluegreen_bench::process::free_port;
use bluegreen_bench::stats::{median_of, percentile};
use bluegreen_bench::table::{ms, ratio, Table};
use bluegreen_bench::tools::{system_tool, WRK_NGINX_HINT};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(about = "WebSocket echo through the front door vs nginx, and memory per tunnel")]
struct Args {
    /// Concurrent WebSockets, each doing one round trip at a time.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per measured run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Measured rounds; each runs every target once, in rotating order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 64)]
    message_bytes: usize,
    /// Idle WebSockets opened through each proxy for the memory figure.
    #[arg(long, default_value_t = 1000)]
    tunnels: usize,
}

struct Run {
    round_trips_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `connections` WebSockets to `url`, each echoing `message` back to back for `seconds`.
async fn run(url: &str, connections: usize, seconds: u64, message: &str) -> anyhow::Result<Run> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("WebSocket handshake with {url}"))?;
        let message = message.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                ws.send(Message::text(message.as_str())).await?;
                match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                    Ok(Some(Ok(Message::Text(_)))) => {}
                    other => anyhow::bail!("no echo: {other:?}"),
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            let _ = ws.close(None).await;
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.context("client task")??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(Run {
        round_trips_per_s: all.len() as f64 / elapsed,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
    })
}

/// Resident set of `pid` and its children (nginx's workers), KiB.
fn rss_tree_kib(pid: u32) -> u64 {
    let rss = |p: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let children: u64 = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .map(rss)
        .sum();
    rss(pid) + children
}

/// RSS growth of `pid`'s tree per WebSocket with `n` idle ones open through `url`, KiB.
async fn kib_per_tunnel(url: &str, pid: u32, n: usize) -> anyhow::Result<f64> {
    let before = rss_tree_kib(pid);
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        // One round trip, so the tunnel has carried data like a live one.
        ws.send(Message::text("hi")).await?;
        let _ = ws.next().await;
        open.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_tree_kib(pid);
    drop(open);
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let nginx_bin = system_tool("nginx", WRK_NGINX_HINT)?;
    let nginx_version = std::process::Command::new(&nginx_bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    // Two client threads, as wrk's `-t 2` in bench-frontdoor.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    machine::print_header("bench-websocket: WebSocket echo through the front door vs nginx");
    println!("{nginx_version}; client and colour: tokio-tungstenite");
    let mut platform = rt.block_on(Platform::start())?;
    let env = rt.block_on(platform.two_colours("websocket", &[]))?;
    let colour_port = env.colour_ports[0];
    let mut nginx = Nginx::start_websocket(&nginx_bin, "auto", free_port()?, colour_port)?;
    println!(
        "colour: agog-demo-app /ws on 127.0.0.1:{colour_port}; front door: bluegreen-local pid {} on 127.0.0.1:{}; nginx pid {} on 127.0.0.1:{}",
        platform.pid(),
        env.front_port,
        nginx.pid(),
        nginx.port
    );
    println!("nginx configuration:\n{}", nginx.config);
    let targets = [
        (
            "colour direct (no proxy)",
            format!("ws://127.0.0.1:{colour_port}/ws"),
        ),
        (
            "front door (bluegreen-local)",
            format!("ws://127.0.0.1:{}/ws", env.front_port),
        ),
        (
            "nginx worker_processes auto",
            format!("ws://127.0.0.1:{}/ws", nginx.port),
        ),
    ];
    let message = "x".repeat(args.message_bytes);
    println!(
        "{} WebSockets, one {}-byte text message in flight each, {} s per run, {} rounds",
        args.connections, args.message_bytes, args.seconds, args.rounds
    );
    let mut runs: Vec<Vec<Run>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..args.rounds {
        for i in 0..targets.len() {
            let t = (i + round) % targets.len();
            let (label, url) = &targets[t];
            let r = rt.block_on(run(url, args.connections, args.seconds, &message))?;
            println!(
                "round {}: {label}: {:.0} round trips/s, p50 {}, p99 {}",
                round + 1,
                r.round_trips_per_s,
                ms(r.p50_ms),
                ms(r.p99_ms)
            );
            runs[t].push(r);
        }
        platform.ensure_running()?;
        nginx.ensure_running()?;
    }
    let median =
        |t: usize, f: fn(&Run) -> f64| median_of(&runs[t].iter().map(f).collect::<Vec<_>>());
    let mut table = Table::new(["target", "round trips/s (median)", "p50", "p99"]);
    for (t, (label, _)) in targets.iter().enumerate() {
        table.row([
            (*label).to_owned(),
            format!("{:.0}", median(t, |r| r.round_trips_per_s)),
            ms(median(t, |r| r.p50_ms)),
            ms(median(t, |r| r.p99_ms)),
        ]);
    }
    println!("{}", table.render());
    println!(
        "front door / nginx: {} round trips/s, p99 {}",
        ratio(median(1, |r| r.round_trips_per_s) / median(2, |r| r.round_trips_per_s)),
        ratio(median(1, |r| r.p99_ms) / median(2, |r| r.p99_ms))
    );
    let front = rt.block_on(kib_per_tunnel(&targets[1].1, platform.pid(), args.tunnels))?;
    let reference = rt.block_on(kib_per_tunnel(&targets[2].1, nginx.pid(), args.tunnels))?;
    println!(
        "memory per open tunnel ({} idle WebSockets, RSS growth): front door {front:.1} KiB, nginx (master + workers) {reference:.1} KiB",
        args.tunnels
    );
    machine::print_footer();
    Ok(())
}
