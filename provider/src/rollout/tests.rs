//! The engine's table: every path a release can take, on the in-memory
//! platform (no process; the colours' health answers come from in-process
//! loopback listeners). Durations are short so the whole table runs in seconds.

mod alerts;
mod progress;
mod unjudged;
mod unjudged_steps;
mod websocket;

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::attempt::Attempt;
use super::canary::{CanarySpec, Progressive};
use super::{Engine, HealthCheck, Outcome, PostSwitch, ReleaseError, ReleaseReport, ReleaseSpec};
use crate::http::test_server::TlsServer;
use crate::http::Http;
use crate::platform::fake::{Call, FakePlatform, Health, Rollout, Script, Traffic};
use crate::platform::LatencyStatistic;
use crate::platform::{
    CanaryRoute, Color, EnvironmentRef, Failure, Lease, Platform, PlatformError, RouteReason,
};

const ENV: &str = "shop";

fn health() -> HealthCheck {
    HealthCheck {
        path: "/health".into(),
        expect_status: 200,
        expect_version: true,
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(300),
        healthy_threshold: 2,
        deadline: Duration::from_millis(600),
        websocket: None,
    }
}

fn rules() -> PostSwitch {
    PostSwitch {
        window: Duration::from_millis(500),
        max_error_rate: 0.01,
        warn_error_rate: 0.005,
        max_p95_increase: 0.5,
        min_requests: 20,
        auto_rollback: true,
    }
}

fn spec(version: &str) -> ReleaseSpec {
    ReleaseSpec {
        environment: env(),
        version: version.into(),
        health: health(),
        smoke: Vec::new(),
        post_switch: rules(),
        keep_previous: true,
        definition_changed: false,
    }
}

fn env() -> EnvironmentRef {
    EnvironmentRef::local(ENV)
}

fn lease() -> Lease {
    Lease {
        owner: "me@host".into(),
    }
}

fn engine<'a>(fake: &'a FakePlatform, lease: &'a Lease, stop: &CancellationToken) -> Engine<'a> {
    Engine {
        platform: fake,
        http: Http::new(),
        stop: stop.clone(),
        lease,
        deadline: Instant::now() + Duration::from_secs(600),
    }
}

/// Blue runs and serves 1.2.0.
async fn live_blue(script: Script) -> FakePlatform {
    FakePlatform::new(Some((Color::Blue, "1.2.0")), script).await
}

async fn release(fake: &FakePlatform, spec: &ReleaseSpec) -> Result<ReleaseReport, ReleaseError> {
    let (lease, stop) = (lease(), CancellationToken::new());
    engine(fake, &lease, &stop).release(spec).await
}

fn switch_to(color: Color) -> Call {
    Call::Route(Some(color), None, RouteReason::Switch)
}

#[tokio::test]
async fn the_live_version_again_changes_nothing() {
    let fake = live_blue(Script::default()).await;
    let report = release(&fake, &spec("1.2.0")).await.unwrap();
    assert_eq!(report.outcome, Outcome::NoChange);
    assert_eq!(fake.calls(), vec![]);
}

#[tokio::test]
async fn a_first_release_deploys_blue_and_routes_to_it() {
    let fake = FakePlatform::new(None, Script::default()).await;
    let report = release(&fake, &spec("1.0.0")).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released);
    assert_eq!(
        fake.calls(),
        vec![
            Call::Deploy(Color::Blue, "1.0.0".into()),
            switch_to(Color::Blue)
        ]
    );
}

#[tokio::test]
async fn an_idle_colour_with_the_version_switches_instantly() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.1.0").await;
    let report = release(&fake, &spec("1.1.0")).await.unwrap();
    assert_eq!(report.outcome, Outcome::Switched);
    // No deploy, one healthy answer, no watch.
    assert_eq!(fake.calls(), vec![switch_to(Color::Green)]);
    assert_eq!(fake.probes(Color::Green), 1);
    assert!(!report.steps.iter().any(|s| s.contains("watch")));
}

#[tokio::test]
async fn a_release_deploys_gates_smokes_switches_and_watches() {
    let fake = live_blue(Script::default()).await;
    let mut spec = spec("1.3.0");
    spec.smoke = vec![super::SmokeTest {
        name: "orders".into(),
        method: "GET".into(),
        path: "/orders".into(),
        expect_status: 200,
        body_contains: Some("ok".into()),
    }];
    let report = release(&fake, &spec).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released, "{:?}", report.steps);
    assert_eq!(
        fake.calls(),
        vec![
            Call::Deploy(Color::Green, "1.3.0".into()),
            switch_to(Color::Green)
        ]
    );
    assert_eq!(fake.routing().primary, Some(Color::Green));
    let steps = report.steps.join("\n");
    for expected in [
        "health check passed on green",
        "smoke test \"orders\" passed",
        "watch passed",
    ] {
        assert!(steps.contains(expected), "{expected:?} missing in\n{steps}");
    }
    assert!(
        report.message.contains("blue kept running"),
        "{}",
        report.message
    );
}

fn orders_smoke() -> super::SmokeTest {
    super::SmokeTest {
        name: "orders".into(),
        method: "GET".into(),
        path: "/orders".into(),
        expect_status: 200,
        body_contains: Some("ok".into()),
    }
}

#[tokio::test]
async fn a_release_reads_the_platform_state_only_where_it_may_have_changed() {
    let fake = live_blue(Script::default()).await;
    let spec = ReleaseSpec {
        smoke: vec![orders_smoke()],
        ..spec("1.3.0")
    };
    release(&fake, &spec).await.unwrap();
    // The snapshot the attempt begins from, and one readiness poll (the fake
    // runs at once). The gate, the smoke tests and the watch's messages come
    // from the attempt: before it, this release read the state 5 times.
    assert_eq!(fake.status_reads(), 2);
}

#[tokio::test]
async fn an_instant_switch_reads_the_platform_state_once() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.1.0").await;
    release(&fake, &spec("1.1.0")).await.unwrap();
    // The snapshot gives the idle colour's address (before the attempt: 2 reads).
    assert_eq!(fake.status_reads(), 1);
}

/// Gates green at `address` (a revision address elsewhere) with `http`.
async fn gate_at(fake: &FakePlatform, http: Http, address: &str) -> Result<(), ReleaseError> {
    let (lease, stop) = (lease(), CancellationToken::new());
    let engine = Engine {
        http,
        ..engine(fake, &lease, &stop)
    };
    let environment = env();
    let snapshot = fake
        .status(&environment)
        .await?
        .expect("the fake always has the environment");
    let mut attempt = Attempt::begin(&engine, &environment, snapshot, Color::Green, "1.3.0");
    attempt.address = Some(address.to_string());
    super::gate::health_gate(&mut attempt, &health()).await
}

#[tokio::test]
async fn a_failed_probe_makes_the_gate_read_the_colour_again() {
    // The attempt holds an address the colour no longer listens on (a
    // restart moved it): after one refused probe the gate asks the platform.
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stale = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    gate_at(&fake, Http::new(), &stale).await.unwrap();
    // The snapshot gate_at takes, and the one read after the refused probe.
    assert_eq!(fake.status_reads(), 2);
    assert_eq!(fake.probes(Color::Green), 2);
}

#[tokio::test]
async fn an_https_colour_passes_the_gate_only_with_its_ca_file() {
    let server = TlsServer::start(r#"{"status":"healthy","version":"1.3.0"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = server.write_ca(dir.path());
    let fake = live_blue(Script::default()).await;
    gate_at(&fake, Http::with_ca_file(&ca).unwrap(), &server.url)
        .await
        .unwrap();
    let err = gate_at(&fake, Http::new(), &server.url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("health check failed on green (1.3.0)"),
        "{err}"
    );
    assert!(
        err.contains("last: the certificate of 127.0.0.1 is not trusted")
            && err.contains("set ca_certificate_file"),
        "{err}"
    );
    assert!(err.contains("1.2.0 on blue keeps serving"), "{err}");
}

#[tokio::test]
async fn every_platform_call_of_a_release_gets_the_environments_handle() {
    let fake = live_blue(breaching_green()).await;
    let _ = release(&fake, &spec("1.3.0")).await.unwrap_err();
    // Deploy, gate, switch, watch, rollback: all with the spec's handle, none rebuilt.
    assert_eq!(fake.handles(), vec![env()]);
    assert!(fake.routes().len() == 2, "{:?}", fake.routes());
}

#[tokio::test]
async fn the_watch_starts_once_every_location_serves_the_switch() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_millis(300)),
        ..Script::default()
    })
    .await;
    let report = release(&fake, &spec("1.3.0")).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released, "{:?}", report.steps);
    let reads = fake.reads();
    assert!(reads.propagation > 1, "{reads:?}");
    assert_eq!(reads.metrics_while_propagating, 0, "{reads:?}");
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.starts_with("every front door location serves green after")),
        "{:?}",
        report.steps
    );
}

#[tokio::test]
async fn a_switch_that_does_not_propagate_in_time_is_put_back() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_secs(3600)),
        ..Script::default()
    })
    .await;
    // The deploy and gate take tens of ms; the watch's 500 ms is kept out.
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = Engine {
        deadline: Instant::now() + Duration::from_millis(800),
        ..engine(&fake, &lease, &stop)
    }
    .release(&spec("1.3.0"))
    .await
    .unwrap_err();
    assert!(matches!(err, ReleaseError::NotPropagated { .. }), "{err}");
    assert_eq!(err.outcome(), Outcome::RolledBack);
    let text = err.to_string();
    for expected in [
        "0 of 3 front door locations served it after",
        "all the time the resource's timeouts left for it less 500ms for what follows",
        "raise timeouts { create, update }",
        "put back to blue",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
    assert_eq!(
        fake.routes(),
        vec![
            switch_to(Color::Green),
            Call::Route(Some(Color::Blue), None, RouteReason::Rollback)
        ]
    );
    assert_eq!(fake.routing().primary, Some(Color::Blue));
    assert_eq!(fake.reads().metrics_while_propagating, 0);
}

#[tokio::test]
async fn the_platform_sets_the_polling_cadence() {
    let mut script = script_for(Color::Green, |s, c| {
        s.rollout.insert(c, Rollout::NeverReady);
    });
    script.poll_interval = Duration::from_millis(250);
    let fake = live_blue(script).await;
    let spec = ReleaseSpec {
        health: HealthCheck {
            deadline: Duration::from_secs(1),
            ..health()
        },
        ..spec("1.3.0")
    };
    let err = release(&fake, &spec).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{err}");
    // A one-second readiness wait at 250 ms is about five reads (plus the
    // release's first and the failure's note); 100 ms would be over ten.
    let reads = fake.status_reads();
    assert!(reads <= 9, "{reads} status reads");
}

#[tokio::test]
async fn keep_previous_false_stops_the_old_colour_after_the_watch() {
    let fake = live_blue(Script::default()).await;
    let spec = ReleaseSpec {
        keep_previous: false,
        ..spec("1.3.0")
    };
    release(&fake, &spec).await.unwrap();
    assert_eq!(fake.calls().last(), Some(&Call::Stop(Color::Blue)));
}

/// A gate failure: the error names the check, nothing was routed.
async fn gate_fails(script: Script, check: &str, detail: &str) {
    let fake = live_blue(script).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{text}");
    assert!(text.starts_with(check), "{text}");
    assert!(text.contains(detail), "{detail:?} missing in {text}");
    assert!(text.contains("1.2.0 on blue keeps serving"), "{text}");
    assert_eq!(fake.routes(), vec![], "a failed gate never moves traffic");
    assert_eq!(fake.routing().primary, Some(Color::Blue));
}

fn script_for(color: Color, change: impl FnOnce(&mut Script, Color)) -> Script {
    let mut s = Script::default();
    change(&mut s, color);
    s
}

#[tokio::test]
async fn an_unhealthy_colour_fails_the_gate_without_a_route_write() {
    let s = script_for(Color::Green, |s, c| {
        s.health.insert(c, Health::Failing(503));
    });
    gate_fails(
        s,
        "health check failed on green (1.3.0)",
        "HTTP 503, expected 200",
    )
    .await;
}

#[tokio::test]
async fn a_flapping_health_check_never_passes() {
    let s = script_for(Color::Green, |s, c| {
        s.health.insert(c, Health::Flapping);
    });
    gate_fails(s, "health check failed on green", "2 consecutive needed").await;
}

#[tokio::test]
async fn a_colour_that_never_gets_ready_fails_readiness() {
    let s = script_for(Color::Green, |s, c| {
        s.rollout.insert(c, Rollout::NeverReady);
    });
    gate_fails(s, "readiness failed on green", "last status: starting").await;
}

#[tokio::test]
async fn a_crashing_colour_fails_with_its_log_lines() {
    let s = script_for(Color::Green, |s, c| {
        s.rollout.insert(
            c,
            Rollout::Crashes {
                exit: "exit status 3".into(),
                log_tail: vec!["panic: no DATABASE_URL".into()],
            },
        );
    });
    gate_fails(s, "readiness (crash loop) failed", "panic: no DATABASE_URL").await;
}

#[tokio::test]
async fn a_failing_smoke_test_stops_the_release() {
    let fake = live_blue(Script::default()).await;
    fake.script(|s| {
        s.smoke.insert("/orders".into(), (500, "boom".into()));
    });
    let mut spec = spec("1.3.0");
    spec.smoke = vec![super::SmokeTest {
        name: "orders".into(),
        method: "GET".into(),
        path: "/orders".into(),
        expect_status: 200,
        body_contains: None,
    }];
    let err = release(&fake, &spec).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed);
    assert!(
        err.to_string().contains(
            "smoke test \"orders\" failed on green (1.3.0): GET /orders answered HTTP 500"
        ),
        "{err}"
    );
    assert_eq!(fake.routes(), vec![]);
}

#[tokio::test]
async fn a_refused_deploy_shows_the_platform_code_and_request_id() {
    let s = script_for(Color::Green, |s, c| {
        s.rollout.insert(
            c,
            Rollout::Refused(Failure {
                code: "ContainerAppOperationError".into(),
                message: "quota exceeded".into(),
                request_id: Some("5f1c-77aa".into()),
                correlation_id: None,
                retryable: false,
            }),
        );
    });
    let fake = live_blue(s).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::Failed);
    let ReleaseError::Platform(platform) = &err else {
        panic!("expected a platform error, got {err:?}");
    };
    assert_eq!(platform.code(), Some("ContainerAppOperationError"));
    assert_eq!(platform.request_id(), Some("5f1c-77aa"));
    // What the user reads in the diagnostic.
    let diagnostic = crate::resources::common::release_diagnostic("1.3.0", &err);
    let shown = &diagnostic.detail;
    for expected in [
        "quota exceeded",
        "ContainerAppOperationError",
        "request id 5f1c-77aa",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing in {shown}");
    }
    assert_eq!(fake.routes(), vec![]);
}

fn breaching_green() -> Script {
    script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                errors_after: Some(Duration::from_millis(100)),
                ..Traffic::default()
            },
        );
    })
}

#[tokio::test]
async fn a_breach_after_the_switch_rolls_back() {
    let fake = live_blue(breaching_green()).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::RolledBack, "{err}");
    let text = err.to_string();
    assert!(text.contains("error rate 50.00%"), "{text}");
    assert!(text.contains("switched back to blue (1.2.0)"), "{text}");
    assert_eq!(
        fake.routes(),
        vec![
            switch_to(Color::Green),
            Call::Route(Some(Color::Blue), None, RouteReason::Rollback)
        ]
    );
    assert_eq!(fake.routing().primary, Some(Color::Blue));
    // The restored version is the attempt's, not read again.
    assert_eq!(fake.status_reads(), 2);
}

#[tokio::test]
async fn a_watch_without_figures_is_neither_healthy_nor_a_breach() {
    // Green would breach at once, but the platform has no figures for it yet
    // (an ingestion delay longer than the window).
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                errors_after: Some(Duration::ZERO),
                no_data_for: Some(Duration::from_secs(3600)),
                ..Traffic::default()
            },
        );
    }))
    .await;
    // Every figure counts: no data must not read as "0 requests, 0 errors".
    let spec = ReleaseSpec {
        post_switch: PostSwitch {
            min_requests: 0,
            ..rules()
        },
        ..spec("1.3.0")
    };
    let report = release(&fake, &spec).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released);
    let steps = report.steps.join("\n");
    assert!(
        steps.contains("watch ended: the platform reported no figures for green during the 500ms watch; 1.3.0 was not judged by its traffic (no rollback, no pass)"),
        "{steps}"
    );
    assert!(!steps.contains("watch passed"), "{steps}");
    assert!(!steps.contains("error rate 0.00%"), "{steps}");
    assert_eq!(fake.routes(), vec![switch_to(Color::Green)]);
}

#[tokio::test]
async fn figures_that_arrive_late_are_still_judged() {
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                errors_after: Some(Duration::ZERO),
                no_data_for: Some(Duration::from_millis(150)),
                ..Traffic::default()
            },
        );
    }))
    .await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::RolledBack, "{err}");
    assert!(err.to_string().contains("error rate 50.00%"), "{err}");
}

#[tokio::test]
async fn the_latency_rule_names_the_statistic_it_compared() {
    let average = |latency_ms: f64| Traffic {
        latency_ms,
        statistic: LatencyStatistic::Average,
        ..Traffic::default()
    };
    let mut script = Script::default();
    script.traffic.insert(Color::Blue, average(10.0));
    script.traffic.insert(Color::Green, average(40.0));
    let fake = live_blue(script).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::RolledBack, "{err}");
    let text = err.to_string();
    for expected in [
        "average latency 40.0 ms is 300% above the previous colour's 10.0 ms",
        "applied to the average: the platform reports no p95",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
}

#[tokio::test]
async fn a_breach_without_auto_rollback_leaves_the_new_version_live() {
    let fake = live_blue(breaching_green()).await;
    let spec = ReleaseSpec {
        post_switch: PostSwitch {
            auto_rollback: false,
            ..rules()
        },
        ..spec("1.3.0")
    };
    let err = release(&fake, &spec).await.unwrap_err();
    assert!(matches!(err, ReleaseError::Breached { .. }), "{err}");
    assert!(
        err.to_string().contains("set version back to 1.2.0"),
        "{err}"
    );
    assert_eq!(fake.routes(), vec![switch_to(Color::Green)]);
    assert_eq!(fake.routing().primary, Some(Color::Green));
}

#[tokio::test]
async fn a_stale_routing_revision_is_a_conflict_and_moves_nothing() {
    let fake = live_blue(Script {
        concurrent_route_after_deploy: true,
        ..Script::default()
    })
    .await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert!(
        matches!(err, ReleaseError::Platform(PlatformError::Conflict { ref environment, .. }) if environment == ENV),
        "{err}"
    );
    assert_eq!(fake.routes(), vec![]);
    assert_eq!(fake.routing().primary, Some(Color::Blue));
}

#[tokio::test]
async fn a_lock_held_by_another_run_refuses_every_write() {
    let fake = live_blue(Script {
        locked_by: Some("alice@laptop".into()),
        ..Script::default()
    })
    .await;
    let err = fake
        .lock(&env(), "me@host", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("locked by alice@laptop"), "{err}");
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert!(
        matches!(err, ReleaseError::Platform(PlatformError::Locked(_))),
        "{err}"
    );
    assert_eq!(fake.calls(), vec![]);
}

#[tokio::test]
async fn a_candidate_is_deployed_and_gated_without_routing() {
    let fake = live_blue(Script::default()).await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = engine(&fake, &lease, &stop)
        .prepare_candidate(&spec("1.3.0"))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::CandidateReady);
    assert_eq!(
        fake.calls(),
        vec![Call::Deploy(Color::Green, "1.3.0".into())]
    );
}

#[tokio::test]
async fn no_candidate_replaces_a_colour_that_receives_canary_traffic() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    fake.set_canary(Color::Green, 10);
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = engine(&fake, &lease, &stop)
        .prepare_candidate(&spec("1.4.0"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("green receives canary traffic"),
        "{err}"
    );
    assert_eq!(fake.calls(), vec![]);
}

#[tokio::test]
async fn a_pin_gates_then_routes_everything_to_the_colour() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.1.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = engine(&fake, &lease, &stop)
        .pin(&env(), Color::Green, &health())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Switched);
    assert_eq!(fake.routes(), vec![switch_to(Color::Green)]);
}

fn canary(weight: u8) -> CanarySpec {
    CanarySpec {
        version: "1.3.0".into(),
        weight,
        tenants: vec!["acme".into()],
        tenant_header: "X-Tenant-ID".into(),
    }
}

fn ramp(interval: Duration) -> Progressive {
    Progressive {
        steps: vec![10, 25],
        interval,
        rules: rules(),
    }
}

fn canary_route(weight: u8, tenants: &[&str]) -> Call {
    Call::Route(
        Some(Color::Blue),
        Some(CanaryRoute {
            color: Color::Green,
            weight,
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
        }),
        RouteReason::Route,
    )
}

#[tokio::test]
async fn a_progressive_canary_ramps_step_by_step() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = engine(&fake, &lease, &stop)
        .canary(&env(), &canary(50), Some(&ramp(Duration::from_millis(200))))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Routed);
    assert_eq!(
        fake.routes(),
        vec![
            canary_route(10, &["acme"]),
            canary_route(25, &["acme"]),
            canary_route(50, &["acme"])
        ]
    );
}

#[tokio::test]
async fn a_progressive_canary_that_breaches_is_set_back_to_zero() {
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.traffic.insert(
            c,
            Traffic {
                errors_after: Some(Duration::ZERO),
                ..Traffic::default()
            },
        );
    }))
    .await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = engine(&fake, &lease, &stop)
        .canary(&env(), &canary(50), Some(&ramp(Duration::from_millis(300))))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReleaseError::CanaryRolledBack { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("1.3.0 at 10%"), "{err}");
    assert_eq!(
        fake.routes(),
        vec![
            canary_route(10, &["acme"]),
            Call::Route(Some(Color::Blue), None, RouteReason::Rollback)
        ]
    );
    assert_eq!(fake.routing().canary, None);
}

#[tokio::test]
async fn a_canary_of_the_live_version_only_removes_the_split() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    fake.set_canary(Color::Green, 10);
    let (lease, stop) = (lease(), CancellationToken::new());
    let spec = CanarySpec {
        version: "1.2.0".into(),
        ..canary(50)
    };
    let report = engine(&fake, &lease, &stop)
        .canary(&env(), &spec, None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Routed);
    assert_eq!(
        fake.routes(),
        vec![Call::Route(Some(Color::Blue), None, RouteReason::Route)]
    );
}

/// Long waits everywhere: only a stop can end them.
fn patient() -> ReleaseSpec {
    ReleaseSpec {
        health: HealthCheck {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
            ..health()
        },
        post_switch: PostSwitch {
            window: Duration::from_secs(60),
            ..rules()
        },
        ..spec("1.3.0")
    }
}

/// What a stop test runs.
enum Run {
    Release(Box<ReleaseSpec>),
    Canary(CanarySpec, Progressive),
    /// A canary routed at once, without a ramp.
    CanaryRoute(CanarySpec),
}

/// Stops the engine 100 ms into `run` and expects `Stopped` naming `during`
/// within a second.
async fn stops_promptly(fake: FakePlatform, during: &str, run: Run) {
    let started = Instant::now();
    stops_promptly_once(fake, during, run, move |_| {
        started.elapsed() >= Duration::from_millis(100)
    })
    .await;
}

/// Stops the engine once `ready` says the fake has reached the wait to
/// interrupt, and expects `Stopped` naming `during` within a second of it.
async fn stops_promptly_once(
    fake: FakePlatform,
    during: &str,
    run: Run,
    ready: impl Fn(&FakePlatform) -> bool,
) {
    let (lease, stop) = (lease(), CancellationToken::new());
    let canceller = stop.clone();
    let engine = engine(&fake, &lease, &stop);
    let work = async {
        match &run {
            Run::Release(spec) => engine.release(spec).await,
            Run::Canary(spec, ramp) => engine.canary(&env(), spec, Some(ramp)).await,
            Run::CanaryRoute(spec) => engine.canary(&env(), spec, None).await,
        }
    };
    let (result, stopped_at) = tokio::join!(work, async {
        while !ready(&fake) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        canceller.cancel();
        Instant::now()
    });
    let elapsed = stopped_at.elapsed();
    match result {
        Err(ReleaseError::Stopped(what)) => assert!(what.contains(during), "{what}"),
        other => panic!("expected a stop during {during}, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(1),
        "the stop took {elapsed:?}"
    );
}

#[tokio::test]
async fn a_stop_while_waiting_for_readiness_returns_promptly() {
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.rollout.insert(c, Rollout::NeverReady);
    }))
    .await;
    let spec = patient();
    stops_promptly(fake, "deployment", Run::Release(Box::new(spec))).await;
}

#[tokio::test]
async fn a_stop_between_health_probes_returns_promptly() {
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.health.insert(c, Health::Failing(503));
    }))
    .await;
    let spec = patient();
    stops_promptly(fake, "the health gate", Run::Release(Box::new(spec))).await;
}

#[tokio::test]
async fn a_stop_during_a_hanging_health_probe_returns_promptly() {
    let fake = live_blue(script_for(Color::Green, |s, c| {
        s.health.insert(c, Health::Hang);
    }))
    .await;
    let spec = patient();
    stops_promptly(fake, "the health gate", Run::Release(Box::new(spec))).await;
}

#[tokio::test]
async fn a_stop_during_a_hanging_smoke_test_returns_promptly() {
    let fake = live_blue(Script {
        smoke_hangs: vec!["/slow".into()],
        ..Script::default()
    })
    .await;
    let mut spec = patient();
    spec.health.healthy_threshold = 1;
    spec.smoke = vec![super::SmokeTest {
        name: "slow".into(),
        method: "GET".into(),
        path: "/slow".into(),
        expect_status: 200,
        body_contains: None,
    }];
    stops_promptly(fake, "smoke tests", Run::Release(Box::new(spec))).await;
}

#[tokio::test]
async fn a_stop_during_the_post_switch_watch_returns_promptly() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.1.0").await;
    // An instant switch is not watched: this one deploys, then watches 60 s.
    let mut spec = patient();
    spec.health.healthy_threshold = 1;
    stops_promptly(
        fake,
        "the post-switch watch (1.3.0 is live on green)",
        Run::Release(Box::new(spec)),
    )
    .await;
}

#[tokio::test]
async fn a_stop_while_the_switch_propagates_returns_promptly() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_secs(3600)),
        ..Script::default()
    })
    .await;
    let mut spec = patient();
    spec.health.healthy_threshold = 1;
    stops_promptly(
        fake,
        "the propagation of the switch to green",
        Run::Release(Box::new(spec)),
    )
    .await;
}

#[tokio::test]
async fn a_canary_step_is_judged_once_it_has_propagated() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_millis(150)),
        ..Script::default()
    })
    .await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    engine(&fake, &lease, &stop)
        .canary(&env(), &canary(50), Some(&ramp(Duration::from_millis(200))))
        .await
        .unwrap();
    let reads = fake.reads();
    assert!(reads.propagation > 2, "{reads:?}");
    assert_eq!(reads.metrics_while_propagating, 0, "{reads:?}");
}

#[tokio::test]
async fn a_stop_during_a_canary_step_returns_promptly() {
    let fake = live_blue(Script::default()).await;
    fake.run(Color::Green, "1.3.0").await;
    let ramp = ramp(Duration::from_secs(60));
    let spec = canary(50);
    stops_promptly(fake, "the canary ramp at 10%", Run::Canary(spec, ramp)).await;
}

/// A rollback is a routing write like the switch: `rolled back` means every
/// location serves the previous colour again, not only that it was asked to.
#[tokio::test]
async fn a_rollback_is_waited_for_until_every_location_serves_it() {
    let mut script = breaching_green();
    script.rollback_propagation = Some(Duration::from_millis(300));
    let fake = live_blue(script).await;
    let err = release(&fake, &spec("1.3.0")).await.unwrap_err();
    assert!(matches!(err, ReleaseError::RolledBack { .. }), "{err}");
    assert!(
        fake.propagated(),
        "the engine reported a rollback that not every location serves yet"
    );
    // The watch saw green, then the rollback was polled until served.
    assert!(fake.reads().propagation > 2, "{:?}", fake.reads());
    assert_eq!(
        fake.routes(),
        vec![
            switch_to(Color::Green),
            Call::Route(Some(Color::Blue), None, RouteReason::Rollback)
        ]
    );
}

#[tokio::test]
async fn a_rollback_not_served_everywhere_by_the_deadline_says_so_with_figures() {
    let mut script = breaching_green();
    script.rollback_propagation = Some(Duration::from_secs(3600));
    let fake = live_blue(script).await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let started = Instant::now();
    let err = Engine {
        deadline: started + Duration::from_millis(900),
        ..engine(&fake, &lease, &stop)
    }
    .release(&spec("1.3.0"))
    .await
    .unwrap_err();
    assert!(
        matches!(err, ReleaseError::RollbackNotPropagated { .. }),
        "{err}"
    );
    assert_eq!(err.outcome(), Outcome::RolledBack);
    let text = err.to_string();
    for expected in [
        "post-switch watch: error rate 50.00%",
        "sent back to blue (1.2.0) and the front door accepted it",
        "not yet served everywhere: 0 of 3 front door locations served it after",
        "all the time the resource's timeouts left for it;",
        "nothing further back to go",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
    // It gave up at the deadline, and wrote nothing after the rollback.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.routes().len(), 2, "{:?}", fake.routes());
    assert_eq!(fake.routing().primary, Some(Color::Blue));
}

#[tokio::test]
async fn the_final_canary_route_is_waited_for() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_millis(300)),
        ..Script::default()
    })
    .await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let report = engine(&fake, &lease, &stop)
        .canary(&env(), &canary(50), None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Routed);
    assert!(fake.propagated(), "routed before every location serves it");
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.starts_with("every front door location serves the canary at 50% after")),
        "{:?}",
        report.steps
    );
}

#[tokio::test]
async fn a_final_canary_route_not_served_by_the_deadline_is_an_error_with_figures() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_secs(3600)),
        ..Script::default()
    })
    .await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = Engine {
        deadline: Instant::now() + Duration::from_millis(300),
        ..engine(&fake, &lease, &stop)
    }
    .canary(&env(), &canary(50), None)
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("the canary route of 1.3.0 on green at 50% was accepted but is not yet served everywhere: 0 of 3 front door locations served it after 0."),
        "{text}"
    );
    assert!(text.contains("raise timeouts { create, update }"), "{text}");
    // Nothing is put back: the route stays and keeps spreading.
    assert_eq!(fake.routes(), vec![canary_route(50, &["acme"])]);
}

#[tokio::test]
async fn a_stop_while_the_rollback_propagates_returns_promptly() {
    let mut script = breaching_green();
    script.rollback_propagation = Some(Duration::from_secs(3600));
    let fake = live_blue(script).await;
    stops_promptly_once(
        fake,
        "the propagation of the rollback to blue",
        Run::Release(Box::new(spec("1.3.0"))),
        |fake| fake.routes().len() == 2,
    )
    .await;
}

#[tokio::test]
async fn a_stop_while_the_final_canary_route_propagates_returns_promptly() {
    let fake = live_blue(Script {
        propagation: Some(Duration::from_secs(3600)),
        ..Script::default()
    })
    .await;
    fake.run(Color::Green, "1.3.0").await;
    stops_promptly_once(
        fake,
        "the propagation of the canary route of 1.3.0 on green at 50%",
        Run::CanaryRoute(canary(50)),
        |fake| !fake.routes().is_empty(),
    )
    .await;
}

#[test]
fn the_engine_deadline_keeps_a_reserve_out_of_the_resources_timeout() {
    use super::propagation::{deadline_within, RESERVE};
    let left = |timeout: Duration| {
        let deadline = deadline_within(timeout);
        deadline.saturating_duration_since(Instant::now())
    };
    // The default 60m: a minute kept back to put routing back and record it.
    let hour = left(Duration::from_secs(3600));
    assert!(hour <= Duration::from_secs(3600) - RESERVE, "{hour:?}");
    assert!(hour > Duration::from_secs(3590) - RESERVE, "{hour:?}");
    // A short timeout keeps a tenth back, not all of it.
    let short = left(Duration::from_secs(100));
    assert!(
        short <= Duration::from_secs(90) && short > Duration::from_secs(89),
        "{short:?}"
    );
}

#[tokio::test]
async fn a_canary_set_back_is_waited_for_and_reported_when_it_does_not_spread() {
    let breaching = |rollback: Duration| {
        let mut script = script_for(Color::Green, |s, c| {
            s.traffic.insert(
                c,
                Traffic {
                    errors_after: Some(Duration::ZERO),
                    ..Traffic::default()
                },
            );
        });
        script.rollback_propagation = Some(rollback);
        script
    };
    let fake = live_blue(breaching(Duration::from_millis(300))).await;
    fake.run(Color::Green, "1.3.0").await;
    let (lease, stop) = (lease(), CancellationToken::new());
    let err = engine(&fake, &lease, &stop)
        .canary(&env(), &canary(50), Some(&ramp(Duration::from_millis(300))))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReleaseError::CanaryRolledBack { .. }),
        "{err}"
    );
    assert!(
        fake.propagated(),
        "set back before every location serves it"
    );

    let fake = live_blue(breaching(Duration::from_secs(3600))).await;
    fake.run(Color::Green, "1.3.0").await;
    let err = Engine {
        deadline: Instant::now() + Duration::from_millis(700),
        ..engine(&fake, &lease, &stop)
    }
    .canary(&env(), &canary(50), Some(&ramp(Duration::from_millis(300))))
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("canary ramp: 1.3.0 at 10%: error rate")
            && text.contains("sent back to blue (1.2.0) and the front door accepted it")
            && text.contains("0 of 3 front door locations served it after"),
        "{text}"
    );
    assert_eq!(err.outcome(), Outcome::RolledBack);
}
