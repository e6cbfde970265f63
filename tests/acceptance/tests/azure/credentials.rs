//! The provider's `azure` block: required by an Azure environment, at plan
//! time and before any request reaches Azure.

use bluegreen_acceptance::harness::on_every_cli;

use crate::{bluegreen, Fixture};

#[test]
fn an_azure_environment_needs_the_providers_azure_block() {
    on_every_cli("azure_needs_provider_block", |tf| {
        let test = "azure_needs_provider_block";
        let fx = Fixture::new("aznoblock", tf, "orders");
        let ws = fx.workspace(test, tf);
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{}}\n\n{}",
            bluegreen().required_providers_block(),
            fx.env("1.0.0").hcl()
        ));
        ws.init();
        let plan = ws.plan();
        if plan.code != Some(1) {
            ws.fail(
                Some(&plan),
                "an azure environment without the provider's azure block must not plan",
            );
        }
        crate::expect_match(
            &ws,
            &plan,
            r"(?s)Error: The provider has no azure block.*add provider .bluegreen. \{ azure \{",
        );
        assert!(
            fx.azure.journal().is_empty(),
            "a refused plan reached Azure: {:?}",
            fx.azure.journal()
        );
    });
}
