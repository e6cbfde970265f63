//! A daemon restart while another process holds an environment's `listen` port
//! leaves the front door down: `plan -detailed-exitcode` shows it as drift (exit
//! 2) with a warning, an apply while the port is still busy fails with a
//! diagnostic titled after the front door (not a failed release), and once the
//! port is free the front door serves again and the plan is empty (issue 12,
//! items 4 and 11).

use std::net::TcpListener;
use std::time::Duration;

use bluegreen_acceptance::harness::local_platform::wait_for;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, expect_match, first_error, Fixture};

#[test]
fn busy_listen_port_after_restart_is_drift_and_apply_repairs_it() {
    on_every_cli("busy_listen_port_after_restart", |tf| {
        let test = "busy_listen_port_after_restart";
        let mut fx = Fixture::new("frontdoor_outage", tf, "shop");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();
        let front = fx.front_door();
        front.assert_serves(5, "1.2.0", "blue");

        fx.daemon.kill9();
        let squatter = TcpListener::bind(("127.0.0.1", fx.front_port))
            .expect("another process takes the front door port");
        fx.daemon.restart();
        // The daemon restores before it answers: the outage is visible at once.
        let address = format!("127.0.0.1:{}", fx.front_port);
        let plan = ws.plan();
        if plan.code != Some(2) {
            ws.fail(
                Some(&plan),
                &format!(
                    "plan -detailed-exitcode exited {:?} with the front door down; expected 2",
                    plan.code
                ),
            );
        }
        expect_match(
            &ws,
            &plan,
            &format!(r#"\+ listen\s+= "{}""#, regex::escape(&address)),
        );
        expect_match(
            &ws,
            &plan,
            r#"Warning: Front door of environment "shop" is down"#,
        );

        let down = wait_for(
            "the daemon to report the front door down",
            Duration::from_secs(30),
            || {
                let s = fx.status();
                if s["front_door"]["listening"] == false {
                    Ok(s)
                } else {
                    Err(s["front_door"].to_string())
                }
            },
        );
        assert!(
            down["front_door"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("in use")),
            "the API says why: {}",
            down["front_door"]
        );
        assert!(front.answer().is_err(), "nothing else answers there");

        let busy = ws.run(&["apply", "-auto-approve"]);
        assert!(!busy.success(), "apply succeeded with the port still busy");
        let error = first_error(&busy);
        assert!(
            error.starts_with(&format!("Error: Front door could not listen on {address}"))
                && error.contains("in use")
                && error.contains("local.listen"),
            "the diagnostic is titled after the front door, says why and what to do: {error}"
        );
        assert!(
            !error.contains("Release of"),
            "a listen failure is not a failed release: {error}"
        );

        drop(squatter);
        ws.apply();
        front.assert_serves(20, "1.2.0", "blue");
        let after = fx.status();
        assert_eq!(after["front_door"]["listening"], true, "{after}");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: down with {} failed binds, plan exit 2, apply while busy: {error}",
            tf.version_string(),
            down["front_door"]["bind_attempts"],
        ));
        ws.assert_plan_empty("after the front door listens again");
        destroy_and_check(&ws, &fx);
    });
}

#[test]
fn creating_on_a_busy_listen_port_is_titled_after_the_front_door() {
    on_every_cli("create_on_busy_listen_port", |tf| {
        let test = "create_on_busy_listen_port";
        let fx = Fixture::new("frontdoor_busy_create", tf, "shop");
        let squatter = TcpListener::bind(("127.0.0.1", fx.front_port))
            .expect("another process holds the front door port");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        let busy = ws.run(&["apply", "-auto-approve"]);
        assert!(!busy.success(), "apply succeeded with the port busy");
        let address = format!("127.0.0.1:{}", fx.front_port);
        let error = first_error(&busy);
        assert!(
            error.starts_with(&format!("Error: Front door could not listen on {address}"))
                && error.contains("in use")
                && error.contains("local.listen"),
            "the diagnostic is titled after the front door, says why and what to do: {error}"
        );
        let left = ws.show().managed_addresses();
        assert!(
            left.is_empty(),
            "nothing is in state after the failed create: {left:?}"
        );
        drop(squatter);
        ws.apply();
        fx.front_door().assert_serves(5, "1.2.0", "blue");
        destroy_and_check(&ws, &fx);
    });
}
