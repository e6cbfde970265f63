//! A WebSocket handshake is routed like any request: a listed tenant's reaches the
//! canary, anyone else's the primary, and the tunnel stays where it was opened. The
//! client is `tungstenite`, the colours the demo app's `/ws`.

use bluegreen_acceptance::harness::{on_every_cli, AppSocket, Workspace};

use crate::{bluegreen, Fixture, SplitConfig, PILOT};

#[test]
fn a_tenants_websocket_reaches_the_canary() {
    on_every_cli("a_tenants_websocket_reaches_the_canary", |tf| {
        let fx = Fixture::new("websocket", tf, "sockets");
        let env = fx.env("1.2.0").candidate("1.3.0").hcl();
        let split = SplitConfig::new("1.3.0", 0, &[PILOT]).hcl();
        let ws = Workspace::new("a_tenants_websocket_reaches_the_canary", tf, &bluegreen());
        ws.write_config(&fx.config(&[&env, &split]));
        ws.init();
        ws.apply();
        let base = fx.front_door().base;
        for (headers, version, color) in [
            (vec![("X-Tenant-ID", PILOT)], "1.3.0", "green"),
            (vec![("X-Tenant-ID", "regular-tenant-id")], "1.2.0", "blue"),
            (vec![], "1.2.0", "blue"),
        ] {
            let mut socket = AppSocket::open(&base, &headers)
                .unwrap_or_else(|e| panic!("handshake with {headers:?}: {e}"));
            assert_eq!(socket.color, color, "{headers:?}");
            for _ in 0..3 {
                assert_eq!(
                    socket.version().expect("version"),
                    (version.to_string(), color.to_string()),
                    "{headers:?}"
                );
            }
            socket.close();
        }
        ws.destroy();
    });
}
