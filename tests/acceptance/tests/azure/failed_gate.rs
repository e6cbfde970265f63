//! A release whose health gate fails never moves traffic: no route write,
//! the live colour and version unchanged, and the next plan proposes it again.

use bluegreen_acceptance::harness::azure_emulator::writes_of;
use bluegreen_acceptance::harness::on_every_cli;

use crate::{expect_match, Fixture, ADDRESS};

#[test]
fn failed_gate_writes_no_route() {
    on_every_cli("azure_failed_gate", |tf| {
        let test = "azure_failed_gate";
        let fx = Fixture::new("azgate", tf, "orders");
        let ws = fx.workspace(test, tf);
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.init();
        ws.apply();
        fx.assert_route_to("blue");

        // The new revision answers 404 on this path: the gate refuses it.
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.1.0").health_path("/api/missing").hcl()));
        let apply = ws.run(&["apply", "-auto-approve"]);
        if apply.success() {
            ws.fail(Some(&apply), "a release whose health gate fails must fail");
        }
        expect_match(
            &ws,
            &apply,
            r"(?s)Release of 1\.1\.0 refused: .*health.*404",
        );
        let journal = fx.azure.journal();
        assert_eq!(
            fx.route_patches(&journal).len(),
            0,
            "a failed gate wrote the route; the writes were {:#?}",
            writes_of(&journal)
        );
        assert_eq!(
            fx.deploys(&journal).len(),
            1,
            "the release was deployed once"
        );
        fx.assert_route_to("blue");
        fx.assert_edge_serves(5, "1.0.0");
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("version"), "1.0.0");
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("last_deployment.outcome"), "gate_failed");
        let plan = ws.plan();
        assert_eq!(
            plan.code,
            Some(2),
            "the next plan proposes the release again:\n{}",
            plan.stdout
        );
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.destroy();
    });
}
