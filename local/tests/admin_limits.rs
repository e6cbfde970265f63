//! The admin API cannot be used to starve the front doors (issue 12, item 7): a client
//! without the token that opens more idle connections to the admin port than the
//! daemon has descriptors made every front door time out. Now the daemon raises its
//! descriptor limit, caps admin connections (refusing more with a 503), and closes
//! connections that stay idle or never finish their head.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use bluegreen_local::api::Color;
use common::{get, http, Daemon};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The daemon's soft descriptor limit as it starts (its hard limit is [`HARD_FILES`]):
/// low enough that the flood below exceeds it.
const SOFT_FILES: u64 = 256;
const HARD_FILES: u64 = 4096;
/// Idle connections opened to the admin port: more than [`SOFT_FILES`].
const FLOOD: usize = 400;
/// The admin connection cap the daemon gets.
const CAP: usize = 32;

fn limited(command: &mut Command) {
    command
        .env("BLUEGREEN_ADMIN_MAX_CONNECTIONS", CAP.to_string())
        .env("BLUEGREEN_ADMIN_IDLE_TIMEOUT", "2")
        .env("BLUEGREEN_ADMIN_HEADER_TIMEOUT", "2");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: SOFT_FILES as libc::rlim_t,
                rlim_max: HARD_FILES as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `Max open files` of process `pid`: (soft, hard).
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut words = line["Max open files".len()..].split_whitespace();
    (
        words.next().unwrap_or_default().to_owned(),
        words.next().unwrap_or_default().to_owned(),
    )
}

/// Waits up to `limit` for the server to close `stream`; what it sent first.
async fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Err(format!("still open after {limit:?}")),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One `GET /v1/health` on a fresh admin connection: the status, or why none came.
async fn admin_health(port: u16) -> Result<u16, String> {
    let exchange = async {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        text.get(9..12)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no status in {text:?}"))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| Err("no answer within 10 s".into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_flood_does_not_starve_the_front_doors() {
    let d = Daemon::start_configured(limited).await;
    let pid = d.child.as_ref().map(|c| c.id()).expect("daemon pid");
    let front = d.define("flood", &[]).await;
    d.deploy("flood", Color::Blue, "1.0.0").await;
    d.route("flood", Color::Blue).await;
    let url = format!("http://127.0.0.1:{front}/api/version");
    assert_eq!(get(&http(), &url, &[]).await.status, 200);

    // Anyone who can reach the admin port, token or not, opens connections and sends
    // nothing.
    let mut flood = Vec::with_capacity(FLOOD);
    let flood_started = Instant::now();
    let mut saturated = None;
    for i in 0..FLOOD {
        match tokio::time::timeout(
            Duration::from_secs(2),
            TcpStream::connect(("127.0.0.1", d.admin_port)),
        )
        .await
        {
            Ok(Ok(s)) => flood.push(s),
            // The daemon stopped accepting (what it did when out of descriptors).
            other => {
                saturated = Some(format!("admin connection {i} of the flood: {other:?}"));
                break;
            }
        }
    }

    // The front door answers, on a new connection.
    let seen = get(&http(), &url, &[]).await;
    assert_eq!(
        seen.status, 200,
        "the front door during the flood: {seen:?}"
    );
    assert_eq!(saturated, None, "the admin port stopped accepting");
    // The daemon raised its soft limit to the hard one at start, so the flood above
    // did not use up the descriptors the front door needed.
    assert_eq!(
        open_file_limits(pid),
        (HARD_FILES.to_string(), HARD_FILES.to_string()),
        "the daemon's open-file limit (soft, hard)"
    );
    // The admin API answers, or refuses cleanly while the cap is full.
    match admin_health(d.admin_port).await {
        Ok(200) | Ok(503) => {}
        other => panic!("the admin API during the flood: {other:?}"),
    }

    // Every flood connection is closed by the daemon: those over the cap at once with a
    // 503, the others once the idle timeout (2 s) has passed.
    let mut refused = 0;
    for (i, s) in flood.iter_mut().enumerate() {
        let sent = closed_by_server(s, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("flood connection {i}: {e}"));
        if sent.starts_with(b"HTTP/1.1 503 ") {
            refused += 1;
        } else {
            assert!(
                sent.is_empty(),
                "flood connection {i} got {:?}",
                String::from_utf8_lossy(&sent)
            );
            // Accepted after it connected, so closed no sooner than 2 s after that.
            assert!(
                flood_started.elapsed() >= Duration::from_millis(1900),
                "idle connection {i} closed after {:?}, before its idle timeout",
                flood_started.elapsed()
            );
        }
    }
    assert!(
        refused >= FLOOD - CAP,
        "{refused} of {FLOOD} connections were refused with a 503; the cap is {CAP}"
    );

    // A head that never ends is cut off too, after the header timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", d.admin_port))
        .await
        .expect("connect");
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: ad")
        .await
        .expect("half a head");
    let sent = closed_by_server(&mut slow, Duration::from_secs(30))
        .await
        .expect("a half-sent head is closed");
    assert!(
        sent.is_empty() || sent.starts_with(b"HTTP/1.1 4"),
        "{:?}",
        String::from_utf8_lossy(&sent)
    );

    // Once the flood is gone, the admin API serves everyone again.
    assert_eq!(admin_health(d.admin_port).await, Ok(200));
    assert_eq!(get(&http(), &url, &[]).await.status, 200);
}
