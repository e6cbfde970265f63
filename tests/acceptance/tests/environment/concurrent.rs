//! Two pipelines apply to the same environment at once, from two working
//! directories: one releases, the other fails with "locked by …" naming the
//! first, and nothing is half-switched.

use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::workspace::COMMAND_TIMEOUT;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, expect_match, first_error, Fixture, ADDRESS};

#[test]
fn concurrent_applies_one_is_locked() {
    on_every_cli("concurrent_applies_one_is_locked", |tf| {
        let test = "concurrent_applies_one_is_locked";
        let fx = Fixture::new("concurrent", tf, "shop");
        // A long enough release that the two applies overlap.
        let env = |v: &str| {
            let mut e = fx.env(v);
            e.window = "6s".into();
            fx.config(&e.hcl())
        };
        let a = Workspace::new(test, tf, &bluegreen());
        a.write_config(&env("1.2.0"));
        a.init();
        a.apply();
        // The second pipeline has the same state (as with a shared backend).
        let b = a.sibling("second");
        std::fs::copy(a.state_file(), b.state_file()).expect("copy the state");
        b.write_config(&env("1.2.0"));
        b.init();
        b.assert_plan_empty("the second working directory before the race");

        a.write_config(&env("1.3.0"));
        b.write_config(&env("1.4.0"));
        let started = Instant::now();
        let (mut run_a, mut run_b) = (
            a.spawn(&["apply", "-auto-approve"]),
            b.spawn(&["apply", "-auto-approve"]),
        );
        // When each one ended (the outputs' own timings start when waited for).
        let (mut ended_a, mut ended_b) = (None, None);
        while (ended_a.is_none() || ended_b.is_none()) && started.elapsed() < COMMAND_TIMEOUT {
            if ended_a.is_none() && run_a.try_wait().is_some() {
                ended_a = Some(started.elapsed());
            }
            if ended_b.is_none() && run_b.try_wait().is_some() {
                ended_b = Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let (out_a, out_b) = (
            a.wait(run_a, Duration::from_secs(5)),
            b.wait(run_b, Duration::from_secs(5)),
        );
        let (winner, loser, lost, version) = match (out_a.success(), out_b.success()) {
            (true, false) => (&a, &b, &out_b, "1.3.0"),
            (false, true) => (&b, &a, &out_a, "1.4.0"),
            (true, true) => a.fail(
                Some(&out_b),
                "both applies succeeded: they did not overlap, or the lock did not hold",
            ),
            (false, false) => a.fail(Some(&out_a), "both applies failed"),
        };
        let secs = |t: Option<Duration>| t.unwrap_or_default().as_secs_f64();
        let (won_after, lost_after) = if version == "1.3.0" {
            (secs(ended_a), secs(ended_b))
        } else {
            (secs(ended_b), secs(ended_a))
        };
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {version} released in {won_after:.1}s; the other apply was refused after {lost_after:.1}s: {}",
            tf.version_string(),
            first_error(lost)
        ));
        expect_match(loser, lost, r#"Error: Environment "shop" is locked"#);
        // The message names the other run: a terraform process in the winner's directory.
        let owner = expect_match(
            loser,
            lost,
            r#"environment "shop" is locked by (terraform \(pid \d+\) on \S+ in (\S+)) since"#,
        );
        assert_eq!(
            owner[2],
            winner.dir().display().to_string(),
            "the lock message names {} rather than the winning working directory",
            owner[1]
        );

        // Exactly one version is served: the winner's, on its own colour.
        let status = fx.status();
        let live = status["routing"]["primary"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(status["colors"][&live]["version"], version, "{status}");
        fx.front_door().assert_serves(100, version, &live);
        assert_eq!(winner.show().resource(ADDRESS).str("version"), version);
        assert_eq!(
            loser.show().resource(ADDRESS).str("version"),
            "1.2.0",
            "the refused run's state keeps the version it last saw live"
        );
        winner.assert_plan_empty("the winner after the race");
        destroy_and_check(winner, &fx);
    });
}
