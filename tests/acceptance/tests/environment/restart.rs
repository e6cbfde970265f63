//! `kill -9` of the daemon and a restart on the same state directory and
//! ports: routing and colours come back, the front door serves the same
//! version, and Terraform sees no change.

use std::time::Duration;

use bluegreen_acceptance::harness::local_platform::wait_for;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, Fixture};

#[test]
fn daemon_kill9_and_restart() {
    on_every_cli("daemon_kill9_and_restart", |tf| {
        let test = "daemon_kill9_and_restart";
        let mut fx = Fixture::new("restart", tf, "shop");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();
        ws.write_config(&fx.config(&fx.env("1.3.0").hcl()));
        ws.apply();
        let front = fx.front_door();
        front.assert_serves(5, "1.3.0", "green");
        let before = fx.status();

        fx.daemon.kill9();
        assert!(
            front.answer().is_err(),
            "the front door still answers with its daemon killed"
        );
        fx.daemon.restart();
        let back = wait_for(
            "the front door to answer again",
            Duration::from_secs(30),
            || front.answer(),
        );
        let after = wait_for(
            "both colours running again",
            Duration::from_secs(30),
            || {
                let s = fx.status();
                let running = ["blue", "green"]
                    .iter()
                    .all(|c| s["colors"][c]["status"] == "running");
                if running {
                    Ok(s)
                } else {
                    Err(s.to_string())
                }
            },
        );
        announce(&format!(
            "acceptance: {test} on Terraform v{}: after restart the front door answered {back:?}; pids blue {} -> {}, green {} -> {}",
            tf.version_string(),
            before["colors"]["blue"]["pid"],
            after["colors"]["blue"]["pid"],
            before["colors"]["green"]["pid"],
            after["colors"]["green"]["pid"],
        ));
        front.assert_serves(100, "1.3.0", "green");
        assert_eq!(
            after["routing"]["primary"], "green",
            "routing after restart: {after}"
        );
        for color in ["blue", "green"] {
            let (b, a) = (&before["colors"][color], &after["colors"][color]);
            assert_eq!(a["version"], b["version"], "{color} after restart: {a}");
            // The daemon adopts colour processes that survived it (local/API.md).
            assert_eq!(
                a["pid"], b["pid"],
                "{color} was restarted rather than adopted: {a}"
            );
        }
        ws.assert_plan_empty("after kill -9 and restart of the daemon");
        destroy_and_check(&ws, &fx);
    });
}
