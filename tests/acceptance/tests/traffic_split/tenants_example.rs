//! `examples/tenants` as shipped, with `modules/tenant-release` beside it at
//! the same relative path: init, one apply that also creates apac's
//! candidate and its canary, an empty plan, and a clean destroy, on the
//! local platform. Only the provider block (an `override.tf` pointing
//! at this test's daemon) and the front-door ports (free ones, in
//! `terraform.tfvars.json`) differ from what a user runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bluegreen_acceptance::harness::local_platform::{free_port, workspace_binary};
use bluegreen_acceptance::harness::terraform::repo_root;
use bluegreen_acceptance::harness::{announce, http, on_every_cli, LocalDaemon, Output, Workspace};
use serde_json::{json, Value as Json};

use crate::bluegreen;

/// The pilot tenant of apac's canary, and a tenant without one.
const PILOT: &str = "pilot-tenant-id";
const OTHER: &str = "regular-tenant-id";

/// Where the example sits relative to the work directory, as in the repository.
const EXAMPLE: &str = "examples/tenants";
/// Where its module sits.
const MODULE: &str = "modules/tenant-release";

/// Copies the regular, non-hidden files of `from` (not Terraform's own
/// state or lock files) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let skip = name.starts_with('.') || name.contains(".tfstate");
        if skip || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        std::fs::copy(entry.path(), to.join(&name))
            .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
    }
}

/// `terraform -chdir=examples/tenants <command> -no-color <args>`; fails the
/// test unless it exits with one of `codes`.
fn run(ws: &Workspace, command: &str, args: &[&str], codes: &[i32]) -> Output {
    let chdir = format!("-chdir={EXAMPLE}");
    let mut all = vec![chdir.as_str(), command, "-no-color"];
    all.extend_from_slice(args);
    let out = ws.run(&all);
    if !out.code.is_some_and(|c| codes.contains(&c)) {
        ws.fail(
            Some(&out),
            &format!("`terraform {}` exited {:?}", out.args.join(" "), out.code),
        );
    }
    out
}

/// Three distinct free loopback ports.
fn three_ports() -> [u16; 3] {
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < 3 {
        let p = free_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    [ports[0], ports[1], ports[2]]
}

#[test]
fn tenants_example_applies_plans_empty_and_destroys() {
    on_every_cli("tenants_example_applies_plans_empty_and_destroys", |tf| {
        let daemon = LocalDaemon::start(&format!("split-tenants-tf{}", tf.version_string()));
        let api = daemon.api();
        let ws = Workspace::new(
            "tenants_example_applies_plans_empty_and_destroys",
            tf,
            &bluegreen(),
        );
        let root = repo_root();
        copy_dir(&root.join(EXAMPLE), &ws.dir().join(EXAMPLE));
        copy_dir(&root.join(MODULE), &ws.dir().join(MODULE));
        let example = ws.dir().join(EXAMPLE);
        std::fs::write(example.join("override.tf"), daemon.provider_block())
            .expect("write override.tf");
        let [eu, us, apac] = three_ports();
        // The example's own groups, on free ports.
        let vars = json!({
            "app_binary": workspace_binary("agog-demo-app").display().to_string(),
            "groups": {
                "eu":   {"listen": format!("127.0.0.1:{eu}"),   "app_version": "1.3.0", "candidate_version": null, "canary": null},
                "us":   {"listen": format!("127.0.0.1:{us}"),   "app_version": "1.3.0", "candidate_version": null, "canary": null},
                "apac": {"listen": format!("127.0.0.1:{apac}"), "app_version": "1.2.0", "candidate_version": "1.3.0",
                         "canary": {"weight": 10, "tenants": [PILOT]}},
            }
        });
        std::fs::write(
            example.join("terraform.tfvars.json"),
            serde_json::to_string_pretty(&vars).expect("json"),
        )
        .expect("write terraform.tfvars.json");

        run(&ws, "init", &[], &[0]);
        let apply = run(&ws, "apply", &["-auto-approve"], &[0]);
        announce(&format!(
            "acceptance: tenants_example on Terraform v{}: apply took {:.1}s",
            tf.version_string(),
            apply.elapsed.as_secs_f64()
        ));
        run(&ws, "plan", &["-detailed-exitcode"], &[0]);

        // The outputs a user reads.
        let out = run(&ws, "output", &["-json", "groups"], &[0]);
        let groups: BTreeMap<String, String> = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| {
                ws.fail(Some(&out), &format!("groups is not a map of strings: {e}"))
            });
        let want: BTreeMap<String, String> = [
            ("apac", format!("1.2.0 on blue at http://127.0.0.1:{apac}")),
            ("eu", format!("1.3.0 on blue at http://127.0.0.1:{eu}")),
            ("us", format!("1.3.0 on blue at http://127.0.0.1:{us}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(groups, want, "output groups");
        let out = run(&ws, "output", &["-json", "canaries"], &[0]);
        let canaries: Json = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| ws.fail(Some(&out), &format!("canaries is not JSON: {e}")));
        assert_eq!(
            canaries,
            json!({"apac": "green", "eu": null, "us": null}),
            "output canaries"
        );

        // Three environments live on the daemon, each answering at its front door.
        let listed = api.get("/v1/environments").expect("list environments");
        let mut live: BTreeMap<String, (String, String)> = BTreeMap::new();
        for env in listed["environments"].as_array().into_iter().flatten() {
            let name = env["name"].as_str().unwrap_or_default().to_string();
            let version = env["live_version"].as_str().unwrap_or_default().to_string();
            let idle = env["colors"]["green"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            live.insert(name, (version, idle));
        }
        let expect: BTreeMap<String, (String, String)> = [
            ("tenants-apac", ("1.2.0", "1.3.0")),
            ("tenants-eu", ("1.3.0", "")),
            ("tenants-us", ("1.3.0", "")),
        ]
        .into_iter()
        .map(|(n, (v, c))| (n.to_string(), (v.to_string(), c.to_string())))
        .collect();
        assert_eq!(
            live, expect,
            "environments on the daemon (live version, candidate on green): {listed}"
        );
        // apac's pilot tenant reaches its canary; every other tenant the live version.
        for (port, tenant, version) in [
            (eu, OTHER, "1.3.0"),
            (us, PILOT, "1.3.0"),
            (apac, OTHER, "1.2.0"),
            (apac, PILOT, "1.3.0"),
        ] {
            for _ in 0..20 {
                let reply = http::request(
                    "GET",
                    &format!("http://127.0.0.1:{port}/api/version"),
                    &[("X-Tenant-ID", tenant)],
                    None,
                    Duration::from_secs(5),
                )
                .unwrap_or_else(|e| panic!("front door {port}: {e}"));
                let body: Json = reply.json().unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    (reply.status, body["version"].as_str()),
                    (200, Some(version)),
                    "front door {port}, tenant {tenant}: {}",
                    reply.body
                );
            }
        }

        run(&ws, "destroy", &["-auto-approve"], &[0]);
        let listed = api.get("/v1/environments").expect("list environments");
        assert_eq!(
            listed["environments"],
            json!([]),
            "destroy must remove every environment"
        );
        for port in [eu, us, apac] {
            assert!(
                http::get(
                    &format!("http://127.0.0.1:{port}/api/version"),
                    Duration::from_secs(2)
                )
                .is_err(),
                "front door {port} still answers after destroy"
            );
        }
    });
}
