//! A release that answers 5xx once it takes traffic: the health gate passes
//! (health answers are not faulty), the switch happens, and the post-switch
//! watch, fed by Azure Monitor's figures of the edge's traffic, puts the
//! route back and says so with figures.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::local_platform::wait_for;
use bluegreen_acceptance::harness::{http, on_every_cli};

use crate::{expect_match, Fixture, ADDRESS};

/// Requests through the first edge location until `stop`, at most 3 minutes
/// and 20,000 requests; answers are not judged here.
fn traffic(edge: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut sent = 0u64;
        while !stop.load(Ordering::Relaxed)
            && started.elapsed() < Duration::from_secs(180)
            && sent < 20_000
        {
            let _ = http::request(
                "GET",
                &format!("{edge}/api/orders"),
                &[],
                None,
                Duration::from_secs(2),
            );
            sent += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    })
}

#[test]
fn a_release_answering_5xx_is_rolled_back_by_the_watch() {
    on_every_cli("azure_watch_rollback", |tf| {
        let test = "azure_watch_rollback";
        // 1.3.1 is a bad build: half its answers are 500s.
        let fx = Fixture::with_env(
            "azwatch",
            tf,
            "orders",
            &[("AGOG_FAULTY_VERSION", "1.3.1"), ("AGOG_ERROR_RATE", "0.5")],
        );
        // Real time, so that Azure Monitor's timespans (wall clock) meet the
        // emulator's; its delays shortened instead: writes 200 ms, edge
        // locations 0.5 s and 1.5 s, metrics 2 s behind the traffic.
        fx.azure.settings(&serde_json::json!({
            "lro_ms": 200,
            "edge_propagation_ms": [500, 1500],
            "metrics_ingestion_delay_ms": 2000
        }));
        let ws = fx.workspace(test, tf);
        let env = |v: &str| fx.env(v).window("30s");
        ws.write_config(&fx.config(&env("1.3.0").hcl()));
        ws.init();
        ws.apply();
        fx.assert_route_to("blue");

        let edge = fx
            .azure
            .edge_urls()
            .into_iter()
            .next()
            .expect("an edge location");
        let stop = Arc::new(AtomicBool::new(false));
        let load = traffic(edge, stop.clone());
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&env("1.3.1").hcl()));
        let apply = ws.run(&["apply", "-auto-approve"]);
        stop.store(true, Ordering::Relaxed);
        let sent = load.join().unwrap_or(0);
        if apply.success() {
            ws.fail(
                Some(&apply),
                "a release answering 50% 5xx must be rolled back",
            );
        }
        expect_match(
            &ws,
            &apply,
            r"(?s)Release of 1\.3\.1 rolled back.*error rate [0-9.]+%",
        );
        let journal = fx.azure.journal();
        assert_eq!(
            fx.route_patches(&journal).len(),
            2,
            "the switch and the rollback are one route PATCH each ({sent} requests sent)"
        );
        fx.assert_route_to("blue");
        // The apply returns once the route is put back, not once every edge
        // location follows (seconds here, minutes on Azure).
        wait_for(
            "every edge location to serve 1.3.0 again",
            Duration::from_secs(30),
            || {
                std::panic::catch_unwind(|| fx.assert_edge_serves(5, "1.3.0"))
                    .map_err(|_| "an edge location still serves 1.3.1".to_string())
            },
        );
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("version"), "1.3.0");
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("last_deployment.outcome"), "rolled_back");
        ws.write_config(&fx.config(&env("1.3.0").hcl()));
        ws.destroy();
    });
}
