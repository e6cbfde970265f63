//! Each environment says where it runs: a local environment releases on the
//! local platform even when the provider also has an `azure` block (Azure is
//! never called: its client is built only for Azure environments), and
//! `ARM_*` variables, which azurerm reads too, change nothing and draw no
//! warning. (Until the Azure platform existed, both were refused or warned
//! about; the file keeps its name for history.)

use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{bluegreen, Fixture};

#[test]
fn a_local_environment_releases_locally_beside_an_azure_block() {
    on_every_cli("local_env_beside_azure_block", |tf| {
        let test = "local_env_beside_azure_block";
        let fx = Fixture::new("azureblock", tf, "azure");
        let ws = Workspace::new(test, tf, &bluegreen());
        // Credentials that lead nowhere: nothing may try them.
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{\n  local {{\n    endpoint  = \"{}\"\n    state_dir = \"{}\"\n    autostart = false\n  }}\n  azure {{\n    subscription_id = \"00000000-0000-0000-0000-000000000000\"\n    tenant_id       = \"11111111-1111-1111-1111-111111111111\"\n    client_id       = \"22222222-2222-2222-2222-222222222222\"\n    client_secret   = \"not-a-secret\"\n    environment     = \"custom\"\n    resource_manager_endpoint = \"https://127.0.0.1:9/\"\n    authority_host            = \"https://127.0.0.1:9/\"\n  }}\n}}\n\n{}",
            bluegreen().required_providers_block(),
            fx.daemon.endpoint(),
            fx.daemon.state_dir().display(),
            fx.env("1.2.0").hcl()
        ));
        ws.init();
        let apply = ws.apply();
        assert!(
            !apply.plain().contains("Warning:"),
            "a local release beside an azure block draws no warning:\n{}",
            apply.plain()
        );
        fx.front_door().assert_serves(3, "1.2.0", "blue");
        ws.assert_plan_empty("after a local release beside an azure block");
        ws.destroy();
    });
}

#[test]
fn arm_variables_change_nothing_for_a_local_environment() {
    on_every_cli("arm_variables_change_nothing", |tf| {
        let test = "arm_variables_change_nothing";
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
        assert!(
            !apply.plain().contains("Warning:"),
            "ARM_* variables draw no warning for a local environment:\n{}",
            apply.plain()
        );
        fx.front_door().assert_serves(3, "1.2.0", "blue");
        ws.destroy();
    });
}
