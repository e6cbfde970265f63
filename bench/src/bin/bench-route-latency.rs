//! `bench-route-latency`: how soon a routing update takes effect. Pollers send
//! back-to-back requests through the front door; for each switch the time of the first
//! answer from the new colour (`x-bluegreen-color`) is compared with the moment the
//! `PUT …/routing` call was sent and the moment it returned.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_bench::daemon::Platform;
use bluegreen_bench::machine;
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::Table;
use bluegreen_local::api::Color;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

#[derive(Parser)]
#[command(about = "Time from a routing update to the first request served by the new colour")]
struct Args {
    /// Measured switches.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Unmeasured switches first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Polling connections (more connections: finer resolution, more load).
    #[arg(long, default_value_t = 4)]
    pollers: usize,
    /// Path polled.
    #[arg(long, default_value = "/api/version")]
    path: String,
}

/// What the pollers watch for: the colour awaited, and when its first answer arrived
/// (µs since `epoch`, 0 = not yet).
struct Watch {
    epoch: Instant,
    awaited: AtomicU8,
    first_us: AtomicU64,
    stop: AtomicBool,
    errors: AtomicU64,
    requests: AtomicU64,
}

const NONE: u8 = 255;

fn color_code(header: Option<&hyper::http::HeaderValue>) -> u8 {
    match header.map(|h| h.as_bytes()) {
        Some(b"blue") => Color::Blue.index() as u8,
        Some(b"green") => Color::Green.index() as u8,
        _ => NONE,
    }
}

async fn poll(port: u16, path: String, watch: Arc<Watch>) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .context("connecting to the front door")?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let host = format!("127.0.0.1:{port}");
    while !watch.stop.load(Ordering::Relaxed) {
        let req = hyper::Request::get(&path)
            .header(hyper::header::HOST, &host)
            .body(Empty::new())?;
        sender.ready().await?;
        let resp = sender.send_request(req).await;
        let now = watch.epoch.elapsed().as_micros() as u64;
        watch.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match resp {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                watch.errors.fetch_add(1, Ordering::Relaxed);
                let _ = r.into_body().collect().await;
                continue;
            }
            Err(e) => {
                watch.errors.fetch_add(1, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        let code = color_code(resp.headers().get(bluegreen_local::api::COLOR_HEADER));
        if code != NONE && code == watch.awaited.load(Ordering::Acquire) {
            // Only the earliest answer counts.
            let _ =
                watch
                    .first_us
                    .compare_exchange(0, now.max(1), Ordering::AcqRel, Ordering::Relaxed);
        }
        resp.into_body().collect().await?;
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_header(
        "bench-route-latency: routing update → first request served by the new colour",
    );
    let mut platform = Platform::start().await?;
    let env = platform.two_colours("latency", &[]).await?;
    println!(
        "front door :{}, {} polling connections with back-to-back GET {}",
        env.front_port, args.pollers, args.path
    );

    let watch = Arc::new(Watch {
        epoch: Instant::now(),
        awaited: AtomicU8::new(NONE),
        first_us: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        errors: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    });
    let mut pollers = Vec::new();
    for _ in 0..args.pollers {
        pollers.push(tokio::spawn(poll(
            env.front_port,
            args.path.clone(),
            watch.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut from_send = Vec::new();
    let mut from_return = Vec::new();
    let mut call = Vec::new();
    let mut live = Color::Blue;
    let started = Instant::now();
    for i in 0..args.warmup + args.samples {
        let next = live.other();
        watch.first_us.store(0, Ordering::Release);
        watch.awaited.store(next.index() as u8, Ordering::Release);
        let sent = watch.epoch.elapsed().as_micros() as f64;
        platform.route(&env.name, next).await?;
        let returned = watch.epoch.elapsed().as_micros() as f64;
        let deadline = Instant::now() + Duration::from_secs(5);
        let first = loop {
            match watch.first_us.load(Ordering::Acquire) {
                0 if Instant::now() >= deadline => {
                    anyhow::bail!(
                        "switch {}: no answer from {next} within 5 s of the routing update",
                        i + 1
                    )
                }
                0 => tokio::time::sleep(Duration::from_micros(200)).await,
                t => break t as f64,
            }
        };
        watch.awaited.store(NONE, Ordering::Release);
        live = next;
        if i >= args.warmup {
            from_send.push((first - sent) / 1000.0);
            from_return.push((first - returned) / 1000.0);
            call.push((returned - sent) / 1000.0);
        }
        // Vary the phase of the switch against the pollers' requests.
        tokio::time::sleep(Duration::from_millis(20 + (i as u64 * 7) % 40)).await;
        if pollers.iter().any(|p| p.is_finished()) {
            break;
        }
    }
    watch.stop.store(true, Ordering::Relaxed);
    for p in pollers {
        p.await
            .context("a poller panicked")?
            .context("a poller failed")?;
    }
    platform.ensure_running()?;
    let wall = started.elapsed();

    let mut table = Table::new([
        "measured from",
        "samples",
        "median ms",
        "p90 ms",
        "p99 ms",
        "min ms",
        "max ms",
    ]);
    for (label, s) in [
        ("routing call sent (PUT …/routing)", &from_send),
        ("routing call returned", &from_return),
        ("(the call itself: sent → returned)", &call),
    ] {
        let s = summarize(s);
        table.row([
            label.to_owned(),
            s.n.to_string(),
            format!("{:.3}", s.median),
            format!("{:.3}", s.p90),
            format!("{:.3}", s.p99),
            format!("{:.3}", s.min),
            format!("{:.3}", s.max),
        ]);
    }
    println!("{}", table.render());
    println!(
        "a negative time means the new colour answered before the routing call's reply reached the caller; {} polling requests, {} non-2xx, {:.1} s",
        watch.requests.load(Ordering::Relaxed),
        watch.errors.load(Ordering::Relaxed),
        wall.as_secs_f64()
    );
    machine::print_footer();
    Ok(())
}
