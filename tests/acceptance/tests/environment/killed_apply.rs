//! A `terraform apply` killed with `kill -9` in the middle of a release (issue 12,
//! item 5): the provider notices Terraform is gone and exits within seconds,
//! releasing the environment's lock; a provider killed with it leaves a lock
//! the daemon frees because its process is gone; while the apply runs, the lock
//! is a short lease, renewed. A lock held by a run that is still going names
//! it, says when it expires and how to break it; `bluegreen-local unlock`
//! breaks it under the operator's name.

use std::process::Command;
use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::local_platform::{
    now_ms, pid_alive, signal_pid, wait_for, workspace_binary,
};
use bluegreen_acceptance::harness::{announce, on_every_cli, Running, Workspace};
use serde_json::Value as Json;

use crate::{bluegreen, destroy_and_check, expect_match, Fixture, ADDRESS};

/// The environment in every test here.
const ENV: &str = "shop";

/// What the daemon says about the environment's lock: `null` or a LockInfo.
fn lock_of(fx: &Fixture) -> Json {
    fx.daemon
        .api()
        .get(&format!("/v1/environments/{ENV}/lock"))
        .unwrap_or_else(|e| panic!("reading the lock: {e}"))["lock"]
        .clone()
}

/// The daemon's audit entries of the environment, oldest first.
fn audit_of(fx: &Fixture) -> Vec<Json> {
    let audit = fx
        .daemon
        .api()
        .get(&format!("/v1/audit?environment={ENV}"))
        .unwrap_or_else(|e| panic!("reading the audit log: {e}"));
    audit["entries"].as_array().cloned().unwrap_or_default()
}

/// The killed release switched (the watch had begun): the switch the daemon made
/// is in its audit log, even though the client that asked for it is gone.
fn assert_switch_audited(fx: &Fixture, version: &str) {
    let audit = audit_of(fx);
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "switch" && e["to_version"] == version),
        "the switch to {version} is live but not in the audit log: {audit:?}"
    );
}

/// Unix ms of the daemon's `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339_ms(s: &str) -> u64 {
    let n = |range: std::ops::Range<usize>| -> i64 {
        s.get(range)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("not an RFC 3339 time: {s:?}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    u64::try_from(secs * 1000 + n(20..23)).unwrap_or(0)
}

/// Every process in the process group `group`.
fn processes_in_group(group: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // Fields after the parenthesised name: state, ppid, pgrp, ...
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split(' ').nth(2)?.parse::<u32>().ok())
                    == Some(group)
            })
        })
        .collect()
}

/// Starts `apply` of `version` with a long post-switch watch and waits until the
/// release has switched and is watching, holding the lock. Returns the run and
/// the lock as the daemon showed it then.
fn release_into_a_long_watch(fx: &Fixture, ws: &Workspace, version: &str) -> (Running, Json) {
    let mut env = fx.env(version);
    env.window = "120s".into();
    ws.write_config(&fx.config(&env.hcl()));
    let run = ws.spawn(&["apply", "-auto-approve"]);
    let lock = wait_for(
        "the release to switch and start its watch under the lock",
        Duration::from_secs(120),
        || {
            let status = fx.status();
            let live = status["routing"]["primary"].as_str().unwrap_or_default();
            let serving = status["colors"][live]["version"].as_str() == Some(version);
            let lock = lock_of(fx);
            if serving && !lock.is_null() {
                Ok(lock)
            } else {
                Err(format!("lock {lock}, routing {}", status["routing"]))
            }
        },
    );
    (run, lock)
}

/// The provider process of the apply led by `group`.
fn provider_pid(group: u32) -> u32 {
    let providers: Vec<u32> = processes_in_group(group)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("terraform-provider-bluegreen"))
        })
        .collect();
    match providers[..] {
        [pid] => pid,
        _ => panic!("expected one provider process in group {group}, found {providers:?}"),
    }
}

#[test]
fn killed_terraform_frees_the_lock_and_its_provider_exits() {
    on_every_cli(
        "killed_terraform_frees_the_lock_and_its_provider_exits",
        |tf| {
            let test = "killed_terraform_frees_the_lock_and_its_provider_exits";
            let fx = Fixture::new("killed-tf", tf, ENV);
            let ws = Workspace::new(test, tf, &bluegreen());
            ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
            ws.init();
            ws.apply();

            let (run, _) = release_into_a_long_watch(&fx, &ws, "1.3.0");
            let provider = provider_pid(run.pid());

            // kill -9 Terraform (with Terraform 1.0, its panicwrap child too), not the provider.
            let terraform: Vec<u32> = processes_in_group(run.pid())
                .into_iter()
                .filter(|p| *p != provider)
                .collect();
            for pid in &terraform {
                signal_pid(*pid, libc::SIGKILL);
            }
            let killed = Instant::now();
            wait_for("the provider to exit", Duration::from_secs(20), || {
                if pid_alive(provider) {
                    Err(format!("provider {provider} still runs"))
                } else {
                    Ok(())
                }
            });
            let exited_after = killed.elapsed();
            let lock_after = lock_of(&fx);
            assert!(
                lock_after.is_null(),
                "the provider exited but left the lock: {lock_after}"
            );
            let out = ws.wait(run, Duration::from_secs(5));
            assert_eq!(out.code, None, "terraform was killed");

            // Traffic stays on the colour that passed the gate.
            let status = fx.status();
            let live = status["routing"]["primary"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            fx.front_door().assert_serves(20, "1.3.0", &live);
            assert_switch_audited(&fx, "1.3.0");

            // The next release takes the lock without waiting for anything.
            ws.write_config(&fx.config(&fx.env("1.4.0").hcl()));
            let next = ws.apply();
            let completed = expect_match(&ws, &next, r"Modifications complete after (\S+)");
            announce(&format!(
                "acceptance: {test} on Terraform v{}: provider exited {:.1}s after kill -9 of terraform ({terraform:?}); the next release took {:.1}s (resource: {})",
                tf.version_string(),
                exited_after.as_secs_f64(),
                next.elapsed.as_secs_f64(),
                completed[1]
            ));
            assert_eq!(ws.show().resource(ADDRESS).str("version"), "1.4.0");
            ws.assert_plan_empty("after the apply that followed the killed one");
            destroy_and_check(&ws, &fx);
        },
    );
}

#[test]
fn lock_of_a_killed_provider_is_freed_at_once() {
    on_every_cli("lock_of_a_killed_provider_is_freed_at_once", |tf| {
        let test = "lock_of_a_killed_provider_is_freed_at_once";
        let fx = Fixture::new("killed-all", tf, ENV);
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();

        let (run, _) = release_into_a_long_watch(&fx, &ws, "1.3.0");
        let provider = provider_pid(run.pid());
        // kill -9 the whole apply, provider included: nothing releases the lock.
        run.signal_group(libc::SIGKILL)
            .unwrap_or_else(|e| panic!("kill -9 the apply: {e}"));
        wait_for("the provider to die", Duration::from_secs(20), || {
            if pid_alive(provider) {
                Err(format!("provider {provider} still runs"))
            } else {
                Ok(())
            }
        });
        let _ = ws.wait(run, Duration::from_secs(5));
        // Its lease has most of a minute left, but its holder is gone from this machine.
        let lock_after = lock_of(&fx);
        assert!(
            lock_after.is_null(),
            "a lock whose process is gone still shows as held: {lock_after}"
        );
        assert_switch_audited(&fx, "1.3.0");
        // The next release takes the lock at once.
        ws.write_config(&fx.config(&fx.env("1.4.0").hcl()));
        ws.apply();
        assert_eq!(ws.show().resource(ADDRESS).str("version"), "1.4.0");
        let freed = format!("its process {provider} on this machine is gone");
        let audit = audit_of(&fx);
        assert!(
            audit.iter().any(|e| e["action"] == "unlock"
                && e["actor"] == "bluegreen-local"
                && e["message"].as_str().is_some_and(|m| m.contains(&freed))),
            "no audit entry says the dead holder's lock was freed: {audit:?}"
        );
        ws.assert_plan_empty("after the apply that followed the killed one");
        destroy_and_check(&ws, &fx);
    });
}

#[test]
fn lock_error_says_when_it_expires_and_unlock_breaks_it() {
    on_every_cli(
        "lock_error_says_when_it_expires_and_unlock_breaks_it",
        |tf| {
            let test = "lock_error_says_when_it_expires_and_unlock_breaks_it";
            let fx = Fixture::new("lock-error", tf, ENV);
            let ws = Workspace::new(test, tf, &bluegreen());
            ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
            ws.init();
            ws.apply();

            // Another pipeline, on another machine, holds the lock.
            let api = fx.daemon.api();
            let token = api.token().unwrap_or_else(|e| panic!("token: {e}"));
            let reply = bluegreen_acceptance::harness::http::request(
            "POST",
            &format!("{}/v1/environments/{ENV}/lock", api.endpoint),
            &[("Authorization", &format!("Bearer {token}"))],
            Some(r#"{"owner": "terraform (pid 4242) on ci-7 in /pipelines/shop", "ttl_secs": 600}"#),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("taking the lock: {e}"));
            assert_eq!(reply.status, 200, "{}", reply.body);

            ws.write_config(&fx.config(&fx.env("1.3.0").hcl()));
            let out = ws.run(&["apply", "-auto-approve"]);
            assert!(!out.success(), "the apply ran under someone else's lock");
            expect_match(&ws, &out, r#"Error: Environment "shop" is locked"#);
            let said = expect_match(
                &ws,
                &out,
                r#"environment "shop" is locked by terraform \(pid 4242\) on ci-7 in /pipelines/shop since \S+; the lock expires at (\S+) \(in (\d+) s\) unless that run renews it"#,
            );
            let left: u64 = said[2].parse().unwrap_or(0);
            assert!((500..=600).contains(&left), "expires in {left} s: {said:?}");
            let command = expect_match(
                &ws,
                &out,
                r"If that run is dead \(killed, or its machine is gone\), break the lock with `(bluegreen-local unlock shop [^`]+)`; breaking the lock of a run that is still going is unsafe",
            );
            // The command as printed works: run it as the on-call engineer would.
            let args: Vec<&str> = command[1].split(' ').skip(1).collect();
            let unlock = Command::new(workspace_binary("bluegreen-local"))
                .args(&args)
                .env("USER", "oncall")
                .env_remove("BLUEGREEN_LOCAL_TOKEN")
                .env_remove("BLUEGREEN_LOCAL_ENDPOINT")
                .env_remove("BLUEGREEN_LOCAL_STATE_DIR")
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", command[1]));
            let printed = String::from_utf8_lossy(&unlock.stdout);
            assert!(
                unlock.status.success()
                    && printed.starts_with(
                        "shop: broke the lock of terraform (pid 4242) on ci-7 in /pipelines/shop"
                    ),
                "{}: {printed}{}",
                command[1],
                String::from_utf8_lossy(&unlock.stderr)
            );
            let audit = api
                .get(&format!("/v1/audit?environment={ENV}&limit=1"))
                .unwrap_or_else(|e| panic!("reading the audit log: {e}"));
            let last = &audit["entries"][0];
            assert_eq!(last["actor"], "cli:oncall", "{audit}");
            assert_eq!(last["action"], "unlock", "{audit}");

            ws.apply();
            assert_eq!(ws.show().resource(ADDRESS).str("version"), "1.3.0");
            destroy_and_check(&ws, &fx);
        },
    );
}

#[test]
fn lease_is_short_and_renewed_while_the_release_runs() {
    on_every_cli("lease_is_short_and_renewed_while_the_release_runs", |tf| {
        let test = "lease_is_short_and_renewed_while_the_release_runs";
        let fx = Fixture::new("lease", tf, ENV);
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();

        let (run, lock) = release_into_a_long_watch(&fx, &ws, "1.3.0");
        // One minute from now at most, not the apply's timeout (30 min) plus one.
        let left_ms =
            rfc3339_ms(lock["expires_at"].as_str().unwrap_or_default()).saturating_sub(now_ms());
        assert!(
            left_ms <= 61_000,
            "the lease runs {left_ms} ms more: {lock}"
        );
        let renewed = wait_for("the lease to be renewed", Duration::from_secs(60), || {
            let now = lock_of(&fx);
            if now["since"] == lock["since"]
                && now["expires_at"].as_str() > lock["expires_at"].as_str()
            {
                Ok(now)
            } else {
                Err(now.to_string())
            }
        });
        assert_eq!(
            lock["pid"],
            provider_pid(run.pid()),
            "the lock names the provider's process, whose end frees it"
        );
        announce(&format!(
            "acceptance: {test} on Terraform v{}: lease taken at {} until {}, renewed until {}",
            tf.version_string(),
            lock["since"],
            lock["expires_at"],
            renewed["expires_at"]
        ));
        // Ctrl-C: Terraform stops the release and the provider releases the lock.
        run.signal_group(libc::SIGINT)
            .unwrap_or_else(|e| panic!("Ctrl-C: {e}"));
        let out = ws.wait(run, Duration::from_secs(60));
        assert!(!out.success(), "the interrupted apply succeeded");
        let lock_after = lock_of(&fx);
        assert!(
            lock_after.is_null(),
            "the interrupted apply left the lock: {lock_after}"
        );
    });
}
