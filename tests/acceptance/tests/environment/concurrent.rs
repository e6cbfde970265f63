//! Two pipelines apply to the same environment at once, from two working
//! directories: one releases, the other fails with "locked by …" naming the
//! first, and nothing is half-switched.

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
        let (run_a, run_b) = (
            a.spawn(&["apply", "-auto-approve"]),
            b.spawn(&["apply", "-auto-approve"]),
        );
        let (out_a, out_b) = (
            a.wait(run_a, COMMAND_TIMEOUT),
            b.wait(run_b, COMMAND_TIMEOUT),
        );
        let (winner, won, loser, lost, version) = match (out_a.success(), out_b.success()) {
            (true, false) => (&a, &out_a, &b, &out_b, "1.3.0"),
            (false, true) => (&b, &out_b, &a, &out_a, "1.4.0"),
            (true, true) => a.fail(
                Some(&out_b),
                "both applies succeeded: they did not overlap, or the lock did not hold",
            ),
            (false, false) => a.fail(Some(&out_a), "both applies failed"),
        };
        let losing_version = if version == "1.3.0" { "1.4.0" } else { "1.3.0" };
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {version} released in {:.1}s; {losing_version} refused after {:.1}s",
            tf.version_string(),
            won.elapsed.as_secs_f64(),
            lost.elapsed.as_secs_f64()
        ));
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {}",
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
