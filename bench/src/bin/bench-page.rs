//! `bench-page`: the server time of `bluegreen-local`'s page (`GET /`) and of one frame
//! of its event stream (`/events`), in process, with many environments (each with a
//! reported release of 20 steps and 17 minutes of traffic on both colours, so both
//! charts and the figures read full histograms) and a long audit log (issue 16: under
//! 5 ms median with 20 environments and 10,000 audit entries).

use std::time::Instant;

use bluegreen_bench::process::free_port;
use bluegreen_bench::stats::summarize;
use bluegreen_local::api::{
    AuditAction, AuditEntry, Color, EnvironmentSpec, MetricsQuery, Outcome, ReleaseEvent,
    ReleasePhase, WatchFigures,
};
use bluegreen_local::daemon::Daemon;
use bluegreen_local::page;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Server time of the bluegreen-local page and of one event-stream frame")]
struct Args {
    /// Environments, each with a release of 20 steps.
    #[arg(long, default_value_t = 20)]
    environments: usize,
    /// Audit log entries written before measuring.
    #[arg(long, default_value_t = 10_000)]
    audit: usize,
    /// Renders measured of each kind.
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// Requests recorded per second on each colour, for the front door's whole ring
    /// (about 17 minutes); their latencies spread from 1 to 200 ms.
    #[arg(long, default_value_t = 20)]
    requests_per_second: u64,
}

/// Fills one colour's metrics as a busy front door would: every second of the ring,
/// `per_second` requests with latencies spread over two orders of magnitude (many
/// histogram buckets per second: the dearest case for the page's merges).
fn traffic(metrics: &bluegreen_local::frontdoor::metrics::ColorMetrics, per_second: u64) {
    let now = bluegreen_local::time::now_ms();
    for second in 0..1024u64 {
        let at = now.saturating_sub(second * 1000);
        for n in 0..per_second {
            let micros = 1_000 + (second * 7_919 + n * 104_729) % 199_000;
            metrics.record(at, if n % 97 == 0 { 503 } else { 200 }, micros);
        }
    }
}

fn spec() -> anyhow::Result<EnvironmentSpec> {
    Ok(EnvironmentSpec {
        // Never deployed: the page's cost does not depend on the colours' processes.
        command: vec!["/bin/true".into()],
        env: Default::default(),
        listen: format!("127.0.0.1:{}", free_port()?),
        drain_timeout_ms: 10_000,
        upstream_timeout_ms: bluegreen_local::api::DEFAULT_UPSTREAM_TIMEOUT_MS,
        tenant_header: "X-Tenant-ID".into(),
        trust_forwarded_headers: false,
        health_path: None,
    })
}

fn release_event(i: usize, phase: ReleasePhase, step: usize) -> ReleaseEvent {
    ReleaseEvent {
        release_id: format!("env{i}-1"),
        version: "2.0.0".into(),
        phase,
        color: Some(Color::Green),
        previous_color: Some(Color::Blue),
        previous_version: Some("1.0.0".into()),
        step: Some(format!("smoke test \"check-{step}\" passed: 200 in 12 ms")),
        figures: Some(WatchFigures {
            elapsed_ms: 30_000,
            window_ms: 60_000,
            requests: 12_000,
            errors: 3,
            error_rate: 0.00025,
            max_error_rate: 0.01,
            warn_error_rate: Some(0.005),
            latency_ms: Some(4.2),
            latency_statistic: Some("p95".into()),
        }),
        reason: None,
        actor: Some("terraform".into()),
    }
}

fn ms(samples: &[f64]) -> String {
    let s = summarize(samples);
    format!(
        "median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        s.median, s.p90, s.p99
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let daemon = Daemon::open(dir.path(), "0".repeat(64)).await?;
    for i in 0..args.environments {
        let name = format!("env{i}");
        daemon.define(&name, spec()?, Some("bench".into())).await?;
        for step in 0..20 {
            let phase = if step < 15 {
                ReleasePhase::Validating
            } else {
                ReleasePhase::Watching
            };
            daemon.report_release(&name, release_event(i, phase, step))?;
        }
        for color in Color::ALL {
            traffic(
                &daemon.color_stats(&name, color)?.metrics,
                args.requests_per_second,
            );
        }
    }
    for n in 0..args.audit {
        daemon.record_audit(AuditEntry {
            time: String::new(),
            actor: "bench".into(),
            environment: format!("env{}", n % args.environments.max(1)),
            action: AuditAction::Switch,
            from_version: Some("1.0.0".into()),
            to_version: Some("2.0.0".into()),
            from_color: Some(Color::Blue),
            to_color: Some(Color::Green),
            revision: Some(n as u64),
            outcome: Outcome::Ok,
            message: format!("rev {n}: primary green"),
        })?;
    }
    let (mut pages, mut frames) = (Vec::new(), Vec::new());
    let mut bytes = (0, 0);
    for _ in 0..args.iterations {
        let start = Instant::now();
        let html = page::render_page(&page::snapshot(&daemon));
        pages.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let frame = page::render_live(&page::snapshot(&daemon));
        frames.push(start.elapsed().as_secs_f64() * 1000.0);
        bytes = (html.len(), frame.len());
    }
    println!(
        "bench-page: {} environments (a release of 20 steps and {} requests/s on each colour for 17 min each), {} audit entries, {} renders each",
        args.environments, args.requests_per_second, args.audit, args.iterations
    );
    println!("GET /          {} ({} bytes)", ms(&pages), bytes.0);
    println!("/events frame  {} ({} bytes)", ms(&frames), bytes.1);
    // The parts that read the front door's metrics, for every colour of every environment.
    let (mut charts, mut figures) = (Vec::new(), Vec::new());
    for _ in 0..args.iterations {
        let now = bluegreen_local::time::now_ms();
        let start = Instant::now();
        for i in 0..args.environments {
            for color in Color::ALL {
                daemon.chart_series(
                    &format!("env{i}"),
                    color,
                    page::CHART_WIDTH_S,
                    page::CHART_POINTS,
                )?;
            }
        }
        charts.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        for i in 0..args.environments {
            for color in Color::ALL {
                let q = MetricsQuery {
                    color,
                    since: Some(now.saturating_sub(60_000)),
                    until: Some(now),
                };
                daemon.metrics(&format!("env{i}"), q)?;
            }
        }
        figures.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    println!("of which: charts {}", ms(&charts));
    println!("          1-minute figures {}", ms(&figures));
    Ok(())
}
