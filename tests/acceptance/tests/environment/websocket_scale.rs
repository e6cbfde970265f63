//! WebSockets at scale across switches: 1,000 connections to the demo app's `/ws`
//! (client: `tungstenite`) held across 20 emergency switches (`bluegreen-local switch`,
//! blue ↔ green, faster than the drain) under HTTP load. None is dropped while its
//! colour's drain runs, no HTTP request fails, every connection opened after a switch
//! reaches the new colour, and those left on the retired colour at the end are closed
//! at its drain deadline and counted as cut.
//!
//! The front door is the daemon's, not Terraform's, so this runs on one CLI: the first
//! configured (the newest).

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::local_platform::workspace_binary;
use bluegreen_acceptance::harness::{announce, AppSocket, Load, Terraform, Workspace};

use crate::{bluegreen, destroy_and_check, Fixture, LOAD_BOUNDS};

/// Connections held from the start.
const HELD: usize = 1_000;
/// Emergency switches while they are held.
const SWITCHES: usize = 20;
/// Connections opened after each switch, each checked to reach the new colour.
const NEW_PER_SWITCH: usize = 5;
/// The environment's drain: longer than the 20 switches take apart, so both colours
/// keep their connections until the last one.
const DRAIN_SECONDS: u64 = 12;
/// Threads that open and check the connections.
const WORKERS: usize = 10;

/// An open connection and the release it must keep answering from.
struct Held {
    socket: AppSocket,
    color: String,
    version: String,
}

/// The connections, split among the workers.
struct Pool(Vec<Mutex<Vec<Held>>>);

impl Pool {
    fn new() -> Pool {
        Pool((0..WORKERS).map(|_| Mutex::new(Vec::new())).collect())
    }

    /// Opens `n` connections (spread over the workers); each must land on `color`
    /// running `version`.
    fn open(&self, base: &str, n: usize, color: &str, version: &str) {
        std::thread::scope(|s| {
            for (w, slot) in self.0.iter().enumerate() {
                let count = n / WORKERS + usize::from(w < n % WORKERS);
                s.spawn(move || {
                    let mut opened = Vec::with_capacity(count);
                    for _ in 0..count {
                        let mut socket = AppSocket::open(base, &[])
                            .unwrap_or_else(|e| panic!("opening a WebSocket: {e}"));
                        assert_eq!(socket.color, color, "a new WebSocket's colour header");
                        let answer = socket.version().expect("first answer");
                        assert_eq!(
                            answer,
                            (version.to_string(), color.to_string()),
                            "a new WebSocket reached another release"
                        );
                        opened.push(Held {
                            socket,
                            color: color.to_string(),
                            version: version.to_string(),
                        });
                    }
                    slot.lock().unwrap().extend(opened);
                });
            }
        });
    }

    /// Asks every connection for its release: `(answered as before, on color)` and
    /// the failures, as "colour: error".
    fn sweep(&self) -> (usize, Vec<String>) {
        std::thread::scope(|s| {
            let workers: Vec<_> = self
                .0
                .iter()
                .map(|slot| {
                    s.spawn(move || {
                        let mut held = slot.lock().unwrap();
                        let (mut ok, mut failed) = (0, Vec::new());
                        for h in held.iter_mut() {
                            match h.socket.version() {
                                Ok(answer) if answer == (h.version.clone(), h.color.clone()) => {
                                    ok += 1
                                }
                                Ok(other) => {
                                    failed.push(format!("{}: answered {other:?}", h.color))
                                }
                                Err(e) => failed.push(format!("{}: {e}", h.color)),
                            }
                        }
                        (ok, failed)
                    })
                })
                .collect();
            workers
                .into_iter()
                .fold((0, Vec::new()), |(ok, mut failed), w| {
                    let (o, f) = w.join().expect("sweep worker");
                    failed.extend(f);
                    (ok + o, failed)
                })
        })
    }

    fn count(&self, color: &str) -> usize {
        self.0
            .iter()
            .map(|slot| {
                slot.lock()
                    .unwrap()
                    .iter()
                    .filter(|h| h.color == color)
                    .count()
            })
            .sum()
    }
}

#[test]
fn a_thousand_websockets_survive_twenty_switches_and_are_cut_only_at_the_drain_deadline() {
    // The front door under test is the daemon's, not Terraform's: one CLI is enough.
    let tf = &Terraform::all()[0];
    {
        let test = "websocket_scale";
        let fx = Fixture::new(test, tf, "wsscale");
        let ws = Workspace::new(test, tf, &bluegreen());
        let drain = format!("drain_timeout = \"{DRAIN_SECONDS}s\"");
        let config = |version: &str| {
            fx.config(
                &fx.env(version)
                    .hcl()
                    .replace("drain_timeout = \"1s\"", &drain),
            )
        };
        // Blue runs 1.2.0, green 1.3.0 (live); the previous colour keeps running.
        ws.write_config(&config("1.2.0"));
        ws.init();
        ws.apply();
        ws.write_config(&config("1.3.0"));
        ws.apply();
        let front = fx.front_door();
        front.assert_serves(3, "1.3.0", "green");
        let release = |color: &str| if color == "blue" { "1.2.0" } else { "1.3.0" };
        let switch = |color: &str| {
            let out = Command::new(workspace_binary("bluegreen-local"))
                .args([
                    "switch",
                    &fx.name,
                    color,
                    "-m",
                    "acceptance: websocket scale",
                ])
                .arg("--endpoint")
                .arg(fx.daemon.endpoint())
                .arg("--state-dir")
                .arg(fx.daemon.state_dir())
                .output()
                .expect("run bluegreen-local switch");
            assert!(
                out.status.success(),
                "bluegreen-local switch {color} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Instant::now()
        };

        // Half on green; then blue is live and gets the other half.
        let pool = Pool::new();
        let opening = Instant::now();
        pool.open(&front.base, HELD / 2, "green", "1.3.0");
        switch("blue");
        pool.open(&front.base, HELD / 2, "blue", "1.2.0");
        let opened_in = opening.elapsed();

        let load = Load::start(&front.url("/api/version"), 2, LOAD_BOUNDS);
        let mut live = "blue";
        let mut last_switch = Instant::now();
        let mut slowest_sweep = Duration::ZERO;
        for n in 1..=SWITCHES {
            live = if live == "blue" { "green" } else { "blue" };
            last_switch = switch(live);
            pool.open(&front.base, NEW_PER_SWITCH, live, release(live));
            let started = Instant::now();
            let (ok, failed) = pool.sweep();
            slowest_sweep = slowest_sweep.max(started.elapsed());
            assert!(
                failed.is_empty(),
                "after switch {n} to {live}: {} of {} WebSockets failed before any drain deadline, e.g. {:?}",
                failed.len(),
                ok + failed.len(),
                &failed[..failed.len().min(5)]
            );
            assert!(
                last_switch.elapsed() < Duration::from_secs(DRAIN_SECONDS) / 2,
                "switch {n} and its checks took {:?}: too slow for a {DRAIN_SECONDS}s drain to prove anything",
                last_switch.elapsed()
            );
        }
        let summary = load.stop();
        assert_eq!(summary.failed(), 0, "HTTP requests failed: {summary}");
        assert!(summary.sent() > 100, "the load sent too little: {summary}");

        // The retired colour keeps its connections until its deadline...
        let retired = if live == "blue" { "green" } else { "blue" };
        let (on_live, on_retired) = (pool.count(live), pool.count(retired));
        let before_deadline = Duration::from_secs(DRAIN_SECONDS) - Duration::from_secs(3);
        std::thread::sleep(before_deadline.saturating_sub(last_switch.elapsed()));
        let (ok, failed) = pool.sweep();
        assert!(
            failed.is_empty() && ok == on_live + on_retired,
            "{}s after the last switch, before the {DRAIN_SECONDS}s drain: {} failed, e.g. {:?}",
            last_switch.elapsed().as_secs(),
            failed.len(),
            &failed[..failed.len().min(5)]
        );
        // ...and then the front door closes every one of them; the live colour's stay.
        let after_deadline = Duration::from_secs(DRAIN_SECONDS) + Duration::from_secs(3);
        std::thread::sleep(after_deadline.saturating_sub(last_switch.elapsed()));
        let (ok, failed) = pool.sweep();
        assert_eq!(
            ok, on_live,
            "connections on the live colour {live} after the deadline"
        );
        assert_eq!(failed.len(), on_retired, "{failed:?}");
        assert!(
            failed
                .iter()
                .all(|f| f.starts_with(&format!("{retired}: "))),
            "a connection on {live} failed: {:?}",
            failed.iter().find(|f| f.starts_with(&format!("{live}: ")))
        );
        let status = fx
            .daemon
            .api()
            .get(&format!("/v1/environments/{}", fx.name))
            .expect("environment status");
        let colors = &status["colors"];
        assert_eq!(colors[retired]["open_tunnels"], 0, "{status}");
        assert_eq!(
            colors[retired]["tunnels_cut"], on_retired as u64,
            "{status}"
        );
        assert_eq!(colors[live]["open_tunnels"], on_live as u64, "{status}");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {HELD} WebSockets opened in {opened_in:.1?}, {} more after the switches; all held across {SWITCHES} switches (slowest check of all {:.1?}) beside {} HTTP requests (0 failed); {on_retired} on {retired} cut at the {DRAIN_SECONDS}s deadline, {on_live} on {live} open",
            tf.version_string(),
            SWITCHES * NEW_PER_SWITCH,
            slowest_sweep,
            summary.sent(),
        ));
        drop(pool);
        destroy_and_check(&ws, &fx);
    }
}
