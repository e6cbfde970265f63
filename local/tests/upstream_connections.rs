//! How the front door uses connections to a colour: keep-alive connections are reused
//! across requests and client connections (never one per request), and a connection the
//! colour closed while idle never fails a request.
//! The upstream here is a plain hyper server that counts the connections it accepts and
//! can drop them all at once, as an app restarting or timing out idle connections does.

#[path = "common/front_door.rs"]
mod front_door;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bluegreen_local::frontdoor::FrontDoor;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::http::{Request, Response};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// An upstream that answers `ok` and counts accepted connections.
struct Upstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
    drop_all: Arc<Notify>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind the upstream");
    let port = listener.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let drop_all = Arc::new(Notify::new());
    let (count, drop_signal) = (accepted.clone(), drop_all.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let drop_signal = drop_signal.clone();
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                // Dropping the connection closes the socket without a word, like an
                // idle timeout or a restart.
                tokio::select! {
                    _ = conn => {}
                    () = drop_signal.notified() => {}
                }
            });
        }
    });
    Upstream {
        port,
        accepted,
        drop_all,
    }
}

async fn front_door_to(up: &Upstream) -> (FrontDoor, SocketAddr) {
    front_door::front_door_to_port("conns", up.port).await
}

/// One keep-alive client connection to the front door.
async fn client(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn get_ok(sender: &mut SendRequest<Empty<Bytes>>) {
    sender.ready().await.expect("client connection usable");
    let req = Request::get("/x")
        .header("host", "front")
        .body(Empty::new())
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(5), sender.send_request(req))
        .await
        .expect("answered within 5 s")
        .expect("answered");
    let status = resp.status();
    let color = resp.headers().get("x-bluegreen-color").cloned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(status, 200, "body {body:?}");
    assert_eq!(color.as_ref().and_then(|c| c.to_str().ok()), Some("blue"));
    assert_eq!(&body[..], b"ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_reused() {
    let up = upstream().await;
    let (fd, addr) = front_door_to(&up).await;

    let mut first = client(addr).await;
    for _ in 0..20 {
        get_ok(&mut first).await;
    }
    assert_eq!(
        up.accepted.load(Ordering::SeqCst),
        1,
        "20 requests, 1 client connection"
    );

    // The client leaves; its idle upstream connection serves the next one on the same
    // worker thread (each worker keeps its own idle connections), so a sequential client
    // needs at most one per worker, however many requests.
    let workers = bluegreen_local::frontdoor::worker_threads();
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = client(addr).await;
    for _ in 0..10 {
        get_ok(&mut second).await;
    }
    let accepted = up.accepted.load(Ordering::SeqCst);
    assert!(
        accepted <= workers,
        "{accepted} upstream connections for sequential clients on {workers} workers"
    );

    // Two clients at once need at most two upstream connections per worker.
    let mut third = client(addr).await;
    for _ in 0..20 {
        let (a, b) = tokio::join!(get_ok(&mut second), get_ok(&mut third));
        let ((), ()) = (a, b);
    }
    let accepted = up.accepted.load(Ordering::SeqCst);
    assert!(
        (1..=2 * workers).contains(&accepted),
        "{accepted} upstream connections for 2 clients on {workers} workers"
    );
    fd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_closed_while_idle_fail_no_request() {
    let up = upstream().await;
    let (fd, addr) = front_door_to(&up).await;

    // Two clients, so that upstream connections are both in use and idle in the pool.
    let mut staying = client(addr).await;
    let mut leaving = client(addr).await;
    for _ in 0..5 {
        let (a, b) = tokio::join!(get_ok(&mut staying), get_ok(&mut leaving));
        let ((), ()) = (a, b);
    }
    drop(leaving);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = up.accepted.load(Ordering::SeqCst);

    // The colour drops every connection, as a restart or an idle timeout does.
    up.drop_all.notify_waiters();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Every request still succeeds (get_ok asserts it), on new connections.
    for _ in 0..5 {
        get_ok(&mut staying).await;
    }
    let mut newcomer = client(addr).await;
    for _ in 0..5 {
        get_ok(&mut newcomer).await;
    }
    let after = up.accepted.load(Ordering::SeqCst);
    assert!(
        after > before && after <= before + 2,
        "upstream connections: {before} before the drop, {after} after"
    );
    fd.shutdown().await;
}
