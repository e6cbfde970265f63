//! Release progress reaches the local platform (issue 16): a real release and
//! the automatic rollback of a faulty one, driven by Terraform, leave in the
//! daemon's API their phases in order, their steps, the watch's figures, and
//! the rollback's reason with its measured rate; `bluegreen-local status`
//! shows the last one.

use std::process::Command;

use bluegreen_acceptance::harness::local_platform::workspace_binary;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};
use serde_json::Value as Json;

use crate::{
    apply_rolled_back_under_load, bluegreen, destroy_and_check, expect_match, Fixture, Load,
    ADDRESS, LOAD_BOUNDS,
};

fn phases(release: &Json) -> Vec<&str> {
    release["phases"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["phase"].as_str()).collect())
        .unwrap_or_default()
}

fn steps(release: &Json) -> Vec<&str> {
    release["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["text"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn release_progress_reaches_the_daemon() {
    on_every_cli("release_progress_reaches_the_daemon", |tf| {
        let test = "release_progress_reaches_the_daemon";
        let fx = Fixture::new("progress", tf, "shop");
        let env = fx
            .env("1.2.0")
            .var("AGOG_FAULTY_VERSION", "1.3.1")
            .var("AGOG_ERROR_RATE", "0.05");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        ws.apply();
        let api = fx.daemon.api();
        let front = fx.front_door();
        let releases = |ws: &Workspace| -> Vec<Json> {
            match api.get(&format!("/v1/environments/{}/releases", fx.name)) {
                Ok(list) => list["releases"].as_array().cloned().unwrap_or_default(),
                Err(e) => ws.fail(None, &format!("reading the releases: {e}")),
            }
        };
        let first = releases(&ws);
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(
            phases(&first[0]),
            ["deploying", "validating", "switching", "done"],
            "the first release has nothing to watch: {:?}",
            first[0]
        );

        // A release under traffic: every phase, the smoke test, the watch's figures.
        ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
        let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
        ws.apply();
        load.stop();
        let state = ws.show();
        let all = releases(&ws);
        assert_eq!(all.len(), 2);
        let r = &all[0];
        assert_eq!(r["id"], state.resource(ADDRESS).str("last_deployment.id"));
        assert_eq!(
            phases(r),
            ["deploying", "validating", "switching", "watching", "done"],
            "{r}"
        );
        assert_eq!(
            (
                &r["version"],
                &r["color"],
                &r["previous_color"],
                &r["previous_version"],
                &r["actor"]
            ),
            (
                &Json::from("1.3.0"),
                &Json::from("green"),
                &Json::from("blue"),
                &Json::from("1.2.0"),
                &Json::from("terraform")
            )
        );
        let texts = steps(r);
        for expected in [
            "deploying 1.3.0 to green",
            "health check passed on green",
            "smoke test \"orders\" passed on green",
            "front door switched to green",
            "watch passed after",
        ] {
            assert!(
                texts.iter().any(|t| t.starts_with(expected)),
                "{expected:?} missing in {texts:#?}"
            );
        }
        assert!(
            r["figures"]["requests"].as_u64().unwrap_or(0) > 0,
            "the watch's figures: {r}"
        );
        assert!(r["reason"]
            .as_str()
            .is_some_and(|t| t.starts_with("1.3.0 is live on green")));

        // A faulty release: rolled back, with the reason and the measured rate.
        ws.write_config(&fx.config(&env.clone().version("1.3.1").hcl()));
        let (apply, _) = apply_rolled_back_under_load(&ws, &fx, "green");
        expect_match(&ws, &apply, r"Error: Release of 1\.3\.1 rolled back");
        let all = releases(&ws);
        assert_eq!(all.len(), 3);
        let r = &all[0];
        assert_eq!(r["version"], "1.3.1");
        assert_eq!(
            phases(r),
            [
                "deploying",
                "validating",
                "switching",
                "watching",
                "rolled_back"
            ],
            "{r}"
        );
        let reason = r["reason"].as_str().unwrap_or_default();
        let re = regex::Regex::new(
            r"error rate (\d+\.\d+)% \((\d+) of (\d+) requests answered 5xx\) is above max_error_rate 1\.00%",
        )
        .expect("regex");
        let Some(caps) = re.captures(reason) else {
            ws.fail(
                Some(&apply),
                &format!("the rollback's reason lacks its rate: {r}"),
            );
        };
        let rate: f64 = caps[1].parse().expect("a rate");
        assert!(
            (2.0..=10.0).contains(&rate),
            "the measured error rate {rate}% is far from the injected 5%"
        );
        assert!(
            reason.contains("switched back to green (1.3.0)"),
            "{reason}"
        );
        let watched = r["figures"]["error_rate"].as_f64().unwrap_or(0.0);
        assert!(
            watched > 0.01,
            "the watch's last figures show the breach: {r}"
        );
        assert!(
            steps(r)
                .iter()
                .any(|t| t.starts_with("rolled back to green")),
            "{r}"
        );
        announce(&format!(
            "acceptance: {test} on Terraform v{}: phases {:?}, rollback at {rate}% ({} of {} requests), watch figures {}",
            tf.version_string(),
            phases(r),
            &caps[2],
            &caps[3],
            r["figures"]
        ));

        // The terminal view shows it.
        let out = Command::new(workspace_binary("bluegreen-local"))
            .args(["status", &fx.name])
            .env("BLUEGREEN_LOCAL_ENDPOINT", fx.daemon.endpoint())
            .env("BLUEGREEN_LOCAL_STATE_DIR", fx.daemon.state_dir())
            .env_remove("BLUEGREEN_LOCAL_TOKEN")
            .output()
            .expect("running bluegreen-local status");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("release ROLLED_BACK: 1.3.1 on blue from 1.3.0 on green")
                && text.contains(
                    "phases: deploying → validating → switching → watching → rolled_back"
                ),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        destroy_and_check(&ws, &fx);
    });
}
