//! The environment's `upstream_timeout`: a colour that does not answer a request's head
//! in time gets the client a `504`, counted as an error of that colour (what the watch
//! judges), while tunnels, which idle by design, are exempt once switched.

#[path = "common/bounded.rs"]
mod bounded;
#[path = "common/front_door.rs"]
mod front_door;
#[path = "common/listener.rs"]
mod listener;

use std::time::{Duration, Instant};

use bluegreen_local::api::Color;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bounded::within;
use front_door::front_door_to_port;
use listener::listen;

/// Reads a head off `stream`, byte by byte; false if the peer closed first.
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(bounded::UPSTREAM_READ, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return false,
        }
    }
    true
}

/// Sends `request` on a new connection and reads the answer until `done` says it is whole.
async fn ask(addr: std::net::SocketAddr, request: &[u8], done: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(done) {
        match within("the answer", client.read(&mut buf)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_colour_that_never_answers_gets_the_client_a_504_counted_against_it() {
    // Reads each request and says nothing, keeping the connection open (a hung app).
    let colour = listen(|_, mut stream| async move { while read_head(&mut stream).await {} }).await;
    let (fd, addr) = front_door_to_port("hang", colour.port).await;
    fd.set_upstream_timeout(Duration::from_millis(300));

    let (answer, took) = ask(
        addr,
        b"GET /api/orders HTTP/1.1\r\nHost: fd.test\r\n\r\n",
        "}",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nx-bluegreen-color: blue\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\"error\":\"gateway_timeout\""), "{answer}");
    assert!(
        answer.contains("upstream_timeout"),
        "the message names the setting: {answer}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "answered after {took:?}, expected just over 300ms"
    );
    // A request with a body: the time counts from its end, and it is a 504 too.
    let (answer, _) = ask(
        addr,
        b"POST /api/orders HTTP/1.1\r\nHost: fd.test\r\nContent-Length: 2\r\n\r\n{}",
        "}",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 504 "), "{answer}");

    // An upgrade the colour never answers: a 504, a refused upgrade, and the connection
    // closes after it (the client may already speak the protocol it asked for).
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(b"GET /ws HTTP/1.1\r\nHost: fd.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    within("the 504 and the close", client.read_to_end(&mut answer))
        .await
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 504 "), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");

    let stats = fd.stats(Color::Blue);
    assert_eq!(
        stats
            .upgrades_refused
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let summary = stats.metrics.summary(Color::Blue, 0, u64::MAX);
    assert_eq!(
        (summary.requests, summary.errors_5xx),
        (3, 3),
        "all count as errors of blue: {summary:?}"
    );
    assert_eq!(stats.in_flight.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        colour.accepted(),
        3,
        "a connection whose answer timed out is never reused"
    );
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_and_an_idle_tunnel_are_not_cut() {
    // Answers plain requests after 200 ms; switches `Upgrade: echo` requests at once
    // and echoes.
    let colour = listen(|_, mut stream| async move {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        if String::from_utf8_lossy(&head).contains("Upgrade: echo") {
            if stream
                .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow")
            .await;
    })
    .await;
    let (fd, addr) = front_door_to_port("slow", colour.port).await;
    fd.set_upstream_timeout(Duration::from_millis(600));

    let (answer, _) = ask(addr, b"GET / HTTP/1.1\r\nHost: fd.test\r\n\r\n", "slow").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    let mut tunnel = TcpStream::connect(addr).await.expect("connect");
    tunnel
        .write_all(
            b"GET /t HTTP/1.1\r\nHost: fd.test\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = within("the 101", tunnel.read(&mut buf))
        .await
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101 "));
    // Quiet for well over the upstream timeout: the tunnel stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tunnel.write_all(b"still here").await.expect("write");
    let mut echoed = Vec::new();
    while echoed.len() < 10 {
        let n = within("the echo", tunnel.read(&mut buf))
            .await
            .expect("read");
        assert!(n > 0, "the tunnel closed");
        echoed.extend_from_slice(&buf[..n]);
    }
    assert_eq!(echoed, b"still here");
    let summary = fd
        .stats(Color::Blue)
        .metrics
        .summary(Color::Blue, 0, u64::MAX);
    assert_eq!(summary.errors_5xx, 0, "{summary:?}");
}
