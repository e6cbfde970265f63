//! Until the Azure platform exists: an `azure` provider block is a plan
//! error at the block, and nothing reaches the local platform; `ARM_*`
//! variables alone (azurerm reads them too) are a warning and the release
//! runs locally; with an explicit `local` block they are not mentioned.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{bluegreen, expect_match, Fixture};

const WARNING: &str = "Warning: Releasing on the local platform despite ARM_* variables";

#[test]
fn azure_block_is_a_plan_error() {
    on_every_cli("azure_block_is_a_plan_error", |tf| {
        let test = "azure_block_is_a_plan_error";
        let fx = Fixture::new("azureblock", tf, "azure");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{\n  azure {{\n    subscription_id = \"00000000-0000-0000-0000-000000000000\"\n  }}\n}}\n\n{}",
            bluegreen().required_providers_block(),
            fx.env("1.2.0").hcl()
        ));
        ws.set_env("BLUEGREEN_LOCAL_ENDPOINT", fx.daemon.endpoint());
        ws.set_env("BLUEGREEN_LOCAL_STATE_DIR", fx.daemon.state_dir());
        ws.init();
        let plan = ws.run(&["plan"]);
        if plan.code != Some(1) {
            ws.fail(
                Some(&plan),
                &format!(
                    "plan with an azure block exited {:?}, expected 1",
                    plan.code
                ),
            );
        }
        // The summary, the provider block (Terraform shows no source line for a
        // nested block's path), what is implemented, the fix.
        expect_match(
            &ws,
            &plan,
            r#"(?s)Error: The Azure platform is not implemented yet\s+with provider\["registry\.terraform\.io/agog/bluegreen"\],\s+on main\.tf line \d+, in provider "bluegreen":.*releases only on the local platform \(bluegreen-local\).*Remove the azure block to release on the local platform"#,
        );
        let listed = fx.daemon.api().get("/v1/environments").expect("list");
        assert_eq!(
            listed["environments"].as_array().map(Vec::len),
            Some(0),
            "a refused configuration defined something: {listed}"
        );
    });
}

#[test]
fn arm_variables_warn_and_release_locally() {
    on_every_cli("arm_variables_warn_and_release_locally", |tf| {
        let test = "arm_variables_warn_and_release_locally";
        let fx = Fixture::new("armvars", tf, "armvars");
        let ws = Workspace::new(test, tf, &bluegreen());
        // No block at all: the local platform is found through its variables.
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{}}\n\n{}",
            bluegreen().required_providers_block(),
            fx.env("1.2.0").hcl()
        ));
        ws.set_env("BLUEGREEN_LOCAL_ENDPOINT", fx.daemon.endpoint());
        ws.set_env("BLUEGREEN_LOCAL_STATE_DIR", fx.daemon.state_dir());
        ws.set_env(
            "ARM_SUBSCRIPTION_ID",
            "00000000-0000-0000-0000-000000000000",
        );
        ws.set_env("ARM_CLIENT_ID", "11111111-1111-1111-1111-111111111111");
        ws.init();
        let apply = ws.apply();
        expect_match(
            &ws,
            &apply,
            r#"(?s)Warning: Releasing on the local platform despite ARM_\* variables.*ARM_SUBSCRIPTION_ID, ARM_CLIENT_ID are set.*Add an empty local \{\} block"#,
        );
        // The release really ran on this machine's daemon.
        fx.front_door().assert_serves(3, "1.2.0", "blue");

        // An explicit local block says the local platform is meant: silence.
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        let plan = ws.run(&["plan"]);
        if plan.code != Some(0) || plan.plain().contains(WARNING) {
            ws.fail(
                Some(&plan),
                "with a local block, plan must succeed without the ARM_* warning",
            );
        }
        ws.destroy();
    });
}
