//! `bench-frontdoor`: the front door against nginx as a reverse proxy to the same single
//! upstream (one demo-app process), with the same `wrk` settings, in interleaved rounds.
//! The upstream measured directly is included as the ceiling both proxies live under.

use std::path::PathBuf;

use anyhow::Context;
use bluegreen_bench::daemon::Platform;
use bluegreen_bench::machine;
use bluegreen_bench::nginx::Nginx;
use bluegreen_bench::process::free_port;
use bluegreen_bench::rounds::{self, per_round, ratio_range, Hooks, Target};
use bluegreen_bench::table::{ratio, Table};
use bluegreen_bench::tools::{system_tool, WRK_NGINX_HINT};
use bluegreen_bench::wrk::{self, WrkSettings};
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
    /// Also measure a second daemon whose front door runs N worker threads
    /// (BLUEGREEN_FRONT_DOOR_THREADS=N; 0 = on the daemon's own runtime; its front door
    /// proxies to its own, identical, demo-app process).
    #[arg(long)]
    variant_front_door_threads: Option<usize>,
}

/// Between rounds: every server must still run.
struct Alive<'a> {
    platform: &'a mut Platform,
    nginx: [&'a mut Nginx; 2],
    variant: Option<&'a mut Platform>,
}

impl Hooks for Alive<'_> {
    fn after_round(&mut self) -> anyhow::Result<()> {
        self.platform.ensure_running()?;
        for n in &mut self.nginx {
            n.ensure_running()?;
        }
        if let Some(p) = self.variant.as_mut() {
            p.ensure_running()?;
        }
        Ok(())
    }
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
    let wrk_version = wrk::version(&wrk_bin);
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
    let variant_threads = args.variant_front_door_threads.map(|n| n.to_string());
    let mut variant = match &variant_threads {
        Some(n) => {
            let mut p = rt.block_on(Platform::start_with_env(&[(
                "BLUEGREEN_FRONT_DOOR_THREADS",
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

    let target =
        |label: &str, url: String, proxy_pid: Option<u32>, proxy_tree, upstream_pid| Target {
            label: label.to_owned(),
            url,
            script: None,
            proxy_pid,
            proxy_tree,
            upstream_pids: vec![upstream_pid],
        };
    let mut targets = vec![
        target(
            "upstream direct (no proxy)",
            format!("http://127.0.0.1:{upstream_port}{}", args.path),
            None,
            false,
            upstream_pid,
        ),
        target(
            "front door (bluegreen-local)",
            env.url(&args.path),
            Some(platform.pid()),
            false,
            upstream_pid,
        ),
        target(
            "nginx worker_processes 1",
            format!("http://127.0.0.1:{}{}", nginx1.port, args.path),
            Some(nginx1.pid()),
            true,
            upstream_pid,
        ),
        target(
            "nginx worker_processes auto",
            format!("http://127.0.0.1:{}{}", nginx_auto.port, args.path),
            Some(nginx_auto.pid()),
            true,
            upstream_pid,
        ),
    ];
    if let (Some((p, e)), Some(n)) = (&variant, &variant_threads) {
        targets.push(target(
            match n.as_str() {
                "0" => "front door, daemon runtime",
                "1" => "front door, 1 worker thread",
                _ => "front door, N worker threads",
            },
            e.url(&args.path),
            Some(p.pid()),
            false,
            e.colour_pids[0],
        ));
    }
    for t in &targets {
        // Both proxies add x-bluegreen-color; the upstream itself does not.
        let color = t.proxy_pid.is_some().then_some("blue");
        rounds::check(&t.label, &t.url, &[], color)?;
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
        let mut alive = Alive {
            platform: &mut platform,
            nginx: [&mut nginx1, &mut nginx_auto],
            variant: variant.as_mut().map(|(p, _)| p),
        };
        rounds::warm_up(&wrk_bin, &warm, &targets, &mut alive)?;
        let results = rounds::measure(
            &wrk_bin,
            &settings,
            &targets,
            args.rounds,
            &format!("c{connections}"),
            &mut alive,
        )?;
        let table = rounds::results_table("target", &targets, &results);
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
            let tp = per_round(&results[f], &results[j], |r| r.rps);
            let lat = per_round(&results[f], &results[j], |r| r.p99_ms);
            ratios.row([
                targets[f].label.clone(),
                targets[j].label.clone(),
                ratio_range(&tp),
                ratio(lat.median),
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
