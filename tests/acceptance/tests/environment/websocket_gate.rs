//! The health gate's `websocket_check`: the demo app's `/ws` accepts the
//! handshake and answers `version` with the release's, so a release with
//! the check goes live; a check on a path the app answers with `404` fails
//! the gate with a diagnostic naming `websocket_check`, the URL and the
//! status, and no request through the front door reaches the refused colour.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{
    assert_plan_proposes, bluegreen, destroy_and_check, expect_match, now_ms, EnvConfig, Fixture,
    Load, ADDRESS, LOAD_BOUNDS,
};

/// The environment's HCL with a `websocket_check` on `path` that sends
/// `version` and expects the release's version back.
fn with_websocket_check(env: &EnvConfig, path: &str) -> String {
    let hcl = env.hcl();
    let end = hcl.rfind('}').expect("the resource block ends");
    format!(
        "{}\n  websocket_check {{\n    path           = \"{path}\"\n    send           = \"version\"\n    expect_message = \"\\\"version\\\":\\\"{{version}}\\\"\"\n  }}\n}}\n",
        &hcl[..end]
    )
}

#[test]
fn websocket_check_passes_on_the_demo_app_and_a_refused_handshake_moves_nothing() {
    on_every_cli("websocket_check", |tf| {
        let fx = Fixture::new("websocket_check", tf, "wsgate");
        let ws = Workspace::new("websocket_check", tf, &bluegreen());
        ws.write_config(&fx.config(&with_websocket_check(&fx.env("1.2.0"), "/ws")));
        ws.init();
        ws.apply();
        let front = fx.front_door();
        front.assert_serves(5, "1.2.0", "blue");
        let state = ws.show();
        assert_eq!(state.resource(ADDRESS).str("websocket_check.path"), "/ws");

        // 1.3.0 with the check on a path the app answers with 404.
        ws.write_config(&fx.config(&with_websocket_check(&fx.env("1.3.0"), "/api/no-socket")));
        let load = Load::start(&front.url("/api/version"), 1, LOAD_BOUNDS);
        let started = now_ms();
        let apply = ws.run(&["apply", "-auto-approve"]);
        let summary = load.stop();
        if apply.code != Some(1) {
            ws.fail(
                Some(&apply),
                &format!("the apply exited {:?}, expected 1", apply.code),
            );
        }
        expect_match(
            &ws,
            &apply,
            r"websocket_check failed on green \(1\.3\.0\): ws://127\.0\.0\.1:\d+/api/no-socket: answered HTTP 404, expected 101 Switching Protocols",
        );
        expect_match(
            &ws,
            &apply,
            r"No traffic was moved; 1\.2\.0 on blue keeps serving\.",
        );
        assert_eq!(summary.failed(), 0, "requests failed: {summary}");
        assert!(summary.sent() > 0, "the load sent nothing: {summary}");
        assert_eq!(
            summary.versions().keys().collect::<Vec<_>>(),
            ["1.2.0"],
            "answers during the refused release came from other versions: {summary}"
        );
        let to_green = fx
            .daemon
            .api()
            .requests_to(&fx.name, "green", started, now_ms() + 1000);
        assert_eq!(
            to_green, 0,
            "the front door sent {to_green} requests to green"
        );
        front.assert_serves(10, "1.2.0", "blue");
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("version"), "1.2.0");
        assert_eq!(api.str("last_deployment.outcome"), "gate_failed");
        assert_plan_proposes(&ws, "1.2.0", "1.3.0");

        // The check back on /ws: the same release passes it and goes live.
        ws.write_config(&fx.config(&with_websocket_check(&fx.env("1.3.0"), "/ws")));
        ws.apply();
        front.assert_serves(5, "1.3.0", "green");

        destroy_and_check(&ws, &fx);
    });
}
