//! Traffic switching through the front door, with real processes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_local::api::{Canary, Color, ConnectionCounts, RoutingUpdate, StopRequest};
use common::{get, http, Daemon};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_many_times_under_load_fails_no_request() {
    let d = Daemon::start().await;
    let port = d.define("shop", &[]).await;
    d.deploy("shop", Color::Blue, "1.2.0").await;
    d.deploy("shop", Color::Green, "1.3.0").await;
    d.route("shop", Color::Blue).await;

    let url = format!("http://127.0.0.1:{port}/api/version");
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (url, stop) = (url.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let client = http();
            let mut seen = Vec::new();
            // Bounded: at most 1,000 requests per worker.
            while seen.len() < 1000 && !stop.load(Ordering::Relaxed) {
                seen.push(get(&client, &url, &[]).await);
            }
            seen
        }));
    }
    // 30 switches spread over the load.
    let mut color = Color::Blue;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(40)).await;
        color = color.other();
        d.route("shop", color).await;
    }
    assert_eq!(color, Color::Blue, "even number of switches ends on blue");
    d.route("shop", Color::Green).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);

    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let failed: Vec<_> = all.iter().filter(|s| s.status != 200).collect();
    assert!(all.len() >= 2000, "only {} requests were sent", all.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed, e.g. {:?}",
        failed.len(),
        all.len(),
        failed.first()
    );
    let blue = all
        .iter()
        .filter(|s| s.color.as_deref() == Some("blue"))
        .count();
    let green = all
        .iter()
        .filter(|s| s.color.as_deref() == Some("green"))
        .count();
    assert!(
        blue > 0 && green > 0,
        "both colours served: blue {blue}, green {green}"
    );
    for s in &all {
        let expected = if s.color.as_deref() == Some("green") {
            "1.3.0"
        } else {
            "1.2.0"
        };
        assert!(
            s.body.contains(expected),
            "colour header and body disagree: {s:?}"
        );
    }

    // After the last switch, every response comes from green 1.3.0.
    let client = http();
    for _ in 0..200 {
        let s = get(&client, &url, &[]).await;
        assert_eq!(s.status, 200);
        assert_eq!(s.color.as_deref(), Some("green"));
        assert!(s.body.contains("\"1.3.0\""), "{}", s.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_stick_to_one_colour_and_weight_splits_the_rest() {
    let d = Daemon::start().await;
    let port = d.define("tenants", &[]).await;
    d.deploy("tenants", Color::Blue, "1.2.0").await;
    d.deploy("tenants", Color::Green, "1.3.0").await;
    d.client()
        .set_routing(
            "tenants",
            &RoutingUpdate {
                primary: Some(Color::Blue),
                canary: Some(Canary {
                    color: Color::Green,
                    weight: 20,
                    // Listed in another case than requests send it: ids compare
                    // case-insensitively, as on Azure.
                    tenants: vec!["Pilot-Tenant-ID".into()],
                }),
                action: Some(bluegreen_local::api::RoutingAction::Route),
                ..Default::default()
            },
        )
        .await
        .expect("canary routing");

    let url = format!("http://127.0.0.1:{port}/api/orders");
    let client = http();
    for _ in 0..100 {
        let pilot = get(&client, &url, &[("X-Tenant-ID", "pilot-tenant-id")]).await;
        assert_eq!(
            pilot.color.as_deref(),
            Some("green"),
            "pilot tenant on the canary"
        );
        let shouted = get(&client, &url, &[("X-Tenant-ID", "PILOT-TENANT-ID")]).await;
        assert_eq!(shouted.color.as_deref(), Some("green"), "in any case");
        let other = get(&client, &url, &[("x-tenant-id", "acme")]).await;
        assert_eq!(
            other.color.as_deref(),
            Some("blue"),
            "other tenants never see the canary"
        );
    }
    let mut green = 0;
    for _ in 0..1000 {
        let s = get(&client, &url, &[]).await;
        assert_eq!(s.status, 200);
        if s.color.as_deref() == Some("green") {
            green += 1;
        }
    }
    // 20% of 1,000: binomial sd is ~13, so 140..260 is a > 4 sd band.
    assert!(
        (140..=260).contains(&green),
        "canary share {green}/1000, expected ~200"
    );

    // The front door's metrics saw both colours.
    let m = d
        .client()
        .metrics("tenants", Color::Green, None, None)
        .await
        .expect("metrics");
    assert_eq!(
        m.requests,
        200 + green,
        "100 pilot requests in each case, and the untagged share"
    );
    assert_eq!(m.errors_5xx, 0);
    assert!(m.p99_ms.is_some_and(|p| p > 0.0 && p < 1000.0), "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_retired_colour_drains_in_flight_requests() {
    let d = Daemon::start().await;
    let port = d.define("slow", &["--latency-ms", "1500"]).await;
    d.deploy("slow", Color::Blue, "1.0.0").await;
    d.deploy("slow", Color::Green, "2.0.0").await;
    d.route("slow", Color::Blue).await;

    let url = format!("http://127.0.0.1:{port}/api/version");
    let slow = tokio::spawn(async move { get(&http(), &url, &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.route("slow", Color::Green).await;

    let client = d.client();
    let env = client.get_environment("slow").await.expect("status");
    assert_eq!(
        env.colors.blue.in_flight, 1,
        "the slow request is still on blue"
    );
    let blue_pid = env.colors.blue.pid.expect("blue pid");

    let started = Instant::now();
    let stopped = client
        .stop("slow", Color::Blue, &StopRequest::default())
        .await
        .expect("stop blue");
    let waited = started.elapsed();

    let seen = slow.await.expect("slow request");
    assert_eq!(seen.status, 200, "in-flight request finished: {seen:?}");
    assert_eq!(
        seen.color.as_deref(),
        Some("blue"),
        "on the colour it started on"
    );
    assert!(seen.body.contains("1.0.0"));
    assert!(
        waited >= Duration::from_millis(800),
        "stop waited for the drain ({waited:?})"
    );
    assert_eq!(stopped.status, bluegreen_local::api::ProcessStatus::Stopped);
    assert!(
        !std::path::Path::new(&format!("/proc/{blue_pid}")).exists() || {
            let stat =
                std::fs::read_to_string(format!("/proc/{blue_pid}/stat")).unwrap_or_default();
            stat.contains(") Z")
        },
        "blue process is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_door_without_live_colour_answers_503_and_dead_colour_502() {
    let d = Daemon::start().await;
    let port = d.define("empty", &[]).await;
    let url = format!("http://127.0.0.1:{port}/api/orders");
    let s = get(&http(), &url, &[]).await;
    assert_eq!(s.status, 503);
    assert!(s.body.contains("no live colour"), "{}", s.body);

    d.deploy("empty", Color::Blue, "1.0.0").await;
    d.route("empty", Color::Blue).await;
    let pid = d
        .client()
        .get_environment("empty")
        .await
        .expect("status")
        .colors
        .blue
        .pid
        .expect("pid");
    // Kill the live colour behind the daemon's back: users get a clear 502, not a hang.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = get(&http(), &url, &[]).await;
    assert_eq!(s.status, 502, "{s:?}");
    assert_eq!(s.color.as_deref(), Some("blue"));
    assert!(s.body.contains("colour blue"), "{}", s.body);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The demo app's `/ws` through the daemon's front door (tokio-tungstenite as the
/// client): the version a tunnel reaches, and the status API's tunnel counts.
async fn ws_version(port: u16) -> (Ws, String) {
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let version = ws_ask(&mut ws).await;
    (ws, version)
}

async fn ws_ask(ws: &mut Ws) -> String {
    ws.send(Message::text("version")).await.expect("send");
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => t.as_str().to_owned(),
        other => panic!("no answer to `version`: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_stays_on_its_colour_across_a_switch_and_stop_waits_for_it() {
    let d = Daemon::start().await;
    let port = d.define("ws", &[]).await;
    d.deploy("ws", Color::Blue, "1.2.0").await;
    d.deploy("ws", Color::Green, "1.3.0").await;
    d.route("ws", Color::Blue).await;

    let (mut old, version) = ws_version(port).await;
    assert!(
        version.contains("\"1.2.0\"") && version.contains("blue"),
        "{version}"
    );
    d.route("ws", Color::Green).await;
    let (_new, version) = ws_version(port).await;
    assert!(
        version.contains("\"1.3.0\"") && version.contains("green"),
        "{version}"
    );
    // The old tunnel still reaches blue within the drain (10 s here).
    assert!(ws_ask(&mut old).await.contains("\"1.2.0\""));
    let c = d.client();
    let env = c.get_environment("ws").await.expect("status");
    assert_eq!(
        (env.colors.blue.open_tunnels, env.colors.green.open_tunnels),
        (1, 1)
    );
    assert_eq!(
        (
            env.colors.blue.upgrades_accepted,
            env.colors.blue.upgrades_refused
        ),
        (1, 0)
    );
    assert_eq!(
        (
            env.colors.blue.open_connections,
            env.colors.green.open_connections
        ),
        (1, 1),
        "a tunnel is a connection busy with its colour"
    );
    // The metrics API carries the same connections beside the window's figures.
    let metrics = c
        .metrics("ws", Color::Blue, None, None)
        .await
        .expect("metrics of blue");
    assert_eq!(
        metrics.connections,
        ConnectionCounts {
            open_connections: 1,
            open_tunnels: 1,
            upgrades_accepted: 1,
            upgrades_refused: 0,
            tunnels_drained: 0,
            tunnels_cut: 0,
        }
    );
    // People see the same: `bluegreen-local status` and the dashboard.
    let row = status_row(&d, "ws", "blue").await;
    assert!(
        row.contains(
            "idle                 1           1 open, 0 drained, 0 cut   1 accepted, 0 refused"
        ),
        "connections, tunnels and upgrades of blue: {row}"
    );
    assert!(
        dashboard_row(&d, "blue")
            .await
            .ends_with("<td>0</td><td>1</td><td>1 / 0 / 0</td><td>1 / 0</td></tr>"),
        "in flight, open connections, tunnels and upgrades of blue on the page"
    );

    // Stopping blue waits for its tunnel; the client ends it after 500 ms.
    let closer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        old.close(None).await.expect("close");
        while let Some(Ok(_)) = old.next().await {}
    });
    let started = Instant::now();
    c.stop("ws", Color::Blue, &StopRequest::default())
        .await
        .expect("stop blue");
    let waited = started.elapsed();
    closer.await.expect("closer");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(9),
        "stop waited {waited:?} for a tunnel closed after 500 ms"
    );
    let blue = c.get_environment("ws").await.expect("status").colors.blue;
    assert_eq!(
        (blue.open_tunnels, blue.tunnels_drained, blue.tunnels_cut),
        (0, 1, 0)
    );
    let row = status_row(&d, "ws", "blue").await;
    assert!(
        row.contains(" 0           0 open, 1 drained, 0 cut   1 accepted, 0 refused"),
        "{row}"
    );
    let audit = c.audit(Some("ws"), None).await.expect("audit");
    let stop = audit
        .iter()
        .rev()
        .find(|e| e.action == bluegreen_local::api::AuditAction::Stop)
        .expect("the stop is audited");
    assert!(
        stop.message.ends_with(
            "; WebSocket tunnels since the switch: 1 drained, 0 cut at the drain deadline"
        ),
        "{}",
        stop.message
    );
}

/// The row of `color` in what `bluegreen-local status ENV` prints.
async fn status_row(d: &Daemon, env: &str, color: &str) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"))
        .arg("status")
        .arg(env)
        .arg("--state-dir")
        .arg(d.state_dir())
        .arg("--endpoint")
        .arg(d.endpoint())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("status finishes")
        .expect("running bluegreen-local status");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("COLOR"))
        .unwrap_or_else(|| panic!("a colour table: {stdout}"));
    for column in ["CONNECTIONS", "TUNNELS", "UPGRADES"] {
        assert!(header.contains(column), "{header}");
    }
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{color} ")))
        .unwrap_or_else(|| panic!("a {color} row: {stdout}"))
        .to_owned()
}

/// The row of `color` in the page's colour table.
async fn dashboard_row(d: &Daemon, color: &str) -> String {
    let token = std::fs::read_to_string(d.state_dir().join("token")).expect("token");
    let auth = format!("Bearer {}", token.trim());
    let page = get(
        &http(),
        &format!("{}/", d.endpoint()),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for column in ["open connections", "upgrades (accepted / refused)"] {
        assert!(
            page.body.contains(&format!("<th>{column}</th>")),
            "{}",
            page.body
        );
    }
    let cell = format!("<td class=\"{color}\">{color}</td>");
    let start = page
        .body
        .find(&cell)
        .unwrap_or_else(|| panic!("{}", page.body));
    let end = start + page.body[start..].find("</tr>").expect("row end") + "</tr>".len();
    page.body[start..end].to_owned()
}

/// A routing write is durable before it is effective, and shown only once effective:
/// while the state file's save hangs (a FIFO at its temp path blocks the writer's
/// `open`, as a stalled disk would), status and the front door keep the old table;
/// when the save then fails (a FIFO cannot be fsynced), nothing changed; once the disk
/// is fine, the switch goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_write_is_shown_only_once_it_is_saved_and_in_force() {
    let d = Daemon::start().await;
    let port = d.define("shop", &[]).await;
    d.deploy("shop", Color::Blue, "1.2.0").await;
    d.deploy("shop", Color::Green, "1.3.0").await;
    let before = d.route("shop", Color::Blue).await;
    let daemon_pid = d.child.as_ref().expect("daemon").id();
    let version = |port: u16| async move {
        get(
            &http(),
            &format!("http://127.0.0.1:{port}/api/version"),
            &[],
        )
        .await
    };

    // The deploys' late notices may still save the state: wait until it is quiet,
    // so the switch's save is the one the FIFO stalls.
    let state = d.state_dir().join("state.json");
    let modified = || std::fs::metadata(&state).and_then(|m| m.modified()).ok();
    let (mut last, mut quiet_since, start) = (modified(), Instant::now(), Instant::now());
    while quiet_since.elapsed() < Duration::from_secs(1) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "state.json never settled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        if modified() != last {
            (last, quiet_since) = (modified(), Instant::now());
        }
    }
    let tmp = d.state_dir().join("state.json.tmp");
    let c_path = std::ffi::CString::new(tmp.to_str().expect("utf-8 path")).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let client = d.client();
    let switch = tokio::spawn(async move {
        client
            .set_routing(
                "shop",
                &RoutingUpdate {
                    primary: Some(Color::Green),
                    actor: Some("test".into()),
                    ..Default::default()
                },
            )
            .await
    });
    // The stall is real once a daemon thread waits in the FIFO's open for a reader.
    let start = Instant::now();
    while !stalled_on_a_fifo(daemon_pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the switch's save never reached the FIFO"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!switch.is_finished(), "the save is stalled on the FIFO");
    let status = d.client().get_environment("shop").await.expect("status");
    assert_eq!(
        (status.routing.primary, status.routing.revision),
        (Some(Color::Blue), before),
        "while the write is not saved, status shows the table in force"
    );
    let seen = version(port).await;
    assert_eq!(seen.color.as_deref(), Some("blue"), "{seen:?}");

    // Let every writer through (the switch's save, and its restoring save after
    // the failure): each writes into the FIFO, whose fsync fails. The reader ends
    // once the FIFO is removed; one left waiting in `open` is abandoned.
    let reader_path = tmp.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        while let Ok(mut f) = std::fs::File::open(&reader_path) {
            let mut sink = Vec::new();
            let _ = f.read_to_end(&mut sink);
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(10), switch)
        .await
        .expect("the switch answers once the save ends")
        .expect("task");
    let err = answer.expect_err("a save that failed is a failed switch");
    assert!(err.to_string().contains("state"), "{err}");
    let status = d.client().get_environment("shop").await.expect("status");
    assert_eq!(
        (status.routing.primary, status.routing.revision),
        (Some(Color::Blue), before),
        "a switch that could not be saved never took effect"
    );
    let seen = version(port).await;
    assert_eq!(seen.color.as_deref(), Some("blue"), "{seen:?}");

    std::fs::remove_file(&tmp).expect("removing the FIFO");
    let after = d.route("shop", Color::Green).await;
    assert!(after > before);
    let seen = version(port).await;
    assert_eq!(seen.color.as_deref(), Some("green"), "{seen:?}");
}

/// Whether a thread of `pid` waits in a FIFO's `open` for the other end
/// (`wait_for_partner` in Linux's fs/pipe.c).
fn stalled_on_a_fifo(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("wchan"))
            .is_ok_and(|w| w.trim() == "wait_for_partner")
    })
}
