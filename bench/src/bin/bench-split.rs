//! `bench-split`: front door throughput with a canary split of 1,000 listed tenants
//! against plain primary routing, side by side on one daemon, one environment and the
//! same two demo-app processes. Only the routing table (installed before each run) and
//! the requests (a wrk Lua script) differ between the variants.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_bench::daemon::{Environment, Platform};
use bluegreen_bench::machine;
use bluegreen_bench::rounds::{self, per_round, ratio_range, Hooks, Results, Target};
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ratio, Table};
use bluegreen_bench::tools::{system_tool, WRK_NGINX_HINT};
use bluegreen_bench::wrk::{self, WrkResult, WrkSettings};
use bluegreen_local::api::{Canary, Color};
use bluegreen_local::frontdoor::routing::{CanaryTarget, RoutingTable, Target as RouteTarget};
use bluegreen_local::frontdoor::ColorStats;
use bluegreen_local::time::now_ms;
use clap::Parser;
use hyper::http::{HeaderName, HeaderValue};

#[derive(Parser)]
#[command(
    about = "Front door with a canary split of N listed tenants vs plain primary routing: throughput side by side"
)]
struct Args {
    /// wrk connections (`-c`).
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads (`-t`).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Seconds per measured run (`-d`).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Measured rounds; each round runs every variant once, in rotating order.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Unmeasured warm-up per variant, seconds.
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// Tenants listed in the canary. The "mixed" requests cycle through these and as
    /// many unlisted ids, interleaved (half listed); the "unlisted" ones through twice
    /// as many ids none of which is listed.
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    /// Canary weight: percentage of requests without a tenant header sent to it.
    #[arg(long, default_value_t = 10)]
    weight: u8,
    /// Pause before each run, ms, after installing its routing table: keeps each run's
    /// one-second metrics buckets apart from the previous run's.
    #[arg(long, default_value_t = 1100)]
    gap_ms: u64,
    /// Path requested.
    #[arg(long, default_value = "/api/version")]
    path: String,
    /// Routing decisions per in-process measurement of `RoutingTable::pick` (0: skip).
    #[arg(long, default_value_t = 2_000_000)]
    picks: usize,
    /// Variants measured, by id (A, A2, B, B2, B3; see the table the program prints),
    /// e.g. `--variants A2,B2` for a focused pair.
    #[arg(long, value_delimiter = ',', default_values = ["A", "A2", "B", "B2", "B3"])]
    variants: Vec<String>,
}

/// The environment's tenant header (the default of `EnvironmentSpec`).
const TENANT_HEADER: &str = "X-Tenant-ID";
const ENV: &str = "split";

/// Which requests a variant sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requests {
    /// No tenant header.
    NoHeader,
    /// Tenant header, half of the ids listed.
    Mixed,
    /// Tenant header, no id listed.
    Unlisted,
}

/// One side of the comparison.
struct Variant {
    /// Name in the tables; its first word is the id `--variants` takes.
    label: &'static str,
    /// With the canary (primary blue, canary green) or plain (primary blue only).
    split: bool,
    requests: Requests,
}

const VARIANTS: [Variant; 5] = [
    Variant {
        label: "A  plain, no header",
        split: false,
        requests: Requests::NoHeader,
    },
    Variant {
        label: "A2 plain, tenant header (mixed ids)",
        split: false,
        requests: Requests::Mixed,
    },
    Variant {
        label: "B  split, tenant header, 50% listed",
        split: true,
        requests: Requests::Mixed,
    },
    Variant {
        label: "B2 split, tenant header, 0% listed",
        split: true,
        requests: Requests::Unlisted,
    },
    Variant {
        label: "B3 split, no header (weighted)",
        split: true,
        requests: Requests::NoHeader,
    },
];

impl Variant {
    fn id(&self) -> &'static str {
        self.label.split_whitespace().next().unwrap_or("")
    }
}

/// Which variants are compared: split, plain (ids), what it shows.
const COMPARISONS: [(&str, &str, &str); 4] = [
    ("B", "A2", "headline: same requests, split vs plain"),
    ("B2", "A2", "lookup cost only: same single upstream"),
    ("B3", "A", "weighted path"),
    ("B", "A", "split with tenants vs plain without header"),
];

/// A deterministic tenant id shaped like a UUID (36 characters), the `n`-th of a fixed
/// sequence (splitmix64).
fn tenant_id(n: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (mix(2 * n), mix(2 * n + 1));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The ids: (listed, mixed, unlisted). `mixed` alternates listed and unlisted ids.
fn tenant_ids(listed: usize) -> (Vec<String>, Vec<String>, Vec<String>) {
    let n = listed as u64;
    let listed: Vec<String> = (0..n).map(tenant_id).collect();
    let mixed = listed
        .iter()
        .cloned()
        .zip((n..2 * n).map(tenant_id))
        .flat_map(|(a, b)| [a, b])
        .collect();
    let unlisted = (2 * n..4 * n).map(tenant_id).collect();
    (listed, mixed, unlisted)
}

/// Around each run: install the variant's routing table, pause, and afterwards count
/// what reached each colour in the run's window.
struct SplitHooks<'a> {
    rt: &'a tokio::runtime::Runtime,
    /// The variant of each target.
    variants: &'a [&'static Variant],
    platform: &'a mut Platform,
    canary: Canary,
    gap: Duration,
    window_start: u64,
    /// Per variant, per measured run: requests counted by the front door (blue, green).
    counts: Vec<Vec<[u64; 2]>>,
}

impl Hooks for SplitHooks<'_> {
    fn before_run(&mut self, target: usize) -> anyhow::Result<()> {
        let canary = self.variants[target].split.then(|| self.canary.clone());
        self.rt
            .block_on(self.platform.route_split(ENV, Color::Blue, canary))?;
        std::thread::sleep(self.gap);
        self.window_start = now_ms();
        Ok(())
    }

    fn after_run(&mut self, target: usize, result: &WrkResult) -> anyhow::Result<String> {
        let c = self.rt.block_on(self.platform.colour_requests(
            ENV,
            self.window_start,
            now_ms(),
        ))?;
        self.counts[target].push(c);
        Ok(format!(
            "blue {} green {} ({:.2}% canary; wrk {})",
            c[0],
            c[1],
            share(c) * 100.0,
            result.requests
        ))
    }

    fn after_round(&mut self) -> anyhow::Result<()> {
        self.platform.ensure_running()
    }
}

/// Green's share of the requests counted.
fn share(c: [u64; 2]) -> f64 {
    c[1] as f64 / (c[0] + c[1]).max(1) as f64
}

fn write_script(dir: &Path, name: &str, path: &str, ids: &[String]) -> anyhow::Result<PathBuf> {
    let file = dir.join(name);
    std::fs::write(&file, wrk::request_script(path, TENANT_HEADER, ids))
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

/// The tenant header with `id`, for [`rounds::check`].
fn with(id: &str) -> [(&'static str, &str); 1] {
    [(TENANT_HEADER, id)]
}

/// Checks, one request each, that the tables route as the variants assume.
fn check_routing(
    rt: &tokio::runtime::Runtime,
    platform: &Platform,
    env: &Environment,
    canary: &Canary,
    path: &str,
    mixed: &[String],
    unlisted: &[String],
) -> anyhow::Result<()> {
    let url = env.url(path);
    rt.block_on(platform.route_split(ENV, Color::Blue, Some(canary.clone())))?;
    let routing = rt.block_on(platform.client.routing(ENV))?;
    let c = routing
        .canary
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the split table has no canary"))?;
    println!(
        "split table: revision {}, primary {:?}, canary {} weight {}% with {} tenants, header {}",
        routing.revision,
        routing.primary,
        c.color,
        c.weight,
        c.tenants.len(),
        routing.tenant_header
    );
    rounds::check(
        "split, listed tenant",
        &url,
        &with(&mixed[0]),
        Some("green"),
    )?;
    rounds::check(
        "split, unlisted tenant",
        &url,
        &with(&mixed[1]),
        Some("blue"),
    )?;
    rounds::check(
        "split, never listed",
        &url,
        &with(&unlisted[0]),
        Some("blue"),
    )?;
    rounds::check("split, no header", &url, &[], None)?;
    rt.block_on(platform.route_split(ENV, Color::Blue, None))?;
    rounds::check("plain, listed tenant", &url, &with(&mixed[0]), Some("blue"))?;
    rounds::check("plain, no header", &url, &[], Some("blue"))?;
    Ok(())
}

/// A routing target as the daemon compiles it (port and headers are not used by `pick`).
fn route_target(color: Color) -> RouteTarget {
    RouteTarget {
        color,
        port: 1,
        host: HeaderValue::from_static("127.0.0.1:1"),
        header: HeaderValue::from_static(color.as_str()),
        stats: Arc::new(ColorStats::default()),
    }
}

/// The routing decision alone, in this process: `RoutingTable::pick` on the same tables
/// and request headers as the variants, `picks` times cycling through the headers, five
/// times; ns per decision, median (min–max). Shows what the 1,000-tenant lookup costs
/// without the noise of a shared machine.
fn pick_cost(picks: usize, canary: &Canary, mixed: &[String], unlisted: &[String]) -> Table {
    let header = HeaderName::from_static("x-tenant-id");
    let plain = RoutingTable {
        revision: 1,
        primary: Some(route_target(Color::Blue)),
        canary: None,
        tenant_header: header.clone(),
    };
    let split = RoutingTable {
        canary: Some(CanaryTarget {
            target: route_target(canary.color),
            weight: canary.weight,
            tenants: canary.tenants.iter().cloned().collect(),
        }),
        ..plain.clone()
    };
    // The tenant header's value as the proxy finds it in the request head (or none).
    type TenantValue = Option<Vec<u8>>;
    let maps = |ids: &[String]| -> Vec<TenantValue> {
        if ids.is_empty() {
            return vec![None];
        }
        ids.iter().map(|id| Some(id.as_bytes().to_vec())).collect()
    };
    let (none, mixed, unlisted) = (maps(&[]), maps(mixed), maps(unlisted));
    let cases: [(&str, &RoutingTable, &[TenantValue]); 5] = [
        ("A  plain, no header", &plain, &none),
        ("A2 plain, tenant header (mixed ids)", &plain, &mixed),
        ("B  split, tenant header, 50% listed", &split, &mixed),
        ("B2 split, tenant header, 0% listed", &split, &unlisted),
        ("B3 split, no header (weighted)", &split, &none),
    ];
    let mut table = Table::new([
        "variant",
        "ns per routing decision median (min–max)",
        "canary share",
    ]);
    for (label, t, headers) in cases {
        let mut ns = Vec::new();
        let mut canary_picks = 0usize;
        for _ in 0..5 {
            canary_picks = 0;
            let start = Instant::now();
            for h in headers.iter().cycle().take(picks) {
                let picked = black_box(t).pick(black_box(h.as_deref()));
                canary_picks += usize::from(picked.is_some_and(|p| p.color == Color::Green));
            }
            ns.push(start.elapsed().as_nanos() as f64 / picks.max(1) as f64);
        }
        let s = summarize(&ns);
        table.row([
            label.to_owned(),
            format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max),
            format!("{:.2}%", canary_picks as f64 * 100.0 / picks.max(1) as f64),
        ]);
    }
    table
}

/// Proxy CPU of `a` over `b`, per round.
fn cpu_ratio(a: &Results, b: &Results) -> f64 {
    let r: Vec<f64> = a
        .proxy_cpu
        .iter()
        .zip(&b.proxy_cpu)
        .map(|(x, y)| x / y)
        .collect();
    summarize(&r).median
}

/// The canary of the split variants: green, `--weight`, the listed tenants.
fn canary_of(args: &Args, listed: &[String]) -> Canary {
    Canary {
        color: Color::Green,
        weight: args.weight,
        tenants: listed.to_vec(),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.tenants > 0, "--tenants must be at least 1");
    anyhow::ensure!(args.weight <= 100, "--weight is a percentage");
    let variants: Vec<&'static Variant> = args
        .variants
        .iter()
        .map(|id| {
            VARIANTS
                .iter()
                .find(|v| v.id().eq_ignore_ascii_case(id.trim()))
                .ok_or_else(|| anyhow::anyhow!("no variant {id:?} (A, A2, B, B2, B3)"))
        })
        .collect::<anyhow::Result<_>>()?;
    let wrk_bin = system_tool("wrk", WRK_NGINX_HINT)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    machine::print_header(&format!(
        "bench-split: front door with a {}-tenant split vs plain primary routing",
        args.tenants
    ));
    println!("{}", wrk::version(&wrk_bin));
    let per_run = u64::from(args.seconds) * 1000 + args.gap_ms;
    let warm_run = u64::from(args.warmup) * 1000 + args.gap_ms;
    println!(
        "expected duration: {} variants × ({} rounds × {:.1} s + warm-up {:.1} s) ≈ {:.0} s",
        variants.len(),
        args.rounds,
        per_run as f64 / 1000.0,
        warm_run as f64 / 1000.0,
        (variants.len() as u64 * (args.rounds as u64 * per_run + warm_run)) as f64 / 1000.0
    );

    let (listed, mixed, unlisted) = tenant_ids(args.tenants);
    let scripts = tempfile::Builder::new()
        .prefix("bluegreen-bench-split-")
        .tempdir()
        .context("creating the scripts' directory")?;
    let none_lua = write_script(scripts.path(), "no-header.lua", &args.path, &[])?;
    let mixed_lua = write_script(scripts.path(), "mixed.lua", &args.path, &mixed)?;
    let unlisted_lua = write_script(scripts.path(), "unlisted.lua", &args.path, &unlisted)?;
    println!(
        "tenant ids: {} listed (e.g. {}); requests cycle through {} mixed ids (listed and unlisted alternating) or {} never-listed ids; wrk scripts in {}",
        listed.len(),
        listed[0],
        mixed.len(),
        unlisted.len(),
        scripts.path().display()
    );

    let picks = if args.picks > 0 {
        let t = pick_cost(args.picks, &canary_of(&args, &listed), &mixed, &unlisted);
        println!(
            "\nRoutingTable::pick in this process, {} decisions × 5:\n{}",
            args.picks,
            t.render()
        );
        Some(t)
    } else {
        None
    };

    let mut platform = rt.block_on(Platform::start())?;
    let env = rt.block_on(platform.two_colours(ENV, &[]))?;
    println!(
        "front door: bluegreen-local pid {} on 127.0.0.1:{}; blue: agog-demo-app pid {} on :{}; green: agog-demo-app pid {} on :{} (one thread each; both run in every variant)",
        platform.pid(),
        env.front_port,
        env.colour_pids[0],
        env.colour_ports[0],
        env.colour_pids[1],
        env.colour_ports[1]
    );
    let canary = canary_of(&args, &listed);
    check_routing(&rt, &platform, &env, &canary, &args.path, &mixed, &unlisted)?;

    let targets: Vec<Target> = variants
        .iter()
        .map(|v| Target {
            label: v.label.to_owned(),
            url: env.url(&args.path),
            script: Some(
                match v.requests {
                    Requests::NoHeader => &none_lua,
                    Requests::Mixed => &mixed_lua,
                    Requests::Unlisted => &unlisted_lua,
                }
                .clone(),
            ),
            proxy_pid: Some(platform.pid()),
            proxy_tree: false,
            upstream_pids: env.colour_pids.to_vec(),
        })
        .collect();
    let expected = |v: &Variant| match (v.split, v.requests) {
        (false, _) | (true, Requests::Unlisted) => 0.0,
        (true, Requests::Mixed) => 0.5,
        (true, Requests::NoHeader) => f64::from(args.weight) / 100.0,
    };

    let settings = WrkSettings {
        threads: args.threads,
        connections: args.connections,
        seconds: args.seconds,
    };
    let warm = WrkSettings {
        seconds: args.warmup,
        ..settings.clone()
    };
    println!(
        "\nwrk {}",
        settings
            .args_with_script("URL", Some(Path::new("VARIANT.lua")))
            .join(" ")
    );
    let mut hooks = SplitHooks {
        rt: &rt,
        platform: &mut platform,
        canary,
        gap: Duration::from_millis(args.gap_ms),
        window_start: 0,
        variants: &variants,
        counts: vec![Vec::new(); variants.len()],
    };
    rounds::warm_up(&wrk_bin, &warm, &targets, &mut hooks)?;
    hooks.counts.iter_mut().for_each(Vec::clear);
    let results = rounds::measure(
        &wrk_bin,
        &settings,
        &targets,
        args.rounds,
        &format!("c{}", args.connections),
        &mut hooks,
    )?;
    let counts = std::mem::take(&mut hooks.counts);
    drop(hooks);

    let table = rounds::results_table("variant", &targets, &results);

    let mut shares = Table::new([
        "variant",
        "expected canary share",
        "observed canary share median (min–max)",
        "requests counted by the front door / by wrk",
    ]);
    for ((v, c), r) in variants.iter().zip(&counts).zip(&results) {
        let s = summarize(&c.iter().map(|x| share(*x) * 100.0).collect::<Vec<_>>());
        let fd: u64 = c.iter().map(|x| x[0] + x[1]).sum();
        let wrk_total: u64 = r.runs.iter().map(|x| x.requests).sum();
        shares.row([
            v.label.to_owned(),
            format!("{:.0}%", expected(v) * 100.0),
            format!("{:.2}% ({:.2}–{:.2})", s.median, s.min, s.max),
            format!("{fd} / {wrk_total}"),
        ]);
    }

    let mut ratios = Table::new([
        "split variant",
        "vs plain variant",
        "comparison",
        "throughput ratio median (min–max)",
        "p99 ratio median",
        "proxy CPU/req ratio median",
        "target ≥ 0.95",
    ]);
    let position = |id: &str| variants.iter().position(|v| v.id() == id);
    for (s, p, what) in COMPARISONS {
        let (Some(s), Some(p)) = (position(s), position(p)) else {
            continue;
        };
        let tp = per_round(&results[s], &results[p], |r| r.rps);
        let lat = per_round(&results[s], &results[p], |r| r.p99_ms);
        ratios.row([
            variants[s].label.to_owned(),
            variants[p].label.to_owned(),
            what.to_owned(),
            ratio_range(&tp),
            ratio(lat.median),
            ratio(cpu_ratio(&results[s], &results[p])),
            if tp.median >= 0.95 {
                "met".into()
            } else {
                "NOT met".into()
            },
        ]);
    }

    println!(
        "\n== summary\nwrk {} ({} rounds, variants in rotating order):\n{}\n{}\n{}",
        settings
            .args_with_script("URL", Some(Path::new("VARIANT.lua")))
            .join(" "),
        args.rounds,
        table.render(),
        shares.render(),
        ratios.render()
    );
    if let Some(t) = picks {
        println!(
            "RoutingTable::pick alone ({} decisions × 5):\n{}",
            args.picks,
            t.render()
        );
    }
    let errors: u64 = results.iter().flat_map(|r| &r.runs).map(|r| r.errors).sum();
    println!("non-2xx or socket errors, all runs: {errors}");
    machine::print_footer();
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_distinct_and_interleaved() {
        let (listed, mixed, unlisted) = tenant_ids(1000);
        assert_eq!(
            (listed.len(), mixed.len(), unlisted.len()),
            (1000, 2000, 2000)
        );
        let mut all: Vec<&String> = mixed.iter().chain(&unlisted).collect();
        assert!(all.iter().all(|id| id.len() == 36));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4000);
        let set: std::collections::HashSet<&String> = listed.iter().collect();
        assert!(mixed.iter().step_by(2).all(|id| set.contains(id)));
        assert!(!mixed.iter().skip(1).step_by(2).any(|id| set.contains(id)));
        assert_eq!(tenant_id(0), tenant_ids(1).0[0]);
    }
}
