//! Fixing the definition fixes the release: after a gate refused 1.3.0
//! started with a bad `env`, correcting `env` and applying the same version
//! again redeploys the idle colour (a new process) instead of reusing the
//! broken one, and the release goes through. The live colour keeps its
//! process until the release replaces it.

use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, expect_match, Fixture, ADDRESS};

#[test]
fn fixing_the_env_redeploys_the_idle_colour() {
    on_every_cli("fixing_the_env_redeploys_the_idle_colour", |tf| {
        let test = "fixing_the_env_redeploys_the_idle_colour";
        let fx = Fixture::new("redefine", tf, "fixme");
        let api = fx.daemon.api();
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();
        let blue = api.color_pid(&fx.name, "blue");
        assert!(blue.is_some(), "1.2.0 runs on blue");

        // A bad setting: every process started with it answers its health check 503.
        let broken = fx.env("1.3.0").var("AGOG_UNHEALTHY", "true");
        ws.write_config(&fx.config(&broken.hcl()));
        let refused = ws.run(&["apply", "-auto-approve"]);
        if refused.code != Some(1) {
            ws.fail(
                Some(&refused),
                &format!(
                    "the broken 1.3.0 applied with {:?}, expected 1",
                    refused.code
                ),
            );
        }
        expect_match(
            &ws,
            &refused,
            r"Error: Release of 1\.3\.0 refused: health check failed",
        );
        let broken_green = api.color_pid(&fx.name, "green");
        assert!(
            broken_green.is_some(),
            "the refused 1.3.0 keeps running on green"
        );
        assert_eq!(
            api.color_pid(&fx.name, "blue"),
            blue,
            "redefining restarted the live colour"
        );

        // The fix: the same version, without the bad setting.
        ws.write_config(&fx.config(&fx.env("1.3.0").hcl()));
        let fixed = ws.run(&["apply", "-auto-approve"]);
        let green = api.color_pid(&fx.name, "green");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: green pid {broken_green:?} (refused) -> {green:?} (fixed), apply exit {:?} in {:.1}s",
            tf.version_string(),
            fixed.code,
            fixed.elapsed.as_secs_f64()
        ));
        if !fixed.success() {
            ws.fail(
                Some(&fixed),
                "applying 1.3.0 again with the corrected env failed",
            );
        }
        assert_ne!(
            green, broken_green,
            "the corrected release reused the broken green process"
        );
        fx.front_door().assert_serves(20, "1.3.0", "green");
        assert_eq!(
            api.color_pid(&fx.name, "blue"),
            blue,
            "1.2.0 on blue is kept for instant rollback"
        );
        let state = ws.show();
        let env = state.resource(ADDRESS);
        assert_eq!(env.str("version"), "1.3.0");
        assert_eq!(env.str("last_deployment.outcome"), "released");
        ws.assert_plan_empty("after the corrected release");
        destroy_and_check(&ws, &fx);
    });
}
