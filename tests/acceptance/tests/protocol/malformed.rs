//! Garbage where Terraform sends msgpack or JSON gets a diagnostic or a gRPC
//! error back, never a crash.

use std::time::Duration;

use bluegreen_acceptance::harness::plugin::{ClientIdentity, PluginProcess};
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tonic::transport::Channel;

use crate::bgtest_binary;

/// Malformed msgpack, each a different way a decoder can go wrong.
fn bad_msgpack() -> Vec<(&'static str, Vec<u8>)> {
    let mut deep = vec![0x91u8; 100_000]; // fixarray(1) nested 100 000 deep
    deep.push(0xc0);
    let mut noise = Vec::with_capacity(4096);
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        // xorshift: deterministic noise.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    vec![
        ("reserved marker 0xc1", vec![0xc1]),
        ("map missing its entries", vec![0x81]),
        (
            "array32 claiming 4G elements",
            vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            "map32 claiming 4G entries",
            vec![0xdf, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            "str32 longer than the message",
            vec![0xdb, 0x7f, 0xff, 0xff, 0xff, b'a'],
        ),
        ("a string where an object belongs", b"\xa5hello".to_vec()),
        ("deep nesting", deep),
        ("an object with trailing bytes", vec![0x80, 0x00, 0x01]),
        (
            "an attribute of the wrong type",
            [&[0x81, 0xa4][..], b"name", &[0x2a]].concat(),
        ),
        (
            "an unknown attribute",
            [&[0x81, 0xa4][..], b"nope", &[0xc0]].concat(),
        ),
        (
            "invalid UTF-8 in a string",
            [&[0x81, 0xa4][..], b"name", &[0xa2, 0xff, 0xfe]].concat(),
        ),
        ("noise", noise),
    ]
}

/// Malformed state JSON for UpgradeResourceState, with the version to claim.
fn bad_json() -> Vec<(&'static str, i64, Vec<u8>)> {
    vec![
        ("truncated object", 1, b"{\"id\": \"x\"".to_vec()),
        ("truncated array", 1, b"[1, 2".to_vec()),
        ("not UTF-8", 1, vec![0xff, 0xfe, 0x00]),
        (
            "deep nesting",
            1,
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        (
            "an object where a string belongs",
            1,
            br#"{"name": {"a": 1}}"#.to_vec(),
        ),
        (
            "a string where a list belongs",
            1,
            br#"{"rule": "x"}"#.to_vec(),
        ),
        (
            "a word where a number belongs",
            1,
            br#"{"length": "five"}"#.to_vec(),
        ),
        (
            "a bool where a map belongs",
            1,
            br#"{"tags": true}"#.to_vec(),
        ),
        ("trailing garbage", 1, br#"{"id": "x"} }"#.to_vec()),
        ("version 0 that is not an object", 0, b"[]".to_vec()),
        ("version 0 that is not JSON", 0, b"{{".to_vec()),
        ("a version from the future", 7, br#"{"id": "x"}"#.to_vec()),
    ]
}

/// A reply must be a gRPC error or carry an error diagnostic.
fn assert_rejected(what: &str, result: Result<Vec<pb::Diagnostic>, tonic::Status>) {
    match result {
        Err(status) => assert_ne!(status.code(), tonic::Code::Ok, "{what}"),
        Ok(diagnostics) => assert!(
            diagnostics
                .iter()
                .any(|d| d.severity == pb::diagnostic::Severity::Error as i32),
            "{what}: accepted without an error diagnostic: {diagnostics:?}"
        ),
    }
}

fn client(channel: Channel) -> ProviderClient<Channel> {
    ProviderClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_errors_not_crashes() {
    let terraform = ClientIdentity::generate().expect("generate a client certificate");
    let mut plugin = PluginProcess::start(&bgtest_binary(), Some(&terraform.cert_pem))
        .await
        .expect("start the plugin");
    let channel = plugin.connect(Some(&terraform)).await.expect("connect");
    let mut provider = client(channel.clone());

    for (what, bytes) in bad_msgpack() {
        let dv = || {
            Some(pb::DynamicValue {
                msgpack: bytes.clone(),
                json: Vec::new(),
            })
        };
        let request = pb::plan_resource_change::Request {
            type_name: "bgtest_thing".into(),
            prior_state: dv(),
            proposed_new_state: dv(),
            config: dv(),
            ..Default::default()
        };
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            provider.plan_resource_change(request),
        )
        .await
        .unwrap_or_else(|_| panic!("PlanResourceChange with {what}: no reply within 10s"));
        assert_rejected(
            &format!("PlanResourceChange with {what}"),
            reply.map(|r| r.into_inner().diagnostics),
        );
        assert!(
            plugin.try_wait().is_none(),
            "the plugin died on {what}:\n{}",
            plugin.stderr()
        );
    }

    for (what, version, json) in bad_json() {
        let request = pb::upgrade_resource_state::Request {
            type_name: "bgtest_thing".into(),
            version,
            raw_state: Some(pb::RawState {
                json,
                flatmap: Default::default(),
            }),
        };
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            provider.upgrade_resource_state(request),
        )
        .await
        .unwrap_or_else(|_| panic!("UpgradeResourceState with {what}: no reply within 10s"));
        assert_rejected(
            &format!("UpgradeResourceState with {what}"),
            reply.map(|r| r.into_inner().diagnostics),
        );
        assert!(
            plugin.try_wait().is_none(),
            "the plugin died on {what}:\n{}",
            plugin.stderr()
        );
    }

    // An unknown resource type is a diagnostic too.
    let request = pb::plan_resource_change::Request {
        type_name: "bgtest_nope".into(),
        ..Default::default()
    };
    assert_rejected(
        "an unknown resource type",
        provider
            .plan_resource_change(request)
            .await
            .map(|r| r.into_inner().diagnostics),
    );

    // Still alive and serving.
    let schema = provider
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("still serving");
    assert!(schema
        .into_inner()
        .resource_schemas
        .contains_key("bgtest_thing"));
    assert!(
        plugin.try_wait().is_none(),
        "the plugin exited:\n{}",
        plugin.stderr()
    );
    assert!(
        !plugin.stderr().contains("panicked"),
        "the plugin panicked:\n{}",
        plugin.stderr()
    );
    plugin
        .shutdown(channel, Duration::from_secs(5))
        .await
        .expect("Shutdown");
}
