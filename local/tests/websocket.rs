//! WebSockets and other protocol upgrades through the front door: the handshake is
//! routed like any request, a `101` turns the connection into a byte tunnel, anything
//! else is passed on as an answer.
//!
//! Both ends of the WebSocket tests are `tokio-tungstenite` (a library written by others,
//! DESIGN §6); the hostile-input tests use raw sockets and a made-up `Upgrade: echo`
//! protocol, since the front door never looks inside the tunnel.

#[path = "common/bounded.rs"]
mod bounded;
#[path = "common/front_door.rs"]
mod front_door;
#[path = "common/listener.rs"]
mod listener;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bluegreen_local::api::Color;
use bluegreen_local::frontdoor::routing::{CanaryTarget, RoutingTable, Target};
use futures_util::{SinkExt, StreamExt};
use hyper::http::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use bounded::within;
use front_door::front_door_to_port;
use listener::{listen, Listening};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket colour: echoes text and binary messages, answers the text `who` with its
/// name, and leaves ping/pong and close to the library.
async fn echo_colour(name: &'static str) -> Listening {
    listen(move |_, stream| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
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
    })
    .await
}

async fn connect(addr: SocketAddr, tenant: Option<&str>) -> Result<(Client, String), WsError> {
    let mut req = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    if let Some(t) = tenant {
        req.headers_mut()
            .insert("x-tenant-id", HeaderValue::from_str(t).expect("tenant"));
    }
    let (ws, answer) = within("websocket handshake", tokio_tungstenite::connect_async(req)).await?;
    let color = answer
        .headers()
        .get("x-bluegreen-color")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((ws, color))
}

/// The next data message (ping/pong answered by the library meanwhile).
async fn next(ws: &mut Client) -> Message {
    within("next message", ws.next())
        .await
        .expect("the tunnel is open")
        .expect("a valid message")
}

async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < bounded::STEP, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn websocket_messages_of_every_kind_pass_through_and_the_handshake_is_counted() {
    let colour = echo_colour("blue").await;
    let (fd, addr) = front_door_to_port("ws", colour.port).await;
    let (mut ws, color) = connect(addr, None).await.expect("handshake");
    assert_eq!(color, "blue");

    ws.send(Message::text("héllo")).await.expect("send");
    assert_eq!(next(&mut ws).await, Message::text("héllo"));
    ws.send(Message::binary(vec![0u8, 255, 1]))
        .await
        .expect("send");
    assert_eq!(next(&mut ws).await, Message::binary(vec![0u8, 255, 1]));
    // 1 MiB in one frame: the front door never holds a whole frame.
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).await.expect("send");
    assert_eq!(next(&mut ws).await, Message::binary(big));
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping");
    assert_eq!(
        next(&mut ws).await,
        Message::Pong(b"are you there".to_vec().into())
    );

    let stats = fd.stats(Color::Blue);
    assert_eq!(stats.tunnels.load(Ordering::SeqCst), 1);
    assert_eq!(
        stats.in_flight.load(Ordering::SeqCst),
        0,
        "a tunnel is no request in flight"
    );
    let summary = stats.metrics.summary(Color::Blue, 0, u64::MAX);
    assert_eq!(
        (summary.requests, summary.errors_5xx),
        (1, 0),
        "the handshake: {summary:?}"
    );
    assert_eq!(stats.upgrades_accepted.load(Ordering::SeqCst), 1);
    assert_eq!(stats.upgrades_refused.load(Ordering::SeqCst), 0);

    // The close handshake goes through, and the tunnel ends with it.
    ws.close(None).await.expect("close");
    loop {
        match within("close answer", ws.next()).await {
            Some(Ok(Message::Close(_))) => {}
            None | Some(Err(WsError::ConnectionClosed)) => break,
            other => panic!("after close: {other:?}"),
        }
    }
    // The colour closed its end; the tunnel ends when the client closes its own.
    drop(ws);
    eventually("the tunnel is counted closed", || {
        stats.tunnels.load(Ordering::SeqCst) == 0
    })
    .await;
}

#[tokio::test]
async fn a_tenant_handshake_reaches_the_canary_and_others_the_primary() {
    let (blue, green) = (echo_colour("blue").await, echo_colour("green").await);
    let (fd, addr) = front_door_to_port("ws", blue.port).await;
    let target = |color: Color, port: u16| Target {
        color,
        port,
        host: HeaderValue::from_str(&format!("127.0.0.1:{port}")).expect("host"),
        header: HeaderValue::from_static(color.as_str()),
        stats: fd.stats(color).clone(),
    };
    fd.install(RoutingTable {
        revision: 2,
        primary: Some(target(Color::Blue, blue.port)),
        canary: Some(CanaryTarget {
            target: target(Color::Green, green.port),
            weight: 0,
            tenants: HashSet::from(["acme".to_owned()]),
        }),
        tenant_header: HeaderName::from_static("x-tenant-id"),
    });
    for (tenant, expected) in [
        (Some("acme"), "green"),
        (Some("other"), "blue"),
        (None, "blue"),
    ] {
        let (mut ws, color) = connect(addr, tenant).await.expect("handshake");
        assert_eq!(color, expected, "tenant {tenant:?}");
        ws.send(Message::text("who")).await.expect("send");
        assert_eq!(
            next(&mut ws).await,
            Message::text(expected),
            "tenant {tenant:?}"
        );
    }
    assert_eq!((blue.accepted(), green.accepted()), (2, 1));
}

/// Reads a request head off `stream`; its text, or `None` if the peer closed first.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(bounded::UPSTREAM_READ, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

const UPGRADE: &str =
    "GET /chat HTTP/1.1\r\nHost: fd.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";

/// A colour that speaks the made-up `echo` protocol: after its `101` (sent `delay` after
/// the handshake), it says `hi` and echoes until the client's end of stream, then says
/// `bye` and closes. Plain requests get `plain` with their `Upgrade` header, if any.
async fn raw_echo_colour(delay: Duration) -> Listening {
    listen(move |_, mut stream| async move {
        while let Some(head) = read_head(&mut stream).await {
            let lower = head.to_ascii_lowercase();
            if !lower.contains("\r\nupgrade: echo\r\n") {
                let body = format!("plain, upgrade header: {}", lower.contains("\r\nupgrade:"));
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            assert!(lower.contains("\r\nconnection: upgrade\r\n"), "{head}");
            tokio::time::sleep(delay).await;
            let switch = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhi";
            if stream.write_all(switch.as_bytes()).await.is_err() {
                return;
            }
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = stream.write_all(b"bye").await;
            return;
        }
    })
    .await
}

/// Reads from `stream` until what came satisfies `done`, failing if it ends first.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !done(&got) {
        match within("reading from the front door", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => panic!("closed early: {}", String::from_utf8_lossy(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// Reads from `stream` until `want` bytes came or it ends; what came.
async fn read_some(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want {
        match within("reading from the front door", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

#[tokio::test]
async fn bytes_a_client_sends_before_the_101_reach_the_colour_after_it_and_half_close_is_passed_on()
{
    let colour = raw_echo_colour(Duration::from_millis(200)).await;
    let (_fd, addr) = front_door_to_port("ws", colour.port).await;
    let mut client = TcpStream::connect(addr).await.expect("connect");
    // The protocol's first bytes right behind the handshake, before the colour answers.
    client
        .write_all(format!("{UPGRADE}early").as_bytes())
        .await
        .expect("write");
    let got = read_until(&mut client, |got| {
        got.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .is_some_and(|end| got.len() >= end + 4 + "hiearly".len())
    })
    .await;
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a head");
    let head = head.to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 101 switching protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nupgrade: echo"), "{head}");
    assert!(head.contains("\r\nconnection: upgrade"), "{head}");
    assert!(head.contains("\r\nx-bluegreen-color: blue"), "{head}");
    assert_eq!(rest, "hiearly");

    // The client is done sending: the colour sees the end, answers, and closes.
    client.write_all(b"last").await.expect("write");
    client.shutdown().await.expect("half-close");
    let mut tail = Vec::new();
    within("the colour's last words", client.read_to_end(&mut tail))
        .await
        .expect("read");
    assert_eq!(String::from_utf8_lossy(&tail), "lastbye");
}

#[tokio::test]
async fn a_colour_that_refuses_an_upgrade_is_answered_through_and_the_connection_closes() {
    // A WebSocket client against a colour that answers 200: it sees the 200.
    let colour = raw_echo_colour(Duration::ZERO).await;
    let (fd, addr) = front_door_to_port("ws", colour.port).await;
    match connect(addr, None).await {
        Err(WsError::Http(answer)) => {
            assert_eq!(answer.status(), 200);
            let body = answer.body().clone().unwrap_or_default();
            // The colour saw the upgrade it was asked for (and answered plainly).
            assert_eq!(
                String::from_utf8_lossy(&body),
                "plain, upgrade header: true"
            );
        }
        other => panic!("expected the colour's 200, got {:?}", other.map(|(_, c)| c)),
    }
    let stats = fd.stats(Color::Blue);
    assert_eq!(stats.tunnels.load(Ordering::SeqCst), 0);
    assert_eq!(
        (
            stats.upgrades_accepted.load(Ordering::SeqCst),
            stats.upgrades_refused.load(Ordering::SeqCst)
        ),
        (0, 1)
    );

    // An upgrade with a body is a plain request: the colour never sees `Upgrade`.
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(
            b"POST /chat HTTP/1.1\r\nHost: fd.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await
        .expect("write");
    let answer = read_until(&mut client, |got| got.ends_with(b"false")).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("plain, upgrade header: false"), "{answer}");
}

#[tokio::test]
async fn a_tunnel_connection_never_goes_back_to_the_pool() {
    let colour = raw_echo_colour(Duration::ZERO).await;
    let (_fd, addr) = front_door_to_port("ws", colour.port).await;
    let plain = || async {
        let mut c = TcpStream::connect(addr).await.expect("connect");
        c.write_all(b"GET / HTTP/1.1\r\nHost: fd.test\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        within("plain answer", c.read_to_end(&mut answer))
            .await
            .expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    };
    // A plain request leaves its upstream connection idle in the pool; the handshake on
    // the same client connection (so the same worker and pool share) takes it.
    let mut tunnel = TcpStream::connect(addr).await.expect("connect");
    tunnel
        .write_all(b"GET / HTTP/1.1\r\nHost: fd.test\r\n\r\n")
        .await
        .expect("write");
    read_until(&mut tunnel, |got| got.ends_with(b"false")).await;
    tunnel.write_all(UPGRADE.as_bytes()).await.expect("write");
    let got = read_until(&mut tunnel, |got| got.ends_with(b"hi")).await;
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 101"),
        "{got:?}"
    );
    assert_eq!(
        colour.accepted(),
        1,
        "the handshake reused the idle connection"
    );
    // With the tunnel open, plain requests (spread over the workers) need other
    // connections: had the tunnel's gone back to the pool, one would land in the echo.
    for _ in 0..8 {
        let answer = plain().await;
        assert!(answer.ends_with("upgrade header: false"), "{answer}");
    }
    assert!(colour.accepted() >= 2);
    tunnel.write_all(b"still mine").await.expect("write");
    read_until(&mut tunnel, |got| got.ends_with(b"still mine")).await;
}

#[tokio::test]
async fn a_slowloris_on_a_tunnel_holds_up_no_one_else() {
    let colour = echo_colour("blue").await;
    let (_fd, addr) = front_door_to_port("ws", colour.port).await;
    // A client that opens a tunnel and drips a frame header byte by byte.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let got = read_some(&mut slow, 1).await;
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 101"),
        "{got:?}"
    );
    let drip = tokio::spawn(async move {
        // A masked text frame announcing 100 bytes, one byte every 50 ms (bounded: 40).
        for byte in [0x81u8, 0xE4, 1, 2, 3, 4]
            .into_iter()
            .chain(std::iter::repeat(b'x'))
            .take(40)
        {
            if slow.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slow
    });
    // Meanwhile others get through at loopback speed.
    for i in 0..20 {
        let started = Instant::now();
        let (mut ws, _) = connect(addr, None).await.expect("handshake");
        ws.send(Message::text(format!("m{i}"))).await.expect("send");
        assert_eq!(next(&mut ws).await, Message::text(format!("m{i}")));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a round trip took {:?} beside a slowloris",
            started.elapsed()
        );
    }
    let _slow = within("the drip ends", drip).await.expect("drip task");
}
