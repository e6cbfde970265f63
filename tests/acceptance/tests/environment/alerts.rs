//! Release alerts (issue 16): one loopback receiver per format, a receiver
//! that answers 500 and one that never answers, through real releases on the
//! local platform: a first release (started, switched, succeeded), a faulty
//! one under load (rolled back: PagerDuty triggers), the same version fixed
//! under load (succeeded: PagerDuty resolves with the same dedup key), and
//! one with no traffic during its watch (it warns that it was not judged, and
//! PagerDuty's warning incident is left open: no resolve). Every payload is
//! checked in its service's shape; the failing receivers cost warnings, not
//! the release, and the hanging one at most its timeout. Then the seed's
//! warning threshold: an error rate above 0.5% but under the rollback one
//! warns (diagnostic and alert) and keeps the release.

use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::alert_receiver::{with_blocks, Received, Receiver, Reply};
use bluegreen_acceptance::harness::{announce, on_every_cli, Output, Workspace};
use serde_json::Value as Json;

use bluegreen_acceptance::harness::output::log_time_ms;

use crate::{bluegreen, expect_match, now_ms, Fixture, Load, LOAD_BOUNDS};

const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";
/// The hanging receiver's `timeout`: what it may cost an apply.
const HANG_TIMEOUT: Duration = Duration::from_secs(2);
/// The provider's own time around the alerts' wait (its answer, the log's
/// millisecond resolution), generously.
const PROVIDER_SLACK: Duration = Duration::from_secs(2);

/// The receivers, in the order of their `notification` blocks.
struct Receivers {
    slack: Receiver,
    teams: Receiver,
    pagerduty: Receiver,
    webhook: Receiver,
    hanging: Receiver,
    failing: Receiver,
}

impl Receivers {
    fn start() -> Receivers {
        Receivers {
            slack: Receiver::start(Reply::Status(200)),
            teams: Receiver::start(Reply::Status(200)),
            pagerduty: Receiver::start(Reply::Status(202)),
            webhook: Receiver::start(Reply::Status(200)),
            hanging: Receiver::start(Reply::Hang),
            failing: Receiver::start(Reply::Status(500)),
        }
    }

    fn blocks(&self) -> String {
        let block = |format: &str, url: &str, extra: &str| {
            format!("  notification {{\n    format = \"{format}\"\n    url    = \"{url}\"\n{extra}  }}\n")
        };
        [
            block("slack", &self.slack.url, ""),
            block("teams", &self.teams.url, ""),
            block(
                "pagerduty",
                &self.pagerduty.url,
                &format!("    routing_key = \"{ROUTING_KEY}\"\n"),
            ),
            block("webhook", &self.webhook.url, ""),
            block(
                "webhook",
                &self.hanging.url,
                &format!("    timeout = \"{}s\"\n", HANG_TIMEOUT.as_secs()),
            ),
            block(
                "webhook",
                &self.failing.url,
                "    events = [\"succeeded\", \"rolled_back\"]\n",
            ),
        ]
        .concat()
    }
}

/// The fixture's configuration with the receivers' blocks in its provider block.
fn config(fx: &Fixture, receivers: &Receivers, body: &str) -> String {
    format!(
        "{}\n{}\n{body}",
        bluegreen().required_providers_block(),
        with_blocks(&fx.daemon.provider_block(), &receivers.blocks())
    )
}

/// The kinds of the events received, sorted: they are sent concurrently,
/// so their order of arrival is not promised.
fn kinds(got: &[Received]) -> Vec<String> {
    let mut kinds: Vec<String> = got
        .iter()
        .map(|r| r.body["event"].as_str().unwrap_or("?").to_string())
        .collect();
    kinds.sort();
    kinds
}

fn find<'a>(
    ws: &Workspace,
    out: &Output,
    got: &'a [Received],
    what: &str,
    pick: impl Fn(&Json) -> bool,
) -> &'a Json {
    match got.iter().find(|r| pick(&r.body)) {
        Some(r) => &r.body,
        None => ws.fail(
            Some(out),
            &format!(
                "no {what} among {:?}",
                got.iter().map(|r| &r.body).collect::<Vec<_>>()
            ),
        ),
    }
}

/// The checks every apply shares: the formats' shapes, the 500 and the
/// hanging receiver as warnings naming their block, the hang's cost, and no
/// URL in the output.
fn check_common(
    ws: &Workspace,
    out: &Output,
    receivers: &Receivers,
    ended: Instant,
    last: &str,
) -> Vec<Received> {
    let webhook = receivers.webhook.take();
    for r in &webhook {
        assert_eq!(r.content_type, "application/json");
    }
    for r in receivers.slack.take() {
        let b = &r.body;
        assert!(
            b["text"].as_str().is_some_and(|t| !t.is_empty()),
            "slack text: {b}"
        );
        assert_eq!(b["blocks"][0]["type"], "header", "{b}");
        assert_eq!(b["blocks"][1]["type"], "section", "{b}");
        assert!(
            b["blocks"][1]["fields"]
                .as_array()
                .is_some_and(|f| f.len() >= 5 && f.len() <= 10),
            "{b}"
        );
    }
    let teams = receivers.teams.take();
    assert_eq!(
        teams.len(),
        webhook.len(),
        "teams gets every event the webhook gets"
    );
    for r in teams {
        let a = &r.body["attachments"][0];
        assert_eq!(r.body["type"], "message");
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        assert_eq!(a["content"]["body"][2]["type"], "FactSet");
    }
    // The hanging receiver got the outcome, then held the release at most its
    // timeout: until Terraform had the provider's answer (its trace log's
    // state write for the resource), which leaves out Terraform's own state
    // file writes (a busy disk once stalled those 30 s).
    let hanging = receivers.hanging.take();
    let outcome = hanging
        .iter()
        .filter(|r| r.body["event"] == last)
        .min_by_key(|r| r.at)
        .unwrap_or_else(|| ws.fail(Some(out), &format!("the hanging receiver never got {last}")));
    let answered = ws
        .trace_log()
        .lines()
        .rev()
        .find(|l| {
            l.contains("writeResourceInstanceState to workingState for bluegreen_environment.api")
        })
        .and_then(log_time_ms)
        .unwrap_or_else(|| {
            ws.fail(
                Some(out),
                "no state write for the resource in Terraform's trace log",
            )
        });
    const DAY_MS: u64 = 86_400_000;
    let cost = Duration::from_millis((answered + DAY_MS - outcome.wall_ms % DAY_MS) % DAY_MS);
    let whole = ended.saturating_duration_since(outcome.at);
    announce(&format!(
        "acceptance: alerts: {last}: the provider answered {:.2}s after the hanging receiver got it (timeout {}s); the apply ended {:.2}s after",
        cost.as_secs_f64(),
        HANG_TIMEOUT.as_secs(),
        whole.as_secs_f64()
    ));
    if cost > HANG_TIMEOUT + PROVIDER_SLACK {
        ws.fail(Some(out), &format!("a hanging receiver held the release {cost:?} after the {last} alert; timeout is {HANG_TIMEOUT:?}"));
    }
    // One warning per receiver: Terraform folds warnings of one summary.
    expect_match(
        ws,
        out,
        r"Release alert not delivered to notification\[4\] \(webhook\)",
    );
    expect_match(
        ws,
        out,
        r"Release alert not delivered to notification\[5\] \(webhook\)",
    );
    expect_match(
        ws,
        out,
        &format!(
            r"notification\[4\] \(webhook\) did not accept \d+ alerts? of [^\n]*{last}: no response within"
        ),
    );
    if last != "failed" {
        expect_match(
            ws,
            out,
            &format!(
                r"notification\[5\] \(webhook\) did not accept 1 alert of [^\n]*: {last}: answered HTTP 500 \(ok\), twice"
            ),
        );
        assert_eq!(receivers.failing.take().len(), 2, "one retry after a 500");
    }
    let provider_log: String = out
        .log
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-bluegreen"))
        .collect();
    for text in [&out.stdout, &out.stderr, &provider_log] {
        assert!(
            !text.contains("SECRET") && !text.contains(ROUTING_KEY),
            "a notification secret in Terraform's output"
        );
    }
    webhook
}

#[test]
fn alerts_reach_every_format_and_never_hold_a_release() {
    on_every_cli("alerts_reach_every_format_and_never_hold_a_release", |tf| {
        let fx = Fixture::new("alerts", tf, "shop");
        let receivers = Receivers::start();
        let faulty = fx
            .env("1.2.0")
            .without_smoke_test()
            .var("AGOG_FAULTY_VERSION", "1.3.1")
            .var("AGOG_ERROR_RATE", "0.05");
        let ws = Workspace::new(
            "alerts_reach_every_format_and_never_hold_a_release",
            tf,
            &bluegreen(),
        );
        ws.write_config(&config(&fx, &receivers, &faulty.hcl()));
        ws.init();

        // 1. The first release: started, switched, succeeded.
        let out = ws.run(&["apply", "-auto-approve"]);
        let ended = Instant::now();
        if !out.success() {
            ws.fail(
                Some(&out),
                "the first release failed: alerts must never fail a release",
            );
        }
        let got = check_common(&ws, &out, &receivers, ended, "succeeded");
        assert_eq!(kinds(&got), ["started", "succeeded", "switched"]);
        let done = find(&ws, &out, &got, "succeeded", |b| b["event"] == "succeeded");
        assert_eq!(done["environment"], fx.name.as_str());
        assert_eq!(done["severity"], "info");
        assert_eq!(done["to_version"], "1.2.0");
        assert_eq!(done["to_color"], "blue");
        assert_eq!(done["from_version"], Json::Null);
        assert_eq!(done["release"], format!("bluegreen/{}/1.2.0", fx.name));
        let pd = receivers.pagerduty.take();
        assert_eq!(pd.len(), 1, "PagerDuty gets the resolve only");
        assert_eq!(pd[0].body["event_action"], "resolve");
        assert_eq!(pd[0].body["routing_key"], ROUTING_KEY);

        // 2. A faulty 1.3.1 under load: rolled back, PagerDuty triggers.
        ws.write_config(&config(
            &fx,
            &receivers,
            &faulty.clone().version("1.3.1").hcl(),
        ));
        let front = fx.front_door();
        let since = now_ms();
        let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
        fx.wait_for_requests("blue", since, 200, Duration::from_secs(60));
        let out = ws.run(&["apply", "-auto-approve"]);
        let ended = Instant::now();
        let summary = load.stop();
        if out.code != Some(1) {
            ws.fail(
                Some(&out),
                &format!(
                    "the faulty release exited {:?}, expected 1 (rolled back); load: {summary}",
                    out.code
                ),
            );
        }
        let got = check_common(&ws, &out, &receivers, ended, "rolled_back");
        assert_eq!(kinds(&got), ["rolled_back", "started", "switched"]);
        let back = find(&ws, &out, &got, "rolled_back", |b| {
            b["event"] == "rolled_back"
        });
        assert_eq!(back["severity"], "critical");
        assert_eq!(back["from_version"], "1.2.0");
        assert_eq!(back["from_color"], "blue");
        assert_eq!(back["to_version"], "1.3.1");
        assert_eq!(back["to_color"], "green");
        let rate = back["figures"]["error_rate"].as_f64().unwrap_or(0.0);
        assert!(rate > 0.01, "the rollback's figures: {back}");
        assert!(
            back["figures"]["requests"].as_u64().unwrap_or(0) > 0,
            "{back}"
        );
        assert!(
            back["reason"]
                .as_str()
                .unwrap_or("")
                .contains("is above max_error_rate 1.00%"),
            "{back}"
        );
        let pd = receivers.pagerduty.take();
        let trigger = find(&ws, &out, &pd, "PagerDuty trigger", |b| {
            b["event_action"] == "trigger"
        });
        assert_eq!(pd.len(), 1, "started and switched are not PagerDuty's");
        assert_eq!(trigger["dedup_key"], format!("bluegreen/{}/1.3.1", fx.name));
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(
            trigger["payload"]["source"],
            format!("bluegreen/{}", fx.name)
        );
        assert_eq!(trigger["payload"]["component"], fx.name.as_str());
        assert_eq!(trigger["payload"]["class"], "rolled_back");
        assert!(
            trigger["payload"]["summary"]
                .as_str()
                .unwrap_or("")
                .contains("rolled back"),
            "{trigger}"
        );
        assert!(
            trigger["payload"]["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{trigger}"
        );
        assert_eq!(
            trigger["payload"]["custom_details"]["from"],
            "1.2.0 on blue"
        );
        announce(&format!(
            "acceptance: alerts on Terraform v{}: rolled back at error rate {:.2}%, PagerDuty trigger {}",
            tf.version_string(),
            rate * 100.0,
            trigger["dedup_key"]
        ));

        // 3. 1.3.1 fixed, under load: judged and succeeded, PagerDuty resolves
        //    the same incident.
        ws.write_config(&config(
            &fx,
            &receivers,
            &fx.env("1.3.1").without_smoke_test().hcl(),
        ));
        let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
        let out = ws.run(&["apply", "-auto-approve"]);
        let ended = Instant::now();
        let summary = load.stop();
        if !out.success() {
            ws.fail(
                Some(&out),
                &format!("the fixed release failed; load: {summary}"),
            );
        }
        let got = check_common(&ws, &out, &receivers, ended, "succeeded");
        let done = find(&ws, &out, &got, "succeeded", |b| b["event"] == "succeeded");
        assert_eq!(done["to_version"], "1.3.1");
        assert!(
            !got.iter().any(|r| r.body["event"] == "warning"),
            "a judged, clean release warns of nothing: {:?}",
            kinds(&got)
        );
        let pd = receivers.pagerduty.take();
        let resolve = find(&ws, &out, &pd, "PagerDuty resolve", |b| {
            b["event_action"] == "resolve"
        });
        assert_eq!(
            resolve["dedup_key"], trigger["dedup_key"],
            "the resolve closes the rollback's incident"
        );

        // 4. 1.3.2 with no traffic during its watch: live, but said to be
        //    unjudged (diagnostic and alert), not passed in silence; its
        //    PagerDuty incident is left open for a person (no resolve).
        ws.write_config(&config(
            &fx,
            &receivers,
            &fx.env("1.3.2").without_smoke_test().hcl(),
        ));
        let out = ws.run(&["apply", "-auto-approve"]);
        let ended = Instant::now();
        if !out.success() {
            ws.fail(Some(&out), "the unwatched release failed");
        }
        let got = check_common(&ws, &out, &receivers, ended, "succeeded");
        expect_match(
            &ws,
            &out,
            r"Warning: Release of 1\.3\.2 to shop: not judged by its traffic",
        );
        expect_match(
            &ws,
            &out,
            r"post_switch: the watch saw 0 requests on (blue|green) in \S+, fewer than min_requests = 20; 1\.3\.2 was not judged by its traffic\. It stays live",
        );
        let unjudged = find(&ws, &out, &got, "warning", |b| b["event"] == "warning");
        assert_eq!(unjudged["severity"], "warning");
        assert!(
            unjudged["summary"]
                .as_str()
                .unwrap_or("")
                .starts_with("shop: 1.3.2 is live but was not judged: 0 requests in the "),
            "{unjudged}"
        );
        let pd = receivers.pagerduty.take();
        let actions: Vec<&Json> = pd.iter().map(|r| &r.body["event_action"]).collect();
        assert_eq!(actions, [&Json::from("trigger")], "a warning, no resolve");
        assert_eq!(
            pd[0].body["dedup_key"],
            format!("bluegreen/{}/1.3.2", fx.name)
        );
        assert_eq!(pd[0].body["payload"]["severity"], "warning");
        ws.destroy();
    });
}

/// The seed's warning threshold: 5% errors against `max_error_rate = 0.5`
/// (so no rollback) is above the 0.5% `warn_error_rate`: the apply succeeds
/// with a warning giving the measured rate, and a `warning` alert goes out
/// before the `succeeded` one.
#[test]
fn an_error_rate_above_half_a_percent_warns_without_a_rollback() {
    on_every_cli(
        "an_error_rate_above_half_a_percent_warns_without_a_rollback",
        |tf| {
            let fx = Fixture::new("alerts-warn", tf, "shop");
            let webhook = Receiver::start(Reply::Status(200));
            let slack = Receiver::start(Reply::Status(200));
            let blocks = format!(
            "  notification {{\n    format = \"webhook\"\n    url    = \"{}\"\n  }}\n  notification {{\n    format       = \"slack\"\n    url          = \"{}\"\n    min_severity = \"warning\"\n  }}\n",
            webhook.url, slack.url
        );
            let provider = with_blocks(&fx.daemon.provider_block(), &blocks);
            let config = |body: &str| {
                format!(
                    "{}\n{provider}\n{body}",
                    bluegreen().required_providers_block()
                )
            };
            let mut env = fx
                .env("1.2.0")
                .without_smoke_test()
                .var("AGOG_FAULTY_VERSION", "1.3.1")
                .var("AGOG_ERROR_RATE", "0.05");
            env.max_error_rate = Some("0.5".into());
            let ws = Workspace::new(
                "an_error_rate_above_half_a_percent_warns_without_a_rollback",
                tf,
                &bluegreen(),
            );
            ws.write_config(&config(&env.hcl()));
            ws.init();
            ws.apply();
            webhook.take();
            assert!(
                slack.take().is_empty(),
                "min_severity = warning: a clean release says nothing to Slack"
            );

            ws.write_config(&config(&env.clone().version("1.3.1").hcl()));
            let front = fx.front_door();
            let since = now_ms();
            let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
            fx.wait_for_requests("blue", since, 200, Duration::from_secs(60));
            let out = ws.run(&["apply", "-auto-approve"]);
            let summary = load.stop();
            if !out.success() {
                ws.fail(Some(&out), &format!("5% errors under max_error_rate = 0.5 must not fail the release; load: {summary}"));
            }
            expect_match(
                &ws,
                &out,
                r"Warning: Release of 1\.3\.1 to shop: error rate above the warning threshold",
            );
            let figures = expect_match(
                &ws,
                &out,
                r"error rate (\d+\.\d+)% \((\d+) of (\d+) requests answered 5xx\) is above warn_error_rate 0\.50% \(rollback above max_error_rate 50\.00%\)",
            );
            let rate: f64 = figures[1].parse().expect("a rate");
            announce(&format!(
            "acceptance: alerts on Terraform v{}: warned at error rate {rate}% ({} of {} requests), no rollback",
            tf.version_string(),
            figures[2],
            figures[3]
        ));
            assert!(rate > 0.5, "warned at {rate}%, not above 0.5%");

            let got = webhook.take();
            assert_eq!(kinds(&got), ["started", "succeeded", "switched", "warning"]);
            let warning = find(&ws, &out, &got, "warning", |b| b["event"] == "warning");
            assert_eq!(warning["severity"], "warning");
            assert_eq!(warning["to_version"], "1.3.1");
            assert_eq!(warning["to_color"], "green");
            assert!(
                warning["figures"]["error_rate"].as_f64().unwrap_or(0.0) > 0.005,
                "{warning}"
            );
            let slack = slack.take();
            assert_eq!(
                slack.len(),
                1,
                "Slack gets the warning only (min_severity = warning)"
            );
            assert!(
                slack[0].body["text"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(":warning: shop: 1.3.1 is live with error rate"),
                "{}",
                slack[0].body
            );
            let state = ws.show();
            let api = state.resource(crate::ADDRESS);
            assert_eq!(api.str("version"), "1.3.1");
            assert_eq!(api.str("live_color"), "green");
            assert_eq!(api.str("last_deployment.outcome"), "released");
            ws.destroy();
        },
    );
}
