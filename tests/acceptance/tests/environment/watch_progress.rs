//! A release waits out its post-switch window while Terraform prints only
//! "Still modifying…": with `TF_LOG=info` the watch's progress is in
//! Terraform's log, with the elapsed time, requests, error rate and limits.

use std::time::Duration;

use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};
use regex::Regex;

use crate::{bluegreen, destroy_and_check, now_ms, Fixture, Load, LOAD_BOUNDS};

#[test]
fn post_switch_watch_logs_progress_at_info() {
    on_every_cli("post_switch_watch_logs_progress_at_info", |tf| {
        let test = "post_switch_watch_logs_progress_at_info";
        let fx = Fixture::new("watch-log", tf, "shop");
        let mut env = fx.env("1.2.0");
        env.window = "6s".into();
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        ws.apply();

        // What a user asking for `TF_LOG=info` gets, no more.
        ws.set_env("TF_LOG", "info");
        ws.set_env("TF_LOG_PROVIDER", "info");
        ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
        let started = now_ms();
        let load = Load::start(&fx.front_door().url("/api/version"), 2, LOAD_BOUNDS);
        fx.wait_for_requests("blue", started, 20, Duration::from_secs(60));
        let apply = ws.run_ok(&["apply", "-auto-approve"]);
        let summary = load.stop();

        let line = Regex::new(&format!(
            r"\[INFO\]\s+provider\.terraform-provider-bluegreen\S*: post-switch watch of {}: (\d+)s of 6s, (\d+) requests, error rate \d+\.\d+% \(limit 1\.00%\), p95 ",
            fx.name
        ))
        .expect("a valid pattern");
        let progress: Vec<(u64, u64)> = apply
            .log
            .lines()
            .filter_map(|l| line.captures(l))
            .filter_map(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?)))
            .collect();
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {} progress lines {progress:?} (elapsed s, requests); load: {summary}",
            tf.version_string(),
            progress.len()
        ));
        if progress.len() < 2 {
            ws.fail(
                Some(&apply),
                "with TF_LOG=info, Terraform's log has fewer than 2 progress lines of the 6s post-switch watch",
            );
        }
        assert!(
            progress.windows(2).all(|w| w[0].0 <= w[1].0),
            "the watch's elapsed seconds go backwards: {progress:?}"
        );
        assert!(
            progress.last().is_some_and(|(_, requests)| *requests > 0),
            "the watch's progress never counted a request under load: {progress:?}"
        );

        destroy_and_check(&ws, &fx);
    });
}
