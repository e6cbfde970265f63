//! Restarting, upgrading and stopping the daemon, with real processes and load:
//! SIGTERM leaves the colours running for the next daemon to adopt, `serve --takeover`
//! upgrades without failing a request, and `bluegreen-local stop` stops everything.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_local::api::{Color, EnvironmentStatus, ProcessStatus};
use bluegreen_local::client::Client;
use bluegreen_local::process::procfs;
use common::{get, http, Daemon, Seen};
use tokio::task::JoinHandle;

/// Pause between two requests of one load connection: enough load to hit every phase of
/// a handover without starving a shared machine.
const LOAD_PAUSE: Duration = Duration::from_millis(5);

/// What the load saw.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    /// Failed requests: (ms since the load started, what the client saw).
    failed: Vec<(u128, String)>,
    versions: std::collections::BTreeSet<String>,
}

/// A bounded closed-loop load on the front door: `keep_alive` connections that each send
/// the next request when the last one answered, and `fresh` loops that open a new
/// connection per request (`Connection: close`).
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<Tally>>,
}

impl Load {
    fn start(url: &str, keep_alive: usize, fresh: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let began = Instant::now();
        let tasks = (0..keep_alive + fresh)
            .map(|i| {
                let (stop, url) = (stop.clone(), url.to_owned());
                let close = i >= keep_alive;
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    let mut client = http();
                    // Bounded: the test stops the load long before this.
                    let limit = Instant::now() + Duration::from_secs(120);
                    while !stop.load(Ordering::SeqCst) && Instant::now() < limit {
                        if close {
                            client = http();
                        }
                        let headers: &[(&str, &str)] = if close {
                            &[("connection", "close")]
                        } else {
                            &[]
                        };
                        let seen: Seen = get(&client, &url, headers).await;
                        if seen.status == 200 {
                            tally.ok += 1;
                            tally.versions.insert(seen.body.clone());
                        } else {
                            tally.failed.push((
                                began.elapsed().as_millis(),
                                format!("HTTP {}: {}", seen.status, seen.body),
                            ));
                        }
                        tokio::time::sleep(LOAD_PAUSE).await;
                    }
                    tally
                })
            })
            .collect();
        Load { stop, tasks }
    }

    async fn finish(self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Tally::default();
        for task in self.tasks {
            let t = task.await.expect("load task");
            all.ok += t.ok;
            all.failed.extend(t.failed);
            all.versions.extend(t.versions);
        }
        all.failed.sort();
        all
    }
}

/// Both colours running the demo app, green (1.3.0) live; the front door port.
async fn two_colours(d: &Daemon) -> u16 {
    let port = d.define("api", &[]).await;
    d.deploy("api", Color::Blue, "1.2.0").await;
    d.deploy("api", Color::Green, "1.3.0").await;
    d.route("api", Color::Green).await;
    port
}

fn pids(env: &EnvironmentStatus) -> [Option<u32>; 2] {
    [env.colors.blue.pid, env.colors.green.pid]
}

/// A daemon taken out of the harness's hands, killed if the test fails before it exits.
struct Leaving(std::process::Child);

impl Drop for Leaving {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

async fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "daemon {} did not exit within {limit:?}",
            child.id()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_colours_running_and_the_next_daemon_adopts_them() {
    let mut d = Daemon::start().await;
    let port = two_colours(&d).await;
    let before = d.client().get_environment("api").await.expect("status");
    let url = format!("http://127.0.0.1:{port}/api/version");
    let load = Load::start(&url, 2, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let restart = Instant::now();
    d.terminate();
    let exited = restart.elapsed();
    for pid in pids(&before).into_iter().flatten() {
        assert!(
            procfs::is_alive(pid),
            "colour {pid} keeps running after SIGTERM of the daemon:\n{}",
            d.log()
        );
    }
    d.spawn().await;
    let gap = restart.elapsed();
    let after = d.client().get_environment("api").await.expect("status");
    assert_eq!(
        pids(&after),
        pids(&before),
        "colours adopted, not restarted"
    );
    assert_eq!(after.routing.revision, before.routing.revision);
    assert_eq!(after.live_version.as_deref(), Some("1.3.0"));
    let s = get(&http(), &url, &[]).await;
    assert_eq!(
        (s.status, s.color.as_deref()),
        (200, Some("green")),
        "{s:?}"
    );
    assert!(s.body.contains("1.3.0"), "{s:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tally = load.finish().await;
    eprintln!(
        "restart: daemon exited {exited:?} after SIGTERM, serving again after {gap:?}; {} requests answered, {} failed in the gap: {:?}",
        tally.ok,
        tally.failed.len(),
        tally.failed.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        tally
            .failed
            .iter()
            .all(|(_, why)| !why.starts_with("HTTP 5")),
        "the gap refuses connections; no request is answered with an error: {:?}",
        tally.failed
    );
    assert!(tally.ok > 0);

    // An adopted process is still supervised: killed, it is started again.
    let blue = before.colors.blue.pid.expect("blue pid");
    unsafe { libc::kill(-(blue as i32), libc::SIGKILL) };
    let client = d.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    let restarted = loop {
        let c = client
            .get_environment("api")
            .await
            .expect("status")
            .colors
            .blue;
        d.track(c.pid);
        if c.status == ProcessStatus::Running && c.pid.is_some() && c.pid != Some(blue) {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "adopted blue not restarted: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(restarted.restarts, before.colors.blue.restarts + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_upgrades_the_daemon_under_load_without_a_failed_request() {
    let mut d = Daemon::start().await;
    let port = two_colours(&d).await;
    let before = d.client().get_environment("api").await.expect("status");
    let anonymous = Client::new(&d.endpoint(), None).expect("client");
    let old_pid = anonymous.health().await.expect("health").pid;
    let url = format!("http://127.0.0.1:{port}/api/version");
    let load = Load::start(&url, 3, 2);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let upgrade = Instant::now();
    let mut old = Leaving(d.child.take().expect("old daemon"));
    let new = d
        .serve_command()
        .arg("--takeover")
        .spawn()
        .expect("spawning the new daemon");
    let new_pid = new.id();
    d.child = Some(new);
    let deadline = Instant::now() + Duration::from_secs(30);
    while anonymous.health().await.map(|h| h.pid).ok() != Some(new_pid) {
        assert!(
            Instant::now() < deadline,
            "the new daemon does not answer:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let serving = upgrade.elapsed();
    let old_exit = wait_exit(&mut old.0, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.finish().await;
    eprintln!(
        "upgrade: new daemon answered after {serving:?}, old one (pid {old_pid}) exited {old_exit:?} after that; {} requests answered, {} failed",
        tally.ok,
        tally.failed.len()
    );
    assert!(
        tally.failed.is_empty(),
        "no request fails during an upgrade: {:?}\n{}",
        tally.failed,
        d.log()
    );
    assert!(tally.ok > 100, "the load ran: {}", tally.ok);
    assert!(
        tally.versions.iter().all(|v| v.contains("1.3.0")),
        "{:?}",
        tally.versions
    );

    let after = d.client().get_environment("api").await.expect("status");
    assert_eq!(
        pids(&after),
        pids(&before),
        "colours adopted, not restarted"
    );
    assert_eq!(after.routing.revision, before.routing.revision);
    // The new daemon is in charge: it changes routing, and upgrades again.
    d.route("api", Color::Blue).await;
    let s = get(&http(), &url, &[]).await;
    assert!(s.body.contains("1.2.0"), "{s:?}");
    assert!(
        d.log()
            .contains(&format!("handing the sockets over to pid {new_pid}")),
        "{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_command_stops_every_colour_and_the_daemon() {
    let mut d = Daemon::start().await;
    let port = two_colours(&d).await;
    let before = d.client().get_environment("api").await.expect("status");
    let (state_dir, endpoint) = (d.state_dir(), d.endpoint());
    let stop = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
            .arg("stop")
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--endpoint")
            .arg(&endpoint)
            .env("USER", "oncall")
            .output()
    };
    let out = tokio::time::timeout(Duration::from_secs(60), stop())
        .await
        .expect("stop finishes")
        .expect("running bluegreen-local stop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stopped api/blue (1.2.0)"), "{stdout}");
    assert!(stdout.contains("stopped api/green (1.3.0)"), "{stdout}");
    let mut child = Leaving(d.child.take().expect("daemon"));
    wait_exit(&mut child.0, Duration::from_secs(30)).await;
    for pid in pids(&before).into_iter().flatten() {
        assert!(!procfs::is_alive(pid), "colour {pid} was stopped");
    }
    let front = get(&http(), &format!("http://127.0.0.1:{port}/"), &[]).await;
    assert_eq!(front.status, 0, "front door closed: {front:?}");
    let audit = std::fs::read_to_string(d.state_dir().join("audit.log")).expect("audit log");
    for colour in ["blue", "green"] {
        assert!(
            audit.lines().any(|l| l.contains("\"action\":\"stop\"")
                && l.contains("cli:oncall")
                && l.contains(&format!("\"from_color\":\"{colour}\""))),
            "stop of {colour} audited under the operator's name:\n{audit}"
        );
    }
    // Nothing left to stop: says so and succeeds.
    let again = stop().await.expect("running bluegreen-local stop");
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to stop"),
        "{again:?}"
    );

    // The deployments stay recorded: the next daemon starts them again.
    d.spawn().await;
    let c = d
        .client()
        .wait_running("api", Color::Green, Duration::from_secs(20))
        .await
        .expect("green started again");
    d.track(c.pid);
    assert_ne!(c.pid, before.colors.green.pid);
    let s = get(
        &http(),
        &format!("http://127.0.0.1:{port}/api/version"),
        &[],
    )
    .await;
    assert_eq!(s.status, 200, "{s:?}");
    assert!(s.body.contains("1.3.0"), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_without_a_daemon_stops_the_colours_a_sigterm_left_running() {
    let mut d = Daemon::start().await;
    two_colours(&d).await;
    let before = d.client().get_environment("api").await.expect("status");
    d.terminate();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .arg("stop")
        .arg("--state-dir")
        .arg(d.state_dir())
        .arg("--endpoint")
        .arg(d.endpoint())
        .env("USER", "oncall")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("stop finishes")
        .expect("running bluegreen-local stop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stopped api/blue (1.2.0)"), "{stdout}");
    assert!(stdout.contains("stopped api/green (1.3.0)"), "{stdout}");
    for pid in pids(&before).into_iter().flatten() {
        assert!(!procfs::is_alive(pid), "colour {pid} was stopped");
    }
    let audit = std::fs::read_to_string(d.state_dir().join("audit.log")).expect("audit log");
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"action\":\"stop\"") && l.contains("cli:oncall"))
            .count(),
        2,
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_that_never_serves_leaves_the_old_daemon_in_charge() {
    let d = Daemon::start().await;
    let port = two_colours(&d).await;
    let anonymous = Client::new(&d.endpoint(), None).expect("client");
    let pid = anonymous.health().await.expect("health").pid;
    let url = format!("http://127.0.0.1:{port}/api/version");
    let load = Load::start(&url, 2, 1);

    // A successor that takes the sockets, then dies before it serves.
    let (sockets, ready) = bluegreen_local::handover::request(&d.state_dir())
        .await
        .expect("the running daemon hands its sockets over");
    assert_eq!(sockets.front_doors.len(), 1, "{sockets:?}");
    assert!(sockets.admin.is_some());
    drop((sockets, ready));

    let deadline = Instant::now() + Duration::from_secs(20);
    while anonymous.health().await.map(|h| h.pid).ok() != Some(pid) {
        assert!(
            Instant::now() < deadline,
            "the old daemon serves its admin API again:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tally = load.finish().await;
    assert!(
        tally.failed.is_empty(),
        "the front door served throughout: {:?}",
        tally.failed
    );
    assert!(
        d.log().contains("did not take over"),
        "the old daemon says why it carries on:\n{}",
        d.log()
    );
    // Still in charge: it changes routing and persists it.
    let revision = d.route("api", Color::Blue).await;
    let s = get(&http(), &url, &[]).await;
    assert!(s.body.contains("1.2.0"), "{s:?}");
    let saved = bluegreen_local::state::store::Store::new(&d.state_dir())
        .load()
        .expect("state");
    assert_eq!(saved.environments["api"].routing.revision, revision);
}
