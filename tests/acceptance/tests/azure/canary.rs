//! Candidate, split and tenants on Azure, with `bluegreen_traffic_split` and
//! the data source naming the environment only by name (found on Azure by
//! the tags on its Container App): a listed tenant always reaches the
//! canary; destroying the split returns all traffic to the live colour.

use std::collections::BTreeMap;
use std::time::Duration;

use bluegreen_acceptance::harness::{http, on_every_cli};

use crate::{Fixture, ADDRESS};

/// The versions `n` requests with `X-Tenant-ID: tenant` got from the first
/// edge location, counted.
fn versions_for(fx: &Fixture, tenant: &str, n: usize) -> BTreeMap<String, usize> {
    let edge = fx
        .azure
        .edge_urls()
        .into_iter()
        .next()
        .expect("an edge location");
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let reply = http::request(
            "GET",
            &format!("{edge}/api/version"),
            &[("X-Tenant-ID", tenant)],
            None,
            Duration::from_secs(5),
        );
        let key = match reply {
            Ok(r) => r
                .json()
                .ok()
                .and_then(|j| j["version"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("HTTP {}", r.status)),
            Err(e) => e,
        };
        *seen.entry(key).or_default() += 1;
    }
    seen
}

/// Untagged requests sent through the first edge location, and how many of
/// them the canary (`version`) answered; any failed request fails the test.
fn untagged_on(fx: &Fixture, version: &str, n: usize) -> usize {
    let edge = fx
        .azure
        .edge_urls()
        .into_iter()
        .next()
        .expect("an edge location");
    // A few client threads, so that thousands of loopback requests take seconds.
    const THREADS: usize = 8;
    let url = format!("{edge}/api/version");
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let url = &url;
                let share = n / THREADS + usize::from(i < n % THREADS);
                scope.spawn(move || {
                    let mut canary = 0;
                    for _ in 0..share {
                        let reply = http::request("GET", url, &[], None, Duration::from_secs(5))
                            .unwrap_or_else(|e| panic!("untagged request: {e}"));
                        assert_eq!(reply.status, 200, "untagged request: {}", reply.body);
                        let json = reply.json().expect("a JSON answer");
                        canary += usize::from(json["version"] == version);
                    }
                    canary
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("client thread"))
            .sum()
    })
}

#[test]
fn tenants_reach_the_canary_through_a_split_found_by_name() {
    on_every_cli("azure_canary", |tf| {
        let test = "azure_canary";
        let fx = Fixture::new("azcanary", tf, "orders");
        let ws = fx.workspace(test, tf);
        let env = |candidate: &str| {
            let mut e = fx.env("1.0.0");
            e.block = fx.azure.environment_block(true);
            e.hcl().replacen(
                "  version = \"1.0.0\"\n",
                &format!("  version = \"1.0.0\"\n  candidate_version = \"{candidate}\"\n"),
                1,
            )
        };
        let split = r#"
resource "bluegreen_traffic_split" "api" {
  environment   = bluegreen_environment.api.name
  tenant_header = "X-Tenant-ID"
  canary {
    version = "1.1.0"
    weight  = 20
    tenants = ["pilot"]
  }
}

data "bluegreen_environment" "api" {
  name       = bluegreen_environment.api.name
  depends_on = [bluegreen_traffic_split.api]
}

output "idle_version" {
  value = data.bluegreen_environment.api.colors[data.bluegreen_environment.api.idle_color].version
}
"#;
        ws.write_config(&fx.config(&format!("{}{split}", env("1.1.0"))));
        ws.init();
        ws.apply();
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("colors.green.version"), "1.1.0");
        let out = ws.run_ok(&["output", "-raw", "idle_version"]);
        assert_eq!(
            out.stdout.trim(),
            "1.1.0",
            "the data source found the environment on Azure"
        );

        // Propagation is waited for by the apply: every answer is settled.
        let pilot = versions_for(&fx, "pilot", 20);
        assert_eq!(
            pilot,
            BTreeMap::from([("1.1.0".to_string(), 20)]),
            "the pilot tenant always reaches the canary"
        );
        // DESIGN §3: a tenant not listed never reaches the canary (the guard
        // rule sends it to the live colour's group); only untagged requests
        // are split by weight.
        let other = versions_for(&fx, "someone-else", 40);
        assert_eq!(
            other,
            BTreeMap::from([("1.0.0".to_string(), 40)]),
            "a tenant not listed never reaches the canary"
        );
        // Untagged requests: the canary's share is within 2.5 points of the
        // weight. Front Door draws each request's origin by weight (canary
        // 201 of 1001, so p = 20.08 %); with n = 7,000 the share's standard
        // deviation is 0.48 points and the exact binomial tails outside
        // [17.5 %, 22.5 %] sum to 3.1e-7, so a correct split fails this
        // less than once in a million runs.
        const UNTAGGED: usize = 7_000;
        let canary = untagged_on(&fx, "1.1.0", UNTAGGED);
        let share = canary as f64 * 100.0 / UNTAGGED as f64;
        assert!(
            (17.5..=22.5).contains(&share),
            "{canary} of {UNTAGGED} untagged requests ({share:.2} %) reached the canary of weight 20"
        );
        ws.assert_plan_empty("after the split");

        // Without the split, everything goes to the live colour again.
        ws.write_config(&fx.config(&env("1.1.0")));
        ws.apply();
        fx.assert_route_to("blue");
        // The rule's deletion reaches the edge locations after the apply
        // returns (the provider waits for the route's propagation, not the
        // rule set's): give them the emulated 15 s (0.75 s here), bounded.
        let started = std::time::Instant::now();
        let all_live = BTreeMap::from([("1.0.0".to_string(), 10)]);
        let mut pilot = versions_for(&fx, "pilot", 10);
        while pilot != all_live && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(250));
            pilot = versions_for(&fx, "pilot", 10);
        }
        assert_eq!(pilot, all_live, "the split is gone");
        ws.destroy();
    });
}
