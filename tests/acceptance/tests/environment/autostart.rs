//! `autostart = true` with nothing listening: the provider starts
//! `bluegreen-local` itself, and the release goes through it.

use bluegreen_acceptance::harness::local_platform::{
    free_port, pid_alive, wait_for, workspace_binary, AdminApi, STOP_GRACE,
};
use bluegreen_acceptance::harness::workspace::PIPES_HELD_NOTE;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, EnvConfig, FrontDoor, ADDRESS};

/// Stops the daemon the provider started (found by the pid its health
/// endpoint reports), however the test ends.
struct Autostarted(AdminApi);

impl Drop for Autostarted {
    fn drop(&mut self) {
        self.0.stop_daemon();
    }
}

/// `fd -> target` for every open descriptor of a process.
fn descriptors(pid: u64) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = dir
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn autostart_starts_the_daemon() {
    on_every_cli("autostart_starts_the_daemon", |tf| {
        let test = "autostart_starts_the_daemon";
        let ws = Workspace::new(test, tf, &bluegreen());
        let api = AdminApi {
            endpoint: format!("http://127.0.0.1:{}", free_port()),
            state_dir: ws.dir().join("platform"),
        };
        let guard = Autostarted(api.clone());
        assert!(
            api.health().is_err(),
            "something already answers at {}",
            api.endpoint
        );
        ws.set_env("BLUEGREEN_LOCAL_BIN", workspace_binary("bluegreen-local"));

        let front_port = free_port();
        let mut env = EnvConfig::new("shop", "1.2.0", front_port);
        env.health_deadline = "5s".into();
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{\n  local {{\n    endpoint  = \"{}\"\n    state_dir = \"{}\"\n    autostart = true\n  }}\n}}\n\n{}",
            bluegreen().required_providers_block(),
            api.endpoint,
            api.state_dir.display(),
            env.hcl()
        ));
        ws.init();
        let apply = ws.run(&["apply", "-auto-approve"]);
        if !apply.success() {
            ws.fail(Some(&apply), "the apply with autostart failed");
        }

        let health = api.health().unwrap_or_else(|e| {
            ws.fail(
                Some(&apply),
                &format!("no daemon answers after apply with autostart: {e}"),
            )
        });
        let pid = health["pid"].as_u64().expect("health reports the pid");
        if apply.stderr.contains(PIPES_HELD_NOTE) {
            ws.fail(
                Some(&apply),
                &format!(
                    "the daemon the provider started (pid {pid}) holds Terraform's stdout/stderr, \
                     so a pipeline reading Terraform's output (`terraform apply | tee`) never ends; \
                     its descriptors: {}",
                    descriptors(pid).join(", ")
                ),
            );
        }
        announce(&format!(
            "acceptance: {test} on Terraform v{}: the provider started bluegreen-local pid {pid} serving {}",
            tf.version_string(),
            health["state_dir"]
        ));
        assert!(
            api.state_dir.join("token").is_file(),
            "the started daemon serves the configured state_dir"
        );
        let state = ws.show();
        assert_eq!(state.resource(ADDRESS).str("version"), "1.2.0");
        FrontDoor {
            base: format!("http://127.0.0.1:{front_port}"),
        }
        .assert_serves(10, "1.2.0", "blue");
        ws.assert_plan_empty("after an apply that started the daemon");
        ws.destroy();

        // The daemon outlives the destroy (README: "keeps running"); the CLI stops it.
        assert!(api.health().is_ok(), "the daemon still runs after destroy");
        let stop = std::process::Command::new(workspace_binary("bluegreen-local"))
            .arg("stop")
            .arg("--endpoint")
            .arg(&api.endpoint)
            .arg("--state-dir")
            .arg(&api.state_dir)
            .output()
            .expect("running bluegreen-local stop");
        assert!(
            stop.status.success(),
            "bluegreen-local stop failed: {}{}",
            String::from_utf8_lossy(&stop.stdout),
            String::from_utf8_lossy(&stop.stderr)
        );
        wait_for(
            "the daemon to exit after `bluegreen-local stop`",
            STOP_GRACE,
            || {
                if pid_alive(pid as u32) {
                    Err(format!("pid {pid} runs"))
                } else {
                    Ok(())
                }
            },
        );
        assert!(
            api.health().is_err(),
            "nothing answers at {} after stop",
            api.endpoint
        );
        drop(guard);
    });
}
