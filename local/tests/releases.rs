//! Release progress: the provider posts each step of a release, the daemon keeps the
//! last releases of each environment (bounded) and serves them; `status` shows them.

mod common;

use bluegreen_local::api::{
    AuditAction, AuditEntry, Color, Outcome, ReleaseEvent, ReleasePhase, WatchFigures,
};
use bluegreen_local::client::ClientError;
use common::Daemon;

fn event(id: &str, phase: ReleasePhase, step: Option<&str>) -> ReleaseEvent {
    ReleaseEvent {
        release_id: id.into(),
        version: "1.3.0".into(),
        phase,
        color: None,
        previous_color: None,
        previous_version: None,
        step: step.map(str::to_owned),
        figures: None,
        reason: None,
        actor: None,
    }
}

fn figures(elapsed_ms: u64, requests: u64, errors: u64) -> WatchFigures {
    WatchFigures {
        elapsed_ms,
        window_ms: 60_000,
        requests,
        errors,
        error_rate: errors as f64 / requests as f64,
        max_error_rate: 0.01,
        warn_error_rate: Some(0.005),
        latency_ms: Some(3.5),
        latency_statistic: Some("p95".into()),
    }
}

/// The events of a release that rolls back, as the engine sends them.
pub fn rollback_events(id: &str) -> Vec<ReleaseEvent> {
    let mut first = event(
        id,
        ReleasePhase::Deploying,
        Some("deploying 1.3.0 to green"),
    );
    first.color = Some(Color::Green);
    first.previous_color = Some(Color::Blue);
    first.previous_version = Some("1.2.0".into());
    first.actor = Some("terraform".into());
    let mut watching = event(id, ReleasePhase::Watching, None);
    watching.figures = Some(figures(1_000, 40, 1));
    let mut breach = event(id, ReleasePhase::Watching, None);
    breach.figures = Some(figures(2_000, 80, 20));
    let mut end = event(
        id,
        ReleasePhase::RolledBack,
        Some("rolled back to blue: error rate 25.00% (20 of 80 requests answered 5xx)"),
    );
    end.reason = Some("post-switch watch: error rate 25.00% (20 of 80 requests answered 5xx) is above max_error_rate 1.00%".into());
    vec![
        first,
        event(id, ReleasePhase::Validating, Some("health check passed")),
        event(
            id,
            ReleasePhase::Validating,
            Some("smoke test \"home\" passed"),
        ),
        event(
            id,
            ReleasePhase::Switching,
            Some("front door switched to green"),
        ),
        watching,
        breach,
        end,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_kept_per_release_and_served_newest_first() {
    let d = Daemon::start().await;
    d.define("shop", &[]).await;
    let c = d.client();
    for e in rollback_events("shop-1.3.0-1") {
        c.report_release("shop", &e).await.expect("report");
    }
    c.report_release(
        "shop",
        &event("shop-1.2.1-2", ReleasePhase::Deploying, None),
    )
    .await
    .expect("report");

    let releases = c.releases("shop").await.expect("releases");
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[0].id, "shop-1.2.1-2", "newest first");
    let r = &releases[1];
    let phases: Vec<ReleasePhase> = r.phases.iter().map(|m| m.phase).collect();
    assert_eq!(
        phases,
        [
            ReleasePhase::Deploying,
            ReleasePhase::Validating,
            ReleasePhase::Switching,
            ReleasePhase::Watching,
            ReleasePhase::RolledBack
        ]
    );
    assert_eq!(r.phase, ReleasePhase::RolledBack);
    assert!(r.finished_at.is_some());
    assert_eq!(
        (r.color, r.previous_color, r.previous_version.as_deref()),
        (Some(Color::Green), Some(Color::Blue), Some("1.2.0")),
        "fields sent once are kept"
    );
    assert_eq!(r.actor.as_deref(), Some("terraform"));
    assert_eq!(
        r.figures.as_ref().map(|f| (f.requests, f.errors)),
        Some((80, 20))
    );
    assert!(r.reason.as_deref().unwrap().contains("25.00%"), "{r:?}");
    let steps: Vec<(ReleasePhase, &str)> =
        r.steps.iter().map(|s| (s.phase, s.text.as_str())).collect();
    assert_eq!(steps.len(), 5, "figures-only events add no step: {steps:?}");
    assert_eq!(
        steps[2],
        (ReleasePhase::Validating, "smoke test \"home\" passed")
    );

    // Another environment's releases are its own; an unknown one is a 404.
    assert!(matches!(
        c.report_release("nowhere", &event("x", ReleasePhase::Deploying, None))
            .await,
        Err(ClientError::NotFound { .. })
    ));
    assert!(matches!(
        c.report_release("shop", &event(" ", ReleasePhase::Deploying, None))
            .await,
        Err(ClientError::Invalid { message }) if message.contains("release_id")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_and_their_steps_are_bounded() {
    let d = Daemon::start().await;
    d.define("api", &[]).await;
    let c = d.client();
    let max = bluegreen_local::daemon::MAX_RELEASES;
    for i in 0..max + 5 {
        c.report_release(
            "api",
            &event(&format!("r{i}"), ReleasePhase::Deploying, None),
        )
        .await
        .expect("report");
    }
    let steps = bluegreen_local::daemon::MAX_STEPS;
    for i in 0..steps + 7 {
        let text = format!("step {i}");
        c.report_release("api", &event("long", ReleasePhase::Validating, Some(&text)))
            .await
            .expect("report");
    }
    let releases = c.releases("api").await.expect("releases");
    assert_eq!(releases.len(), max, "oldest releases are dropped");
    assert_eq!(releases[0].id, "long");
    assert_eq!(releases[max - 1].id, "r6", "r0..r5 dropped");
    let long = &releases[0];
    assert_eq!(long.steps.len(), steps);
    assert_eq!(long.steps_dropped, 7);
    assert_eq!(long.steps[0].text, "step 7", "the newest steps are kept");

    // Deleting the environment forgets its releases.
    c.delete_environment("api", &Default::default())
        .await
        .expect("delete");
    d.define("api", &[]).await;
    assert!(c.releases("api").await.expect("releases").is_empty());
}

fn cli(d: &Daemon, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bluegreen-local"));
    command
        .args(args)
        .env("BLUEGREEN_LOCAL_ENDPOINT", d.endpoint())
        .env("BLUEGREEN_LOCAL_STATE_DIR", d.state_dir())
        .env_remove("BLUEGREEN_LOCAL_TOKEN");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_last_release_with_its_figures_reason_and_steps() {
    let d = Daemon::start().await;
    d.define("shop", &[]).await;
    let c = d.client();
    for e in rollback_events("shop-1.3.0-1") {
        c.report_release("shop", &e).await.expect("report");
    }
    let out = cli(&d, &["status", "shop"])
        .output()
        .expect("running the CLI");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for expected in [
        "release ROLLED_BACK: 1.3.0 on green from 1.2.0 on blue",
        "phases: deploying → validating → switching → watching → rolled_back",
        "watch: 2.0s of 60s, 80 requests, 20 errors, error rate 25.00% CRITICAL (warning above 0.50%, rollback above 1.00%), p95 3.5 ms",
        "reason: post-switch watch: error rate 25.00% (20 of 80 requests answered 5xx) is above max_error_rate 1.00%",
        "steps:",
    ] {
        assert!(lines.contains(&expected), "{expected:?} missing in\n{text}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("id shop-1.3.0-1 by terraform, started ")
                && l.contains(", finished ")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("validating  smoke test \"home\" passed")),
        "{text}"
    );

    // `--json`: the environment object with its last release, as the API has it.
    d.define("cart", &[]).await;
    let out = cli(&d, &["status", "shop", "--json"])
        .output()
        .expect("running the CLI");
    assert!(out.status.success());
    let shop: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shop["name"], "shop");
    let last: bluegreen_local::api::Release =
        serde_json::from_value(shop["last_release"].clone()).expect("a release object");
    assert_eq!(
        last,
        c.releases("shop").await.expect("releases")[0],
        "the newest release, whole"
    );
    assert_eq!(shop["last_release"]["phase"], "rolled_back");
    assert_eq!(shop["last_release"]["figures"]["errors"], 20);
    let _: bluegreen_local::api::EnvironmentStatus =
        serde_json::from_value(shop.clone()).expect("still an environment object");
    let out = cli(&d, &["status", "--json"])
        .output()
        .expect("running the CLI");
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let names_and_ids: Vec<(&str, Option<&str>)> = all
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default(),
                e["last_release"]["id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        names_and_ids,
        [("cart", None), ("shop", Some("shop-1.3.0-1"))]
    );
    assert!(all[0]["last_release"].is_null(), "null without a release");

    // A running release says so, with the watch's live figures.
    let mut running = rollback_events("shop-1.4.0-2");
    running.truncate(5);
    for e in running {
        c.report_release("shop", &e).await.expect("report");
    }
    let out = cli(&d, &["status", "shop"])
        .output()
        .expect("running the CLI");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("release WATCHING (running): 1.3.0 on green"),
        "{text}"
    );
    assert!(
        text.contains("watch: 1.0s of 60s, 40 requests, 1 errors"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_redraws_every_second_until_stopped() {
    let d = Daemon::start().await;
    d.define("shop", &[]).await;
    let c = d.client();
    c.report_release(
        "shop",
        &event(
            "shop-1.3.0-1",
            ReleasePhase::Validating,
            Some("health check passed"),
        ),
    )
    .await
    .expect("report");
    let mut child = cli(&d, &["status", "shop", "--watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running the CLI");
    // Until a third frame begins (the first two are then whole), at most 15 s: a
    // loaded machine may start the CLI slowly, but each frame still follows a second on.
    let stdout = child.stdout.take().expect("stdout");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut stdout = stdout;
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while String::from_utf8_lossy(&seen.lock().unwrap())
        .matches("\x1b[2J\x1b[H")
        .count()
        < 3
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().expect("stopping the watch");
    let out = child.wait_with_output().expect("its output");
    reader.join().expect("reader");
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let frames: Vec<&str> = text.split("\x1b[2J\x1b[H").skip(1).collect();
    assert!(
        frames.len() >= 2,
        "at least two frames in 15 s, got {}:\n{text}\n{}",
        frames.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    for frame in &frames[..2] {
        assert!(
            frame.starts_with("bluegreen-local status at ") && frame.contains("Ctrl-C to stop"),
            "{frame}"
        );
        assert!(
            frame.contains("release VALIDATING (running): 1.3.0")
                && frame.contains("validating  health check passed"),
            "{frame}"
        );
    }
}

/// Waits until `child` exits (killing it if it takes over 30 s).
fn wait_exit(child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !matches!(child.try_wait(), Ok(Some(_))) {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("daemon {} did not exit within 30 s", child.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart_a_takeover_and_a_crash() {
    let mut d = Daemon::start().await;
    d.define("shop", &[]).await;
    for e in rollback_events("shop-1.3.0-1") {
        d.client().report_release("shop", &e).await.expect("report");
    }
    let reported = d.client().releases("shop").await.expect("releases");
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].steps.len(), 5);

    // SIGTERM, start again: the same record, phases, steps, figures and reason.
    d.terminate();
    d.spawn().await;
    assert_eq!(
        d.client().releases("shop").await.expect("releases"),
        reported,
        "after a restart:\n{}",
        d.log()
    );

    // `serve --takeover`: the new daemon serves the old one's history.
    let mut old = d.child.take().expect("old daemon");
    let new = d
        .serve_command()
        .arg("--takeover")
        .spawn()
        .expect("spawning the new daemon");
    let new_pid = new.id();
    d.child = Some(new);
    let anonymous = bluegreen_local::client::Client::new(&d.endpoint(), None).expect("client");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while anonymous.health().await.map(|h| h.pid).ok() != Some(new_pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the new daemon does not answer:\n{}",
            d.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    wait_exit(&mut old);
    assert_eq!(
        d.client().releases("shop").await.expect("releases"),
        reported,
        "after a takeover:\n{}",
        d.log()
    );

    // A report reaches the file shortly after its answer, so even `kill -9` keeps it.
    let mut next = event(
        "shop-1.4.0-2",
        ReleasePhase::Validating,
        Some("health check passed"),
    );
    next.actor = Some("terraform".into());
    d.client()
        .report_release("shop", &next)
        .await
        .expect("report");
    let file = d.state_dir().join("releases.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !std::fs::read_to_string(&file)
        .unwrap_or_default()
        .contains("shop-1.4.0-2")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "releases.json not written within 5 s of a report"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    d.kill9();
    d.spawn().await;
    let after_crash = d.client().releases("shop").await.expect("releases");
    let ids: Vec<&str> = after_crash.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["shop-1.4.0-2", "shop-1.3.0-1"]);
    assert_eq!(after_crash[1], reported[0]);
    assert_eq!(after_crash[0].steps[0].text, "health check passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_history_is_set_aside_and_the_daemon_starts_without_it() {
    let mut d = Daemon::start().await;
    d.define("shop", &[]).await;
    for e in rollback_events("shop-1.3.0-1") {
        d.client().report_release("shop", &e).await.expect("report");
    }
    d.terminate();
    let file = d.state_dir().join("releases.json");
    std::fs::write(&file, b"{\"format\":1,\"environments\":{\"shop\":[{\"id\":").expect("write");
    d.spawn().await;
    assert!(d
        .client()
        .releases("shop")
        .await
        .expect("releases")
        .is_empty());
    // The environment itself is untouched, and new reports are kept again.
    d.client()
        .get_environment("shop")
        .await
        .expect("environment");
    assert!(
        d.log()
            .contains("ignoring the release history: it is not valid"),
        "{}",
        d.log()
    );
    assert!(d.state_dir().join("releases.json.bad").exists());
    d.client()
        .report_release(
            "shop",
            &event("shop-1.4.0-2", ReleasePhase::Deploying, None),
        )
        .await
        .expect("report");
    d.terminate();
    d.spawn().await;
    let ids: Vec<String> = d
        .client()
        .releases("shop")
        .await
        .expect("releases")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["shop-1.4.0-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_release_is_audited_once_and_shown_by_audit_and_the_page() {
    let d = Daemon::start().await;
    d.define("shop", &[]).await;
    let c = d.client();
    let events = rollback_events("shop-1.3.0-1");
    for e in &events {
        c.report_release("shop", e).await.expect("report");
    }
    // A retried final report does not end it twice.
    c.report_release("shop", events.last().expect("final"))
        .await
        .expect("report");
    let mut done = event("shop-1.2.1-2", ReleasePhase::Done, None);
    done.reason = Some("1.2.1 is live on blue".into());
    c.report_release("shop", &done).await.expect("report");

    let releases: Vec<AuditEntry> = c
        .audit(Some("shop"), None)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == AuditAction::Release)
        .collect();
    assert_eq!(releases.len(), 2, "{releases:?}");
    let rolled_back = &releases[0];
    assert_eq!(rolled_back.actor, "terraform");
    assert_eq!(rolled_back.outcome, Outcome::Failed);
    assert_eq!(
        (
            rolled_back.from_color,
            rolled_back.from_version.as_deref(),
            rolled_back.to_color,
            rolled_back.to_version.as_deref()
        ),
        (
            Some(Color::Blue),
            Some("1.2.0"),
            Some(Color::Green),
            Some("1.3.0")
        )
    );
    assert_eq!(
        rolled_back.message,
        "release shop-1.3.0-1 rolled back: post-switch watch: error rate 25.00% (20 of 80 requests answered 5xx) is above max_error_rate 1.00%"
    );
    let done = &releases[1];
    assert_eq!(
        (done.outcome, done.actor.as_str(), done.message.as_str()),
        (
            Outcome::Ok,
            "provider",
            "release shop-1.2.1-2 done: 1.2.1 is live on blue"
        ),
        "an actor the provider did not name reads `provider`"
    );

    let out = cli(&d, &["audit", "shop", "--limit", "5"])
        .output()
        .expect("running the CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("rolled back"))
        .unwrap_or_else(|| panic!("no release line in\n{text}"));
    for part in [
        " shop ",
        " terraform ",
        " release ",
        " failed ",
        "blue 1.2.0 → green 1.3.0  release shop-1.3.0-1 rolled back: post-switch watch: error rate 25.00%",
    ] {
        assert!(line.contains(part), "{part:?} missing in {line:?}");
    }

    let page = common::get(&common::http(), &format!("{}/", d.endpoint()), &[]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<tr class=\"failed\" data-action=\"release\">")
            && page.body.contains("<td>blue 1.2.0 → green 1.3.0</td><td>release shop-1.3.0-1 rolled back: post-switch watch: error rate 25.00%"),
        "{}",
        page.body
    );
}
