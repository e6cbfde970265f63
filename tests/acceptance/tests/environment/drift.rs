//! The on-call emergency switch outside Terraform (`bluegreen-local switch`)
//! shows as drift: `plan -detailed-exitcode` exits 2 with the change, and
//! apply puts the configured version back on the front door.

use std::process::Command;
use std::rc::Rc;

use bluegreen_acceptance::harness::local_platform::workspace_binary;
use bluegreen_acceptance::harness::{on_every_cli, Step, TestCase};
use regex::Regex;

use crate::{bluegreen, unwrapped, Fixture, ADDRESS};

#[test]
fn emergency_switch_shows_as_drift() {
    on_every_cli("emergency_switch_shows_as_drift", |tf| {
        let fx = Rc::new(Fixture::new("drift", tf, "shop"));
        let v130 = fx.config(&fx.env("1.3.0").hcl());
        let (fx_before, fx_after) = (fx.clone(), fx.clone());
        let green_pid = Rc::new(std::cell::Cell::new(None));
        let (pid_before, pid_after) = (green_pid.clone(), green_pid.clone());
        TestCase::new("emergency_switch_shows_as_drift", bluegreen())
            .step(Step::new(fx.config(&fx.env("1.2.0").hcl())))
            .step(Step::new(v130.clone()))
            .step(
                Step::new(v130)
                    .before(move |_| {
                        let fx = &fx_before;
                        pid_before.set(fx.daemon.api().color_pid(&fx.name, "green"));
                        let out = Command::new(workspace_binary("bluegreen-local"))
                            .args([
                                "switch",
                                &fx.name,
                                "blue",
                                "-m",
                                "acceptance: on-call drill",
                            ])
                            .arg("--endpoint")
                            .arg(fx.daemon.endpoint())
                            .arg("--state-dir")
                            .arg(fx.daemon.state_dir())
                            .output()
                            .expect("run bluegreen-local switch");
                        assert!(
                            out.status.success(),
                            "bluegreen-local switch failed: {}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        );
                        fx.front_door().assert_serves(20, "1.2.0", "blue");
                    })
                    .plan_check(|plan| {
                        assert_eq!(
                            plan.code,
                            Some(2),
                            "the emergency switch must show as a change"
                        );
                        let text = unwrapped(&plan.stdout);
                        for pattern in [
                            r"# bluegreen_environment\.api will be updated in-place",
                            r#"~ version\s+= "1\.2\.0" -> "1\.3\.0""#,
                            r#"~ live_color\s+= "blue" -> \(known after apply\)"#,
                            r"Plan: 0 to add, 1 to change, 0 to destroy\.",
                        ] {
                            assert!(
                                Regex::new(pattern).expect("regex").is_match(&text),
                                "the plan lacks /{pattern}/:\n{}",
                                plan.stdout
                            );
                        }
                    })
                    .check(|state| {
                        let api = state.resource(ADDRESS);
                        assert_eq!(api.str("version"), "1.3.0");
                        assert_eq!(api.str("live_color"), "green");
                    })
                    .after(move |_| {
                        let fx = &fx_after;
                        fx.front_door().assert_serves(50, "1.3.0", "green");
                        assert_eq!(
                            fx.daemon.api().color_pid(&fx.name, "green"),
                            pid_after.get(),
                            "restoring the switch restarted green"
                        );
                    }),
            )
            .run_on(tf);
    });
}
