//! Failed pre-switch gates: a wrong version, an unhealthy (503) answer, a
//! degraded one (200 with a failed check in the body), a health probe that
//! times out, and a crash loop. Each fails the apply with
//! a diagnostic naming the check and its figures; no request through the
//! front door reaches the bad colour; the state keeps the live version; the
//! next plan proposes the update again.

use bluegreen_acceptance::harness::{announce, on_every_cli, Terraform, Workspace};

use crate::{
    assert_plan_proposes, bluegreen, destroy_and_check, expect_match, first_error, now_ms,
    EnvConfig, Fixture, Load, ADDRESS, LOAD_BOUNDS,
};

/// Runs one gate failure on one CLI: 1.2.0 is released cleanly, then 1.3.0,
/// faulty through `faults` (the demo app applies them only to 1.3.0), must
/// be refused with output matching every pattern of `expect`.
fn gate_failure(test: &str, tf: &Terraform, faults: &[(&str, &str)], expect: &[&str]) {
    let fx = Fixture::new(test, tf, "gated");
    let mut env: EnvConfig = fx.env("1.2.0").var("AGOG_FAULTY_VERSION", "1.3.0");
    for (k, v) in faults {
        env = env.var(k, v);
    }
    let ws = Workspace::new(test, tf, &bluegreen());
    ws.write_config(&fx.config(&env.hcl()));
    ws.init();
    ws.apply();
    let front = fx.front_door();
    front.assert_serves(5, "1.2.0", "blue");

    ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
    let load = Load::start(&front.url("/api/version"), 1, LOAD_BOUNDS);
    let started = now_ms();
    let apply = ws.run(&["apply", "-auto-approve"]);
    let summary = load.stop();
    announce(&format!(
        "acceptance: {test} on Terraform v{}: apply failed after {:.1}s; load during it: {summary}",
        tf.version_string(),
        apply.elapsed.as_secs_f64()
    ));
    if apply.code != Some(1) {
        ws.fail(
            Some(&apply),
            &format!(
                "the apply of a faulty 1.3.0 exited {:?}, expected 1",
                apply.code
            ),
        );
    }
    announce(&format!(
        "acceptance: {test} on Terraform v{}: {}",
        tf.version_string(),
        first_error(&apply)
    ));
    expect_match(&ws, &apply, r"Error: Release of 1\.3\.0 refused: .+ failed");
    for pattern in expect {
        expect_match(&ws, &apply, pattern);
    }
    expect_match(
        &ws,
        &apply,
        r"No traffic was moved; 1\.2\.0 on blue keeps serving\.",
    );

    // Nobody using the front door saw the bad colour.
    assert_eq!(
        summary.failed(),
        0,
        "requests failed during the refused release: {summary}"
    );
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
        "the front door sent {to_green} requests to the gated colour"
    );
    front.assert_serves(20, "1.2.0", "blue");

    // The state keeps what is really live, and the next plan proposes the release again.
    let state = ws.show();
    let api = state.resource(ADDRESS);
    assert_eq!(api.str("version"), "1.2.0", "state after a refused release");
    assert_eq!(api.str("live_color"), "blue");
    assert_eq!(api.str("last_deployment.outcome"), "gate_failed");
    assert_plan_proposes(&ws, "1.2.0", "1.3.0");

    destroy_and_check(&ws, &fx);
}

#[test]
fn gate_wrong_version() {
    on_every_cli("gate_wrong_version", |tf| {
        gate_failure(
            "gate_wrong_version",
            tf,
            &[("AGOG_REPORT_VERSION", "9.9.9")],
            &[
                r"health check failed on green \(1\.3\.0\): 0 of \d+ probes of http://127\.0\.0\.1:\d+/api/health were healthy, 2 consecutive needed within 3s",
                r#"last: reports version "9\.9\.9", expected "1\.3\.0""#,
            ],
        );
    });
}

#[test]
fn gate_unhealthy() {
    on_every_cli("gate_unhealthy", |tf| {
        gate_failure(
            "gate_unhealthy",
            tf,
            &[("AGOG_UNHEALTHY", "true")],
            &[
                r"health check failed on green \(1\.3\.0\): 0 of \d+ probes of http://127\.0\.0\.1:\d+/api/health were healthy",
                r"last: HTTP 503, expected 200",
            ],
        );
    });
}

#[test]
fn gate_degraded() {
    on_every_cli("gate_degraded", |tf| {
        // HTTP 200 and the right version, but the body says the database is down.
        gate_failure(
            "gate_degraded",
            tf,
            &[("AGOG_DEGRADED", "true")],
            &[
                r"health check failed on green \(1\.3\.0\): 0 of \d+ probes of http://127\.0\.0\.1:\d+/api/health were healthy",
                r#"last: reports status "degraded"; failing check database: "failed: connection refused""#,
            ],
        );
    });
}

#[test]
fn gate_timeout() {
    on_every_cli("gate_timeout", |tf| {
        // Every answer of 1.3.0 takes 1.5 s; the probe allows 1 s.
        gate_failure(
            "gate_timeout",
            tf,
            &[("AGOG_LATENCY_MS", "1500")],
            &[
                r"health check failed on green \(1\.3\.0\): 0 of \d+ probes of http://127\.0\.0\.1:\d+/api/health were healthy",
                r"last: no response within 1s",
            ],
        );
    });
}

#[test]
fn gate_crash_loop() {
    on_every_cli("gate_crash_loop", |tf| {
        // 1.3.0 exits 0.2 s after each start; the daemon restarts it with backoff.
        gate_failure(
            "gate_crash_loop",
            tf,
            &[("AGOG_CRASH_AFTER", "0.2")],
            &[
                r"(readiness \(crash loop\)|health check) failed on green \(1\.3\.0\): .*crashed.*\(exit status 1, \d+ restart\(s\)\)",
            ],
        );
    });
}
