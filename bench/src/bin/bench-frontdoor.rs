//! `bench-frontdoor`: the front door against nginx as a reverse proxy to the same single
//! upstream (one demo-app process), with the same `wrk` settings, in interleaved rounds.
//! The upstream measured directly is included as the ceiling both proxies live under.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bluegreen_bench::cpu::{cpu_seconds, tree_cpu_seconds};
use bluegreen_bench::daemon::Platform;
use bluegreen_bench::machine;
use bluegreen_bench::nginx::Nginx;
use bluegreen_bench::process::free_port;
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ms, ratio, Table};
use bluegreen_bench::tools::{system_tool, WRK_NGINX_HINT};
use bluegreen_bench::wrk::{self, WrkResult, WrkSettings};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Front door vs nginx: throughput and p99 through a reverse proxy to one upstream"
)]
struct Args {
    /// wrk connection counts to measure (`-c`).
    #[arg(long, value_delimiter = ',', default_values_t = [64u32, 256])]
    connections: Vec<u32>,
    /// wrk threads (`-t`).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Seconds per measured run (`-d`).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Measured rounds; each round runs every target once, in rotating order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Unmeasured warm-up per target and connection count, seconds.
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// Path requested.
    #[arg(long, default_value = "/api/version")]
    path: String,
    /// Also measure a second daemon started with TOKIO_WORKER_THREADS=N (its front door
    /// proxies to its own, identical, demo-app process).
    #[arg(long)]
    variant_worker_threads: Option<usize>,
}

/// Who is measured.
struct Target {
    label: &'static str,
    url: String,
    /// Process whose CPU time is the proxy's (None: no proxy).
    proxy_pid: Option<u32>,
    /// Whether the proxy forks workers whose CPU must be added (nginx).
    proxy_tree: bool,
    /// The proxy must add `x-bluegreen-color`.
    expect_color_header: bool,
    /// The demo-app process behind it.
    upstream_pid: u32,
}

#[derive(Default)]
struct Results {
    runs: Vec<WrkResult>,
    /// Proxy CPU ms per 1,000 requests, per run.
    proxy_cpu: Vec<f64>,
    /// Upstream CPU ms per 1,000 requests, per run.
    upstream_cpu: Vec<f64>,
}

/// One request with `Connection: close`, to check the target answers as expected
/// before it is measured.
fn check(target: &Target, port: u16, path: &str) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to {}", target.label))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .with_context(|| format!("reading {}'s answer", target.label))?;
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200"),
        "{} answered:\n{answer}",
        target.label
    );
    if target.expect_color_header {
        anyhow::ensure!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nx-bluegreen-color: blue"),
            "{} answered without x-bluegreen-color: blue:\n{answer}",
            target.label
        );
    }
    Ok(())
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let wrk_bin: PathBuf = system_tool("wrk", WRK_NGINX_HINT)?;
    let nginx_bin: PathBuf = system_tool("nginx", WRK_NGINX_HINT)?;
    let nginx_version = std::process::Command::new(&nginx_bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    let wrk_version = std::process::Command::new(&wrk_bin)
        .arg("-v")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    machine::print_header("bench-frontdoor: front door vs nginx, same upstream, same wrk settings");
    println!("{wrk_version}; {nginx_version}");
    let mut platform = rt.block_on(Platform::start())?;
    let env = rt.block_on(platform.two_colours("frontdoor", &[]))?;
    let upstream_port = env.colour_ports[0];
    let upstream_pid = env.colour_pids[0];
    let variant_threads = args.variant_worker_threads.map(|n| n.to_string());
    let mut variant = match &variant_threads {
        Some(n) => {
            let mut p = rt.block_on(Platform::start_with_env(&[(
                "TOKIO_WORKER_THREADS",
                n.as_str(),
            )]))?;
            let e = rt.block_on(p.two_colours("frontdoor", &[]))?;
            Some((p, e))
        }
        None => None,
    };
    let mut nginx1 = Nginx::start(&nginx_bin, "1", free_port()?, upstream_port)?;
    let mut nginx_auto = Nginx::start(&nginx_bin, "auto", free_port()?, upstream_port)?;
    println!("upstream: agog-demo-app (one process, one thread) on 127.0.0.1:{upstream_port}, pid {upstream_pid}");
    println!(
        "front door: bluegreen-local pid {} on 127.0.0.1:{}",
        platform.pid(),
        env.front_port
    );
    println!(
        "nginx configuration (worker_processes 1; the other run differs only in `auto`):\n{}",
        nginx1.config
    );

    let mut targets = vec![
        Target {
            label: "upstream direct (no proxy)",
            url: format!("http://127.0.0.1:{upstream_port}{}", args.path),
            proxy_pid: None,
            proxy_tree: false,
            expect_color_header: false,
            upstream_pid,
        },
        Target {
            label: "front door (bluegreen-local)",
            url: env.url(&args.path),
            proxy_pid: Some(platform.pid()),
            proxy_tree: false,
            expect_color_header: true,
            upstream_pid,
        },
        Target {
            label: "nginx worker_processes 1",
            url: format!("http://127.0.0.1:{}{}", nginx1.port, args.path),
            proxy_pid: Some(nginx_pid(&nginx1)),
            proxy_tree: true,
            expect_color_header: true,
            upstream_pid,
        },
        Target {
            label: "nginx worker_processes auto",
            url: format!("http://127.0.0.1:{}{}", nginx_auto.port, args.path),
            proxy_pid: Some(nginx_pid(&nginx_auto)),
            proxy_tree: true,
            expect_color_header: true,
            upstream_pid,
        },
    ];
    if let (Some((p, e)), Some(n)) = (&variant, &variant_threads) {
        targets.push(Target {
            label: if n == "1" {
                "front door, 1 runtime worker"
            } else {
                "front door, N runtime workers"
            },
            url: e.url(&args.path),
            proxy_pid: Some(p.pid()),
            proxy_tree: false,
            expect_color_header: true,
            upstream_pid: e.colour_pids[0],
        });
    }
    for t in &targets {
        check(t, port_of(&t.url), &args.path)?;
    }

    let mut report = String::new();
    for &connections in &args.connections {
        let settings = WrkSettings {
            threads: args.threads,
            connections,
            seconds: args.seconds,
        };
        let warm = WrkSettings {
            seconds: args.warmup,
            ..settings.clone()
        };
        println!("\nwrk {}", settings.args("URL").join(" "));
        for t in &targets {
            if args.warmup > 0 {
                wrk::run(&wrk_bin, &warm, &t.url)
                    .with_context(|| format!("warming up {}", t.label))?;
            }
        }
        let mut results: Vec<Results> = targets.iter().map(|_| Results::default()).collect();
        for round in 0..args.rounds {
            for k in 0..targets.len() {
                let i = (k + round) % targets.len();
                let t = &targets[i];
                let proxy_cpu = |pid: u32| {
                    if t.proxy_tree {
                        tree_cpu_seconds(pid)
                    } else {
                        cpu_seconds(pid).unwrap_or(0.0)
                    }
                };
                let p0 = t.proxy_pid.map(proxy_cpu);
                let u0 = cpu_seconds(t.upstream_pid).unwrap_or(0.0);
                let r = wrk::run(&wrk_bin, &settings, &t.url)
                    .with_context(|| format!("measuring {}", t.label))?;
                let u1 = cpu_seconds(t.upstream_pid).unwrap_or(0.0);
                let per_1k = |cpu: f64| cpu * 1000.0 / (r.requests.max(1) as f64 / 1000.0);
                if let (Some(pid), Some(p0)) = (t.proxy_pid, p0) {
                    results[i].proxy_cpu.push(per_1k(proxy_cpu(pid) - p0));
                }
                results[i].upstream_cpu.push(per_1k(u1 - u0));
                println!(
                    "  c{connections} round {}: {:<30} {:>9.0} req/s  p99 {:>6.2} ms  errors {}  load {}",
                    round + 1,
                    t.label,
                    r.rps,
                    r.p99_ms,
                    r.errors,
                    machine::load()
                );
                results[i].runs.push(r);
            }
            platform.ensure_running()?;
            nginx1.ensure_running()?;
            nginx_auto.ensure_running()?;
            if let Some((p, _)) = variant.as_mut() {
                p.ensure_running()?;
            }
        }

        let mut table = Table::new([
            "target",
            "req/s median (min–max)",
            "p50 ms",
            "p99 ms median (min–max)",
            "errors",
            "proxy CPU ms / 1k req",
            "upstream CPU ms / 1k req",
        ]);
        for (t, r) in targets.iter().zip(&results) {
            let rps = summarize(&r.runs.iter().map(|x| x.rps).collect::<Vec<_>>());
            let p99 = summarize(&r.runs.iter().map(|x| x.p99_ms).collect::<Vec<_>>());
            let p50 = summarize(&r.runs.iter().map(|x| x.p50_ms).collect::<Vec<_>>());
            let errors: u64 = r.runs.iter().map(|x| x.errors).sum();
            let pcpu = summarize(&r.proxy_cpu);
            let ucpu = summarize(&r.upstream_cpu);
            table.row([
                t.label.to_owned(),
                format!("{:.0} ({:.0}–{:.0})", rps.median, rps.min, rps.max),
                format!("{:.2}", p50.median),
                format!("{:.2} ({:.2}–{:.2})", p99.median, p99.min, p99.max),
                errors.to_string(),
                if t.proxy_pid.is_some() {
                    ms(pcpu.median)
                } else {
                    "—".into()
                },
                ms(ucpu.median),
            ]);
        }
        // Ratios per round (the front door and nginx ran back to back in each round).
        let mut ratios = Table::new([
            "front door",
            "vs",
            "throughput ratio median (min–max)",
            "p99 ratio median (fd / nginx)",
            "target ≥ 1.0× throughput",
        ]);
        let fronts: Vec<usize> = std::iter::once(1).chain(4..targets.len()).collect();
        for (f, j) in fronts.iter().flat_map(|f| [(*f, 2usize), (*f, 3)]) {
            let tp: Vec<f64> = results[f]
                .runs
                .iter()
                .zip(&results[j].runs)
                .map(|(a, b)| a.rps / b.rps)
                .collect();
            let lat: Vec<f64> = results[f]
                .runs
                .iter()
                .zip(&results[j].runs)
                .map(|(a, b)| a.p99_ms / b.p99_ms)
                .collect();
            let tp = summarize(&tp);
            ratios.row([
                targets[f].label.to_owned(),
                targets[j].label.to_owned(),
                format!(
                    "{}× ({}–{})",
                    ratio(tp.median),
                    ratio(tp.min),
                    ratio(tp.max)
                ),
                ratio(summarize(&lat).median),
                if tp.median >= 1.0 {
                    "met".into()
                } else {
                    "NOT met".into()
                },
            ]);
        }
        let block = format!(
            "\nwrk {} ({} rounds):\n{}\n{}",
            settings.args("URL").join(" "),
            args.rounds,
            table.render(),
            ratios.render()
        );
        println!("{block}");
        report.push_str(&block);
    }
    println!("\n== summary{report}");
    let errors = nginx1.error_log() + &nginx_auto.error_log();
    if !errors.trim().is_empty() {
        println!("nginx error log:\n{errors}");
    }
    machine::print_footer();
    Ok(())
}

fn nginx_pid(n: &Nginx) -> u32 {
    n.pid()
}
