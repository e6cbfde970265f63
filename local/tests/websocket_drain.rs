//! WebSockets across switches: new upgrades follow the table at once, tunnels opened on
//! a colour that a switch retires stay open until they end or the environment's
//! `drain_timeout` passes (then the front door closes them), counted as drained or cut;
//! a colour routed again before its deadline keeps its tunnels. HTTP traffic beside
//! them never fails. Both ends of every WebSocket are `tokio-tungstenite`.

// Shared with the protocol tests, which use all of them.
#[allow(dead_code)]
#[path = "common/bounded.rs"]
mod bounded;
#[allow(dead_code)]
#[path = "common/listener.rs"]
mod listener;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_local::api::Color;
use bluegreen_local::frontdoor::routing::{RoutingTable, Target};
use bluegreen_local::frontdoor::FrontDoor;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use bounded::within;
use listener::{listen, Listening};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long tunnels of a retired colour may stay open in these tests.
const DRAIN: Duration = Duration::from_millis(1000);
/// Timers and closes take a few milliseconds on a loaded machine.
const SLACK: Duration = Duration::from_millis(100);

/// A colour as an application would be: plain HTTP answers its name; a WebSocket
/// upgrade echoes messages and answers `who` with its name.
async fn colour(name: &'static str) -> Listening {
    listen(move |_, stream| async move {
        let service = service_fn(move |req: Request<Incoming>| async move {
            let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
                return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(name))));
            };
            tokio::spawn(async move {
                let Ok(upgraded) = hyper::upgrade::on(req).await else {
                    return;
                };
                let mut ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                while let Some(Ok(msg)) = ws.next().await {
                    let reply = match msg {
                        Message::Text(t) if t.as_str() == "who" => Message::text(name),
                        Message::Text(_) | Message::Binary(_) => msg,
                        _ => continue,
                    };
                    if ws.send(reply).await.is_err() {
                        return;
                    }
                }
            });
            let switch = Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header("upgrade", "websocket")
                .header("connection", "upgrade")
                .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
                .body(Full::new(Bytes::new()))
                .expect("a 101");
            Ok(switch)
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await;
    })
    .await
}

struct Env {
    fd: FrontDoor,
    addr: SocketAddr,
    ports: [u16; 2],
}

impl Env {
    async fn start() -> (Env, Listening, Listening) {
        let (blue, green) = (colour("blue").await, colour("green").await);
        let fd = FrontDoor::new("drain", HeaderName::from_static("x-tenant-id"));
        fd.set_drain_timeout(DRAIN);
        let listener = FrontDoor::bind("127.0.0.1:0").await.expect("bind");
        fd.serve(listener).await;
        let addr = fd.local_addr().expect("listening");
        let env = Env {
            fd,
            addr,
            ports: [blue.port, green.port],
        };
        env.switch(Color::Blue);
        (env, blue, green)
    }

    /// Routes everything to `color`; returns when the table is in place.
    fn switch(&self, color: Color) -> Instant {
        let port = self.ports[color.index()];
        self.fd.install(RoutingTable {
            revision: 0,
            primary: Some(Target {
                color,
                port,
                host: HeaderValue::from_str(&format!("127.0.0.1:{port}")).expect("host"),
                header: HeaderValue::from_static(color.as_str()),
                stats: self.fd.stats(color).clone(),
            }),
            canary: None,
            tenant_header: HeaderName::from_static("x-tenant-id"),
        });
        Instant::now()
    }

    /// Opens `n` WebSockets; each must land on `expected` (header and application).
    async fn open(&self, n: usize, expected: &str) -> Vec<Client> {
        let mut all = Vec::new();
        for _ in 0..n {
            let url = format!("ws://{}/ws", self.addr);
            let (mut ws, answer) = within("handshake", tokio_tungstenite::connect_async(url))
                .await
                .expect("handshake");
            assert_eq!(
                answer
                    .headers()
                    .get("x-bluegreen-color")
                    .map(|v| v.as_bytes()),
                Some(expected.as_bytes())
            );
            assert_eq!(echo(&mut ws, "who").await, expected);
            all.push(ws);
        }
        all
    }

    fn counts(&self, color: Color) -> (u64, u64, u64) {
        let s = self.fd.stats(color);
        (
            s.tunnels.load(Ordering::SeqCst),
            s.retirement.drained.load(Ordering::SeqCst),
            s.retirement.cut.load(Ordering::SeqCst),
        )
    }
}

/// Sends `text` and returns the answer's text.
async fn echo(ws: &mut Client, text: &str) -> String {
    within("send", ws.send(Message::text(text)))
        .await
        .expect("the tunnel takes a message");
    match within("echo", ws.next()).await {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        other => panic!("no echo of {text:?}: {other:?}"),
    }
}

/// Checks every tunnel still echoes.
async fn all_echo(tunnels: &mut [Client], what: &str) {
    for (i, ws) in tunnels.iter_mut().enumerate() {
        let text = format!("{what} {i}");
        assert_eq!(echo(ws, &text).await, text, "{what}: tunnel {i}");
    }
}

/// Waits for each tunnel to be closed by the far side; when each closed.
async fn closed_at(tunnels: Vec<Client>) -> Vec<Instant> {
    let watchers: Vec<_> = tunnels
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let bound = DRAIN * 4;
                match tokio::time::timeout(bound, ws.next()).await {
                    Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => Instant::now(),
                    Ok(Some(Ok(other))) => panic!("unexpected message {other:?}"),
                    Err(_) => panic!("the tunnel was not closed within {bound:?}"),
                }
            })
        })
        .collect();
    let mut at = Vec::new();
    for w in watchers {
        at.push(w.await.expect("watcher"));
    }
    at
}

async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < bounded::STEP, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_outlive_a_switch_until_the_drain_deadline_and_new_ones_follow_the_table() {
    let (env, _blue, _green) = Env::start().await;

    // HTTP traffic all along: 4 keep-alive clients, at most 3,000 requests each.
    let stop = Arc::new(AtomicBool::new(false));
    let url: hyper::Uri = format!("http://{}/", env.addr).parse().expect("url");
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, url) = (stop.clone(), url.clone());
            tokio::spawn(async move {
                let client = HttpClient::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
                let (mut ok, mut failed) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) && ok < 3000 {
                    match client.get(url.clone()).await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.into_body().collect().await;
                            ok += 1;
                        }
                        Ok(r) => failed.push(format!("HTTP {}", r.status())),
                        Err(e) => failed.push(e.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                (ok, failed)
            })
        })
        .collect();

    // 20 tunnels on blue, then blue is switched away from.
    let mut on_blue = env.open(20, "blue").await;
    let switched = env.switch(Color::Green);
    // New connections follow the table at once; old ones keep working.
    let mut on_green = env.open(20, "green").await;
    all_echo(&mut on_blue, "blue after the switch").await;
    // Five end on their own within the drain: drained, not cut.
    for mut ws in on_blue.drain(..5) {
        ws.close(None).await.expect("close");
        while let Some(Ok(_)) = within("close answer", ws.next()).await {}
    }
    // The other fifteen are closed at the deadline, not before.
    let ends = closed_at(on_blue).await;
    for end in &ends {
        let after = end.duration_since(switched);
        assert!(
            after + SLACK >= DRAIN && after < DRAIN * 3,
            "a blue tunnel ended {after:?} after the switch, the drain is {DRAIN:?}"
        );
    }
    eventually("blue's tunnels are counted", || {
        env.counts(Color::Blue) == (0, 5, 15)
    })
    .await;

    // Back to blue: green's tunnels now drain, but a switch back to green before their
    // deadline keeps them.
    let back = env.switch(Color::Blue);
    let mut back_on_blue = env.open(10, "blue").await;
    tokio::time::sleep(DRAIN / 2).await;
    let third = env.switch(Color::Green);
    all_echo(&mut back_on_blue, "blue within its drain").await;
    let after_third_switch = env.open(5, "green").await;
    // Past the deadline green got at the second switch: routed again, it kept them.
    tokio::time::sleep((back + DRAIN + SLACK).saturating_duration_since(Instant::now())).await;
    all_echo(&mut on_green, "green routed again").await;
    assert_eq!(env.counts(Color::Green), (25, 0, 0));

    stop.store(true, Ordering::Relaxed);
    let mut served = 0;
    for task in load {
        let (ok, failed) = task.await.expect("load task");
        assert!(
            failed.is_empty(),
            "HTTP requests failed beside the tunnels: {failed:?}"
        );
        served += ok;
    }
    assert!(served > 100, "only {served} HTTP requests were sent");
    drop((on_green, after_third_switch));
    // The last ten blue tunnels are cut at their deadline too.
    for end in closed_at(back_on_blue).await {
        let after = end.duration_since(third);
        assert!(
            after + SLACK >= DRAIN && after < DRAIN * 3,
            "a blue tunnel ended {after:?} after the third switch"
        );
    }
    eventually("every blue tunnel is counted", || {
        env.counts(Color::Blue) == (0, 5, 25)
    })
    .await;
}

#[tokio::test]
async fn stopping_a_retired_colour_cuts_its_tunnels_after_waiting_for_them() {
    let (env, _blue, _green) = Env::start().await;
    let mut tunnels = env.open(3, "blue").await;
    env.fd.set_drain_timeout(Duration::from_secs(60));
    env.switch(Color::Green);
    // One ends while the daemon waits to stop blue; the others are still open at the
    // end of the wait and closed by the front door.
    let closer = {
        let mut first = tunnels.remove(0);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            first.close(None).await.expect("close");
            while let Some(Ok(_)) = first.next().await {}
        })
    };
    let started = Instant::now();
    let drained = env
        .fd
        .drain_color(Color::Blue, Duration::from_millis(600))
        .await;
    assert!(!drained, "two tunnels were still open");
    assert!(started.elapsed() >= Duration::from_millis(600) - SLACK);
    closer.await.expect("closer");
    let ends = closed_at(tunnels).await;
    assert_eq!(ends.len(), 2);
    assert_eq!(env.counts(Color::Blue), (0, 1, 2));
    // Nothing open: no wait at all.
    let started = Instant::now();
    assert!(
        env.fd
            .drain_color(Color::Blue, Duration::from_secs(5))
            .await
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}
