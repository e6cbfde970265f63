//! On-call switches traffic outside Terraform, here with Microsoft's own
//! Python SDK (azure-mgmt-cdn): `terraform plan -detailed-exitcode` exits 2
//! and shows the live colour moving back, and `apply` restores the route.

use std::process::Command;

use bluegreen_acceptance::harness::on_every_cli;
use bluegreen_acceptance::harness::terraform::repo_root;

use crate::{unwrapped, Fixture, ADDRESS};

/// Points the route at `origin_group` with azure-mgmt-cdn's `routes.begin_update`.
fn switch_with_python_sdk(fx: &Fixture, origin_group: &str) {
    let python = repo_root().join(".tools/azure-sdk-venv/bin/python");
    assert!(
        python.exists(),
        "Microsoft's Python SDK is not installed at {}: run `make azure-sdk-venv` (or `make tools`)",
        python.display()
    );
    let script = r#"
import os, sys
from azure.identity import ClientSecretCredential
from azure.mgmt.cdn import CdnManagementClient
from azure.mgmt.cdn import models
e = os.environ
credential = ClientSecretCredential(e["EMU_TENANT"], e["EMU_CLIENT"], e["EMU_SECRET"],
    authority=e["EMU_BASE"], disable_instance_discovery=True)
cdn = CdnManagementClient(credential, e["EMU_SUBSCRIPTION"], base_url=e["EMU_BASE"],
    credential_scopes=[e["EMU_SCOPE"]], api_version="2025-06-01", polling_interval=0.2)
parts = e["EMU_ROUTE"].strip("/").split("/")
rg, profile, endpoint, route = parts[3], parts[7], parts[9], parts[11]
done = cdn.routes.begin_update(rg, profile, endpoint, route,
    models.RouteUpdateParameters(origin_group=models.ResourceReference(id=e["EMU_GROUP"]))).result()
print(done.origin_group.id)
"#;
    let az = &fx.azure;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .env("REQUESTS_CA_BUNDLE", az.field("ca_file"))
        .env("EMU_TENANT", az.field("tenant_id"))
        .env("EMU_CLIENT", az.field("client_id"))
        .env("EMU_SECRET", az.field("client_secret"))
        .env("EMU_BASE", az.field("base_url"))
        .env("EMU_SCOPE", az.field("arm_scope"))
        .env("EMU_SUBSCRIPTION", az.field("subscription_id"))
        .env("EMU_ROUTE", az.seeded("front_door_route_id"))
        .env("EMU_GROUP", origin_group)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the SDK's route update failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn route_switched_by_the_sdk_is_drift_and_apply_restores_it() {
    on_every_cli("azure_drift", |tf| {
        let test = "azure_drift";
        let fx = Fixture::new("azdrift", tf, "orders");
        let ws = fx.workspace(test, tf);
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.init();
        ws.apply();
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        ws.apply();
        fx.assert_route_to("green");

        // On-call flips back to blue (1.0.0) behind Terraform's back.
        switch_with_python_sdk(&fx, &fx.azure.seeded("blue_origin_group_id"));
        fx.assert_route_to("blue");

        let plan = ws.plan();
        if plan.code != Some(2) {
            ws.fail(
                Some(&plan),
                &format!(
                    "plan -detailed-exitcode exited {:?} after an out-of-band switch; expected 2",
                    plan.code
                ),
            );
        }
        let text = unwrapped(&plan.stdout);
        assert!(
            text.contains(r#"~ version"#) && text.contains(r#""1.0.0" -> "1.1.0""#),
            "the plan must propose 1.1.0 again:\n{}",
            plan.stdout
        );

        fx.azure.clear_journal();
        ws.apply();
        let journal = fx.azure.journal();
        assert_eq!(
            (fx.deploys(&journal).len(), fx.route_patches(&journal).len()),
            (0, 1),
            "green still runs 1.1.0: restoring is one route PATCH"
        );
        fx.assert_route_to("green");
        let state = ws.show();
        assert_eq!(state.resource(ADDRESS).str("live_color"), "green");
        ws.assert_plan_empty("after restoring");
        ws.destroy();
    });
}
