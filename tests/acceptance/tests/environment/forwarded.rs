//! `local.trust_forwarded_headers` (issue 12, item 10): by default the front door
//! replaces a client's `X-Forwarded-*` headers with its own, so no client can pose as
//! another address; set to true (another proxy in front), the client's list goes on
//! with the client's address appended. Changing it applies to a running front door.

use std::time::Duration;

use bluegreen_acceptance::harness::http;
use bluegreen_acceptance::harness::{on_every_cli, ImportVerify, Step, TestCase};

use crate::update_under_load::IMPORT_IGNORES;
use crate::{bluegreen, Fixture, FrontDoor, ADDRESS};

/// What the colour was told about a client claiming to be 203.0.113.7 over https for
/// `shop.test`: its `/api/client` answer.
fn seen_by_the_colour(front: &FrontDoor) -> serde_json::Value {
    let reply = http::request(
        "GET",
        &front.url("/api/client"),
        &[
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "shop.test"),
        ],
        None,
        Duration::from_secs(5),
    )
    .unwrap_or_else(|e| panic!("GET /api/client through the front door: {e}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn trust_forwarded_headers_decides_what_the_colour_is_told() {
    on_every_cli("trust_forwarded_headers", |tf| {
        let fx = Fixture::new("forwarded", tf, "edge");
        let config = |trust: Option<bool>| {
            let hcl = fx.env("1.2.0").minimal().hcl();
            let hcl = match trust {
                Some(trust) => hcl.replacen(
                    "    drain_timeout = \"1s\"\n",
                    &format!("    drain_timeout = \"1s\"\n    trust_forwarded_headers = {trust}\n"),
                    1,
                ),
                None => hcl,
            };
            fx.config(&hcl)
        };
        let own = serde_json::json!({
            "forwarded_for": "127.0.0.1",
            "forwarded_proto": "http",
            "forwarded_host": format!("127.0.0.1:{}", fx.front_port),
        });
        TestCase::new("trust_forwarded_headers", bluegreen())
            .step(Step::new(config(None)).check({
                let (front, own) = (fx.front_door(), own.clone());
                move |state| {
                    let api = state.resource(ADDRESS);
                    assert_eq!(api.attr("local.trust_forwarded_headers"), false);
                    assert_eq!(seen_by_the_colour(&front), own, "default: replaced");
                }
            }))
            .step(
                Step::new(config(Some(true)))
                    .check({
                        let front = fx.front_door();
                        move |state| {
                            let api = state.resource(ADDRESS);
                            assert_eq!(api.attr("local.trust_forwarded_headers"), true);
                            assert_eq!(
                                seen_by_the_colour(&front),
                                serde_json::json!({
                                    "forwarded_for": "203.0.113.7, 127.0.0.1",
                                    "forwarded_proto": "https",
                                    "forwarded_host": "shop.test",
                                }),
                                "trusted: passed on"
                            );
                        }
                    })
                    .import_verify(
                        ImportVerify::new(ADDRESS)
                            .id(&fx.name)
                            .ignore(IMPORT_IGNORES),
                    ),
            )
            .step(Step::new(config(Some(false))).check({
                let front = fx.front_door();
                move |_| assert_eq!(seen_by_the_colour(&front), own, "trust withdrawn")
            }))
            .run_on(tf);
    });
}
