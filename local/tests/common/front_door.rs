//! A front door on a free loopback port routing everything to one upstream port as blue,
//! for the tests that drive `FrontDoor` in-process (no daemon).

use std::net::SocketAddr;

use bluegreen_local::api::Color;
use bluegreen_local::frontdoor::routing::{RoutingTable, Target};
use bluegreen_local::frontdoor::FrontDoor;
use hyper::http::{HeaderName, HeaderValue};

/// Serves a front door named `environment` whose primary colour, blue, is
/// `127.0.0.1:port`; returns it and the address it listens on.
pub async fn front_door_to_port(environment: &str, port: u16) -> (FrontDoor, SocketAddr) {
    let fd = FrontDoor::new(environment, HeaderName::from_static("x-tenant-id"));
    let listener = FrontDoor::bind("127.0.0.1:0").await.expect("bind");
    fd.serve(listener).await;
    let addr = fd.local_addr().expect("listening");
    fd.install(RoutingTable {
        revision: 1,
        primary: Some(Target {
            color: Color::Blue,
            port,
            host: HeaderValue::from_str(&format!("127.0.0.1:{port}")).expect("host"),
            header: HeaderValue::from_static("blue"),
            stats: fd.stats(Color::Blue).clone(),
        }),
        canary: None,
        tenant_header: HeaderName::from_static("x-tenant-id"),
    });
    (fd, addr)
}
