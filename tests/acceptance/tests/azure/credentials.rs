//! The provider's `azure` block can be empty: every argument falls back to
//! the `ARM_*` variable azurerm reads (subscription, tenant, client, secret,
//! custom cloud endpoints), with the CA file from the block.

use bluegreen_acceptance::harness::on_every_cli;

use crate::{bluegreen, Fixture, ADDRESS};

#[test]
fn arm_variables_fill_an_empty_azure_block() {
    on_every_cli("azure_arm_variables", |tf| {
        let test = "azure_arm_variables";
        let fx = Fixture::new("azarm", tf, "orders");
        let ws = fx.workspace(test, tf);
        for (key, value) in fx.azure.arm_variables() {
            ws.set_env(key, value);
        }
        ws.write_config(&format!(
            "{}\nprovider \"bluegreen\" {{\n  azure {{\n    ca_certificate_file = \"{}\"\n  }}\n}}\n\n{}",
            bluegreen().required_providers_block(),
            fx.azure.field("ca_file"),
            fx.env("1.0.0").hcl()
        ));
        ws.init();
        ws.apply();
        let state = ws.show();
        assert_eq!(state.resource(ADDRESS).str("live_color"), "blue");
        fx.assert_route_to("blue");
        ws.assert_plan_empty("after create with ARM_* variables");
        ws.destroy();
    });
}

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

#[test]
fn a_wrong_ca_file_is_named_in_the_diagnostic() {
    on_every_cli("azure_wrong_ca", |tf| {
        let test = "azure_wrong_ca";
        let fx = Fixture::new("azwrongca", tf, "orders");
        let ws = fx.workspace(test, tf);
        // A well-formed CA file, but not the one that signed the endpoint's certificate.
        let other = rcgen::generate_simple_self_signed(vec!["ca.other-cloud.example".into()])
            .expect("a self-signed certificate");
        let wrong = ws.dir().join("other-cloud-ca.pem");
        std::fs::write(&wrong, other.cert.pem()).expect("write the other CA");
        let config = fx
            .config(&fx.env("1.0.0").hcl())
            .replace(&fx.azure.field("ca_file"), &wrong.display().to_string());
        ws.write_config(&config);
        ws.init();
        let apply = ws.run(&["apply", "-auto-approve"]);
        if apply.success() {
            ws.fail(
                Some(&apply),
                "a release through an endpoint the CA file does not vouch for must fail",
            );
        }
        crate::expect_match(
            &ws,
            &apply,
            r"(?s)Error: .*not trusted.*other-cloud-ca\.pem.*azure\.ca_certificate_file",
        );
        assert!(
            fx.azure.journal().is_empty(),
            "a request got through TLS with the wrong CA: {:?}",
            fx.azure.journal()
        );
        assert!(ws.show().managed_addresses().is_empty());
    });
}
