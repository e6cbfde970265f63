//! Azure misbehaving during a release (issue 14, acceptance "Faults"): what
//! ARM's throttling, server errors, failed operations, slow Front Door
//! propagation, expiring tokens and Ctrl-C look like to the person running
//! `terraform apply`. The emulator's fault scripts and settings make each
//! happen at a known request; its journal shows what the provider did.

use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::azure_emulator::{
    is_token_request, journal_ms, writes_of, CLOCK_SCALE,
};
use bluegreen_acceptance::harness::workspace::Running;
use bluegreen_acceptance::harness::{announce, on_every_cli, Terraform, Workspace};
use serde_json::{json, Value as Json};

use crate::{expect_match, Fixture, ADDRESS};

/// The path of a Front Door route itself (not its tags or children).
const ROUTE_PATH: &str = "/routes/[^/]+$";

/// The path of a Container App itself (not its tags, revisions or operations).
const APP_PATH: &str = "/containerApps/[^/]+$";

/// A fixture with 1.0.0 live on blue.
fn released(label: &str, test: &str, tf: &Terraform) -> (Fixture, Workspace) {
    let fx = Fixture::new(label, tf, "orders");
    let ws = fx.workspace(test, tf);
    ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
    ws.init();
    ws.apply();
    fx.assert_route_to("blue");
    (fx, ws)
}

/// Real milliseconds between two journal entries (the journal's times are emulated).
fn real_ms_between(first: &Json, then: &Json) -> f64 {
    (journal_ms(then).saturating_sub(journal_ms(first))) as f64 / CLOCK_SCALE
}

/// `status` of a journal entry.
fn status(entry: &Json) -> u64 {
    entry["status"].as_u64().unwrap_or(0)
}

/// Statuses of the journal's entries for `method` on the route.
fn route_statuses(fx: &Fixture, journal: &[Json], method: &str) -> Vec<u64> {
    let route = fx.azure.seeded("front_door_route_id").to_ascii_lowercase();
    journal
        .iter()
        .filter(|e| {
            e["method"] == method
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.to_ascii_lowercase() == route)
        })
        .map(status)
        .collect()
}

/// Whether Terraform's output shows ARM refusing a token.
fn mentions_authentication_error(output: &str) -> bool {
    [
        "ExpiredAuthenticationToken",
        "InvalidAuthenticationToken",
        "AuthenticationFailed",
        " 401 ",
    ]
    .iter()
    .any(|needle| output.contains(needle))
}

/// Asserts that the state and the route say `version` is live on `color`.
fn assert_live(fx: &Fixture, ws: &Workspace, version: &str, color: &str) {
    fx.assert_route_to(color);
    let state = ws.show();
    let api = state.resource(ADDRESS);
    assert_eq!(api.str("version"), version);
    assert_eq!(api.str("live_color"), color);
}

/// Asserts that the next plan proposes the release again (exit code 2).
fn assert_release_pending(ws: &Workspace, context: &str) {
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    if plan.code != Some(2) {
        ws.fail(
            Some(&plan),
            &format!("{context}: the next plan must propose the release again (exit code 2)"),
        );
    }
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    on_every_cli("azure_fault_429", |tf| {
        let (fx, ws) = released("az429", "azure_fault_429", tf);
        fx.azure.clear_journal();
        fx.azure.fault(&json!({
            "method": "PATCH", "path": ROUTE_PATH, "status": 429, "retry_after": 7
        }));
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        let started = Instant::now();
        ws.apply();
        let took = started.elapsed();
        let journal = fx.azure.journal();
        let switches = fx.route_patches(&journal);
        assert_eq!(
            switches.iter().map(status).collect::<Vec<_>>(),
            [429, 202],
            "the throttled switch is sent once more, and only once: {switches:#?}"
        );
        let waited = real_ms_between(&switches[0], &switches[1]);
        announce(&format!(
            "acceptance: azure_fault_429 on Terraform v{}: retried the route PATCH {waited:.0} ms after the 429 (apply {took:?})",
            tf.version_string()
        ));
        assert!(
            waited >= 7000.0,
            "the route PATCH was retried {waited:.0} ms after a 429 asking for 7 s"
        );
        assert!(took >= Duration::from_secs(7), "the apply took {took:?}");
        assert_live(&fx, &ws, "1.1.0", "green");
        fx.assert_edge_serves(3, "1.1.0");
    });
}

#[test]
fn a_503_is_retried() {
    on_every_cli("azure_fault_503", |tf| {
        let (fx, ws) = released("az503", "azure_fault_503", tf);
        fx.azure.clear_journal();
        // Twice on the deploy (a write ARM did not accept) and twice on a read of the route.
        fx.azure.fault(&json!({
            "method": "PATCH", "path": APP_PATH, "status": 503, "count": 2
        }));
        fx.azure.fault(&json!({
            "method": "GET", "path": ROUTE_PATH, "status": 503, "count": 2
        }));
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        ws.apply();
        let journal = fx.azure.journal();
        let deploys: Vec<u64> = fx.deploys(&journal).iter().map(status).collect();
        assert_eq!(
            deploys,
            [503, 503, 202],
            "the deploy is sent again after each 503, then accepted once"
        );
        let reads = route_statuses(&fx, &journal, "GET");
        assert!(
            reads.starts_with(&[503, 503, 200]),
            "the route is read again after each 503: {reads:?}"
        );
        assert_live(&fx, &ws, "1.1.0", "green");
        fx.assert_edge_serves(3, "1.1.0");
        ws.assert_plan_empty("after a release with retried 503s");
    });
}

#[test]
fn a_failed_deploy_operation_names_its_code_and_request_id() {
    on_every_cli("azure_fault_lro_failed", |tf| {
        let (fx, ws) = released("azlro", "azure_fault_lro_failed", tf);
        fx.azure.clear_journal();
        fx.azure.fault(&json!({
            "method": "PATCH", "path": APP_PATH,
            "lro_failed": {
                "code": "ContainerAppOperationError",
                "message": "Failed to provision revision for container app 'orders'."
            }
        }));
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        let apply = ws.run(&["apply", "-auto-approve"]);
        if apply.success() {
            ws.fail(
                Some(&apply),
                "a release whose deploy operation failed must fail",
            );
        }
        let journal = fx.azure.journal();
        // The answer that reported the failure: the operation's, after the accepted PATCH.
        let failed = journal
            .iter()
            .find(|e| {
                e["method"] == "GET"
                    && status(e) >= 400
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.to_ascii_lowercase().contains("operation"))
            })
            .unwrap_or_else(|| panic!("no failed operation answer in {journal:#?}"));
        let request_id = failed["request_id"].as_str().unwrap_or_default();
        // Code, message, request id and correlation id: what Azure support asks for.
        let shown = expect_match(
            &ws,
            &apply,
            &format!(
                r"(?s)Error: .*PATCH /subscriptions/[^ ]*/containerApps/orders: the operation ended Failed: Failed to provision revision.*ContainerAppOperationError.*request id {}, correlation id [0-9a-f-]{{36}}",
                regex::escape(request_id)
            ),
        );
        announce(&format!(
            "acceptance: azure_fault_lro_failed on Terraform v{}: {}",
            tf.version_string(),
            shown[0].lines().last().unwrap_or_default()
        ));
        assert_eq!(
            fx.route_patches(&journal).len(),
            0,
            "a failed deploy moved traffic: {:#?}",
            writes_of(&journal)
        );
        assert_live(&fx, &ws, "1.0.0", "blue");
        fx.assert_edge_serves(3, "1.0.0");
        assert_release_pending(&ws, "after a failed deploy operation");
    });
}

#[test]
fn a_switch_not_propagated_in_time_is_put_back() {
    on_every_cli("azure_fault_propagation", |tf| {
        let (fx, ws) = released("azprop", "azure_fault_propagation", tf);
        // edge-b takes 10 emulated minutes (30 s here) to follow a change,
        // longer than what a 15 s update timeout leaves the switch.
        fx.azure
            .settings(&json!({ "edge_propagation_ms": [5000, 600_000] }));
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.1.0").timeouts(r#"update = "15s""#).hcl()));
        let apply = ws.run(&["apply", "-auto-approve"]);
        if apply.success() {
            ws.fail(
                Some(&apply),
                "a switch that no timeout lets propagate must fail",
            );
        }
        expect_match(
            &ws,
            &apply,
            r"(?s)the switch to green did not reach every front door location: 1 of 2 front door locations served it after [0-9.]+s.*put back to blue",
        );
        let journal = fx.azure.journal();
        let switches = fx.route_patches(&journal);
        let groups: Vec<String> = switches
            .iter()
            .map(|s| {
                s["body"]["properties"]["originGroup"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            })
            .collect();
        let want = [
            fx.azure
                .seeded("green_origin_group_id")
                .to_ascii_lowercase(),
            fx.azure.seeded("blue_origin_group_id").to_ascii_lowercase(),
        ];
        assert_eq!(
            groups, want,
            "the switch to green then the route put back to blue"
        );
        assert_live(&fx, &ws, "1.0.0", "blue");
        assert_release_pending(&ws, "after a switch put back");
    });
}

#[test]
fn expired_and_refused_tokens_are_renewed() {
    on_every_cli("azure_fault_tokens", |tf| {
        let test = "azure_fault_tokens";
        let fx = Fixture::new("aztoken", tf, "orders");
        // Tokens live 2 s, the release waits longer than that.
        fx.azure.settings(&json!({ "token_lifetime_s": 2 }));
        let ws = fx.workspace(test, tf);
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.init();
        let started = Instant::now();
        let create = ws.apply();
        let took = started.elapsed();
        let journal = fx.azure.journal();
        let tokens = journal.iter().filter(|e| is_token_request(e)).count();
        assert!(
            took > Duration::from_secs(2) && tokens > 1,
            "a {took:?} release with 2 s tokens asked for {tokens} token(s)"
        );
        let refused: Vec<&Json> = journal.iter().filter(|e| status(e) == 401).collect();
        assert!(
            refused.is_empty() && !mentions_authentication_error(&create.plain()),
            "an expired token reached ARM: {refused:#?}\n{}",
            create.plain()
        );
        assert_live(&fx, &ws, "1.0.0", "blue");

        // A token ARM refuses once (401): one new token, the write sent again.
        fx.azure.settings(&json!({ "token_lifetime_s": 3600 }));
        fx.azure.clear_journal();
        fx.azure.fault(&json!({
            "method": "PATCH", "path": ROUTE_PATH, "status": 401,
            "code": "ExpiredAuthenticationToken"
        }));
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        let update = ws.apply();
        assert!(
            !mentions_authentication_error(&update.plain()),
            "the refused token surfaced: {}",
            update.plain()
        );
        let journal = fx.azure.journal();
        let route = fx.azure.seeded("front_door_route_id").to_ascii_lowercase();
        let at = journal
            .iter()
            .position(|e| {
                status(e) == 401
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.to_ascii_lowercase() == route)
            })
            .unwrap_or_else(|| panic!("no refused route PATCH in {journal:#?}"));
        let after: Vec<String> = journal[at + 1..]
            .iter()
            .take(2)
            .map(|e| {
                format!(
                    "{} {}",
                    e["method"].as_str().unwrap_or_default(),
                    if is_token_request(e) {
                        "token".to_string()
                    } else {
                        format!("{} {}", e["path"].as_str().unwrap_or_default(), status(e))
                    }
                )
            })
            .collect();
        assert!(
            after.len() == 2
                && after[0] == "POST token"
                && after[1]
                    .to_ascii_lowercase()
                    .starts_with(&format!("patch {route} 20")),
            "after the 401: one token request, then the route PATCH accepted; saw {after:?}"
        );
        assert_live(&fx, &ws, "1.1.0", "green");

        // The cached token expires while the release waits (tokens live an
        // hour, so the provider keeps one): the next ARM call gets
        // ExpiredAuthenticationToken, and the release goes on with a new one.
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        let apply = ws.spawn(&["apply", "-auto-approve"]);
        let apply = wait_until_journal(&ws, &fx, apply, "the deploy", |j| {
            fx.deploys(j).iter().any(|d| status(d) < 300)
        });
        fx.azure.admin("POST", "/admin/tokens/expire", None);
        let update = ws.wait(apply, Duration::from_secs(120));
        if !update.success() || mentions_authentication_error(&update.plain()) {
            ws.fail(
                Some(&update),
                "a token that expired during the release must be replaced unseen",
            );
        }
        let journal = fx.azure.journal();
        let expired = journal
            .iter()
            .position(|e| status(e) == 401)
            .unwrap_or_else(|| panic!("no ARM call met the expired token: {journal:#?}"));
        assert!(
            journal[expired + 1..].first().is_some_and(is_token_request),
            "a 401 is followed by a new token: {:#?}",
            &journal[expired..]
        );
        assert_eq!(
            journal.iter().filter(|e| status(e) == 401).count(),
            1,
            "one expired token, one refusal"
        );
        assert_live(&fx, &ws, "1.2.0", "blue");
    });
}

/// Waits (at most 90 s) until the journal satisfies `seen`; fails with the
/// command's output if it ends first.
fn wait_until_journal(
    ws: &Workspace,
    fx: &Fixture,
    mut running: Running,
    what: &str,
    seen: impl Fn(&[Json]) -> bool,
) -> Running {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if seen(&fx.azure.journal()) {
            return running;
        }
        if let Some(status) = running.try_wait() {
            let out = ws.wait(running, Duration::from_secs(1));
            ws.fail(
                Some(&out),
                &format!("terraform ended ({status}) before {what}"),
            );
        }
        if Instant::now() > deadline {
            let out = ws.wait(running, Duration::ZERO);
            ws.fail(Some(&out), &format!("no {what} within 90 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends Ctrl-C to a running apply and asserts it ends, failed, within 2 s.
fn interrupt_within_2s(ws: &Workspace, running: Running, during: &str) {
    let interrupted = Instant::now();
    running
        .signal_group(libc::SIGINT)
        .expect("send SIGINT to terraform");
    let out = ws.wait(running, Duration::from_secs(30));
    let took = interrupted.elapsed();
    announce(&format!(
        "acceptance: Ctrl-C during {during} on Terraform v{}: exited {took:?} after SIGINT",
        ws.terraform().version_string()
    ));
    if took > Duration::from_secs(2) {
        ws.fail(
            Some(&out),
            &format!("Terraform took {took:?} to exit after Ctrl-C during {during}"),
        );
    }
    if out.success() {
        ws.fail(Some(&out), "an interrupted apply must fail");
    }
}

#[test]
fn ctrl_c_during_an_operation_or_a_retry_after_returns_within_2s() {
    on_every_cli("azure_fault_ctrl_c_waits", |tf| {
        let (fx, ws) = released("azctrlw", "azure_fault_ctrl_c_waits", tf);

        // The deploy's operation takes 200 emulated seconds (10 s here).
        fx.azure.settings(&json!({ "lro_ms": 200_000 }));
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        let apply = ws.spawn(&["apply", "-auto-approve"]);
        let apply = wait_until_journal(&ws, &fx, apply, "the accepted deploy", |j| {
            fx.deploys(j).iter().any(|d| status(d) < 300)
        });
        std::thread::sleep(Duration::from_millis(500));
        interrupt_within_2s(&ws, apply, "the deploy's operation");
        assert_eq!(fx.route_patches(&fx.azure.journal()).len(), 0);
        assert_live(&fx, &ws, "1.0.0", "blue");

        // The switch is throttled for a minute.
        fx.azure.settings(&json!({ "lro_ms": 1000 }));
        fx.azure.clear_journal();
        fx.azure.fault(&json!({
            "method": "PATCH", "path": ROUTE_PATH, "status": 429, "retry_after": 60
        }));
        let apply = ws.spawn(&["apply", "-auto-approve"]);
        let apply = wait_until_journal(&ws, &fx, apply, "the throttled switch", |j| {
            fx.route_patches(j).iter().any(|p| status(p) == 429)
        });
        std::thread::sleep(Duration::from_millis(500));
        interrupt_within_2s(&ws, apply, "a Retry-After wait");
        assert_eq!(
            fx.route_patches(&fx.azure.journal())
                .iter()
                .map(status)
                .collect::<Vec<_>>(),
            [429],
            "the interrupted apply sent the switch again"
        );
        assert_live(&fx, &ws, "1.0.0", "blue");

        // Nothing is left held: the release goes through now.
        fx.azure.admin("DELETE", "/admin/faults", None);
        ws.apply();
        assert_live(&fx, &ws, "1.1.0", "green");
    });
}

#[test]
fn ctrl_c_during_propagation_returns_within_2s() {
    on_every_cli("azure_fault_ctrl_c", |tf| {
        let (fx, ws) = released("azctrlc", "azure_fault_ctrl_c", tf);
        // edge-b holds the switch back for 30 s: the release waits for it.
        fx.azure
            .settings(&json!({ "edge_propagation_ms": [5000, 600_000] }));
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        let apply = ws.spawn(&["apply", "-auto-approve"]);
        let apply = wait_until_journal(&ws, &fx, apply, "the accepted switch", |j| {
            fx.route_patches(j).iter().any(|p| status(p) < 300)
        });
        // Well inside the propagation wait (the write itself takes 50 ms).
        std::thread::sleep(Duration::from_secs(1));
        interrupt_within_2s(&ws, apply, "the propagation wait");
        // The route is on one colour, and what Terraform records says which.
        let route = fx.route_origin_group();
        let on_green = route.eq_ignore_ascii_case(&fx.azure.seeded("green_origin_group_id"));
        let on_blue = route.eq_ignore_ascii_case(&fx.azure.seeded("blue_origin_group_id"));
        assert!(on_green || on_blue, "the route names {route}");
        ws.refresh();
        let state = ws.show();
        let recorded = state.resource(ADDRESS).str("live_color").to_string();
        assert_eq!(
            recorded,
            if on_green { "green" } else { "blue" },
            "the state records a live colour the route does not serve ({route})"
        );

        // Once the edge follows again, the release completes.
        fx.azure
            .settings(&json!({ "edge_propagation_ms": [5000, 15000] }));
        ws.apply();
        assert_live(&fx, &ws, "1.1.0", "green");
        ws.assert_plan_empty("after the interrupted release was applied again");
    });
}
