//! The provider configuration: fallbacks, diagnostics at their paths, refusals.

use super::model::{AzureBlockModel, LocalBlockModel, ProviderModel, Unknowns};
use super::*;
use std::collections::HashMap;

struct FakeEnv(HashMap<&'static str, &'static str>);
impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn null_config() -> Value {
    Value::object([("local", Value::Null), ("azure", Value::Null)])
}

#[test]
fn defaults_to_local_platform() {
    let (cfg, diags) = resolve(&null_config(), &FakeEnv(HashMap::new()));
    assert!(diags.is_empty(), "{diags:?}");
    let cfg = cfg.unwrap();
    assert_eq!(cfg.local.endpoint, DEFAULT_LOCAL_ENDPOINT);
    assert!(cfg.local.autostart);
    assert!(cfg.azure.is_none());
}

#[test]
fn env_fallbacks_apply_and_config_wins() {
    let env = FakeEnv(HashMap::from([
        ("BLUEGREEN_LOCAL_ENDPOINT", "http://127.0.0.1:9999"),
        ("ARM_SUBSCRIPTION_ID", "sub-from-env"),
        ("ARM_CLIENT_SECRET", "s3cret"),
        // The secret needs its service principal (settings::resolve checks).
        ("ARM_TENANT_ID", "tenant-from-env"),
        ("ARM_CLIENT_ID", "client-from-env"),
    ]));
    let config = Value::object([
        ("local", Value::Null),
        (
            "azure",
            Value::object([("subscription_id", Value::from("sub-from-config"))]),
        ),
    ]);
    let (cfg, diags) = resolve_settings(&config, &env);
    assert!(diags.is_empty(), "{diags:?}");
    let cfg = cfg.unwrap();
    assert_eq!(cfg.local.endpoint, "http://127.0.0.1:9999");
    let azure = cfg.azure.unwrap();
    assert_eq!(azure.subscription_id, "sub-from-config");
    assert_eq!(
        azure.cloud.resource_manager_endpoint,
        "https://management.azure.com"
    );
    assert!(
        !format!("{azure:?}").contains("s3cret"),
        "secret leaked into Debug output"
    );
}

#[test]
fn bad_values_name_their_attribute() {
    let config = Value::object([
        (
            "local",
            Value::object([("endpoint", Value::from("127.0.0.1:7480"))]),
        ),
        (
            "azure",
            Value::object([("environment", Value::from("mars"))]),
        ),
    ]);
    let (cfg, diags) = resolve(&config, &FakeEnv(HashMap::new()));
    assert!(cfg.is_none());
    let paths: Vec<String> = diags
        .0
        .iter()
        .filter_map(|d| d.path.as_ref().map(ToString::to_string))
        .collect();
    assert!(paths.contains(&"local.endpoint".to_string()), "{paths:?}");
    assert!(
        paths.contains(&"azure.environment".to_string()),
        "{paths:?}"
    );
}

#[test]
fn custom_cloud_needs_endpoints() {
    let config = Value::object([
        ("local", Value::Null),
        (
            "azure",
            Value::object([("environment", Value::from("custom"))]),
        ),
    ]);
    let (_, diags) = resolve_settings(&config, &FakeEnv(HashMap::new()));
    let text = format!("{diags:?}");
    assert!(
        text.contains("resource_manager_endpoint") && text.contains("authority_host"),
        "{text}"
    );
}

#[tokio::test]
async fn a_ca_certificate_file_that_is_not_pem_is_refused_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, "not a certificate\n").unwrap();
    let config = Value::object([
        ("local", Value::Null),
        (
            "azure",
            Value::object([(
                "ca_certificate_file",
                Value::from(file.display().to_string()),
            )]),
        ),
    ]);
    // A subscription, without which the block has a second problem.
    let env = FakeEnv(HashMap::from([("ARM_SUBSCRIPTION_ID", "sub")]));
    let (cfg, diags) = resolve_settings(&config, &env);
    assert!(cfg.is_none());
    assert_eq!(
        summaries(&diags),
        vec![(
            true,
            "CA certificate file not usable".to_string(),
            Some("azure.ca_certificate_file".to_string())
        )]
    );
    let text = format!("{diags:?}");
    assert!(text.contains(&file.display().to_string()), "{text}");

    let server = crate::http::test_server::TlsServer::start("{}").await;
    let good = server.write_ca(dir.path());
    let config = Value::object([
        ("local", Value::Null),
        (
            "azure",
            Value::object([(
                "ca_certificate_file",
                Value::from(good.display().to_string()),
            )]),
        ),
    ]);
    let (cfg, diags) = resolve_settings(&config, &env);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.unwrap().azure.unwrap().ca_certificate_file, Some(good));
}

fn summaries(diags: &Diagnostics) -> Vec<(bool, String, Option<String>)> {
    diags
        .0
        .iter()
        .map(|d| {
            (
                d.is_error(),
                d.summary.clone(),
                d.path.as_ref().map(ToString::to_string),
            )
        })
        .collect()
}

#[test]
fn an_azure_block_configures_azure_beside_the_local_platform() {
    let config = Value::object([
        ("local", Value::Null),
        (
            "azure",
            Value::object([
                ("subscription_id", Value::from("sub")),
                ("tenant_id", Value::from("t")),
                ("client_id", Value::from("c")),
                ("client_secret", Value::from("s")),
            ]),
        ),
    ]);
    let (cfg, diags) = resolve(&config, &FakeEnv(HashMap::new()));
    assert!(diags.is_empty(), "{diags:?}");
    let cfg = cfg.expect("configured");
    assert_eq!(cfg.azure.expect("azure settings").subscription_id, "sub");
    assert_eq!(cfg.local.endpoint, DEFAULT_LOCAL_ENDPOINT);
}

#[test]
fn arm_variables_alone_neither_warn_nor_select_azure() {
    // An environment's own block says where it runs; the variables belong
    // to azurerm until the provider has an azure block.
    let env = FakeEnv(HashMap::from([
        ("ARM_CLIENT_ID", "app"),
        ("ARM_SUBSCRIPTION_ID", "sub"),
    ]));
    let (cfg, diags) = resolve(&null_config(), &env);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(cfg.expect("configured").azure.is_none());
}

#[test]
fn arm_variables_with_a_local_block_are_silent() {
    let env = FakeEnv(HashMap::from([("ARM_TENANT_ID", "t")]));
    let config = Value::object([
        ("local", Value::object([("autostart", Value::from(false))])),
        ("azure", Value::Null),
    ]);
    let (cfg, diags) = resolve(&config, &env);
    assert!(cfg.is_some());
    assert!(diags.is_empty(), "{diags:?}");
}

/// An `azure` block holding `attrs`, no `local` block.
fn azure_config(attrs: Vec<(&str, Value)>) -> Value {
    Value::object([("local", Value::Null), ("azure", Value::object(attrs))])
}

#[test]
fn the_azure_schema_the_model_and_the_resolver_block_list_the_same_attributes() {
    use crate::platform::azure::settings::AzureBlock;
    use tfplugin::model::{coverage, Model};
    use tfplugin::Type;

    let s = schema();
    let none = (vec![], vec![]);
    assert_eq!(coverage::<ProviderModel>(&s.block), none);
    assert_eq!(
        coverage::<LocalBlockModel>(&s.block.nested("local").unwrap().block),
        none
    );
    let azure = &s.block.nested("azure").unwrap().block;
    assert_eq!(coverage::<AzureBlockModel>(azure), none);

    // AzureBlock's fields by name: the destructuring has no `..`, so a field
    // added to AzureBlock fails to compile here until it is listed.
    macro_rules! fields {
        ($block:expr; $($field:ident),* $(,)?) => {{
            let AzureBlock { $($field),* } = $block;
            vec![$((stringify!($field), format!("{:?}", $field))),*]
        }};
    }
    let resolver_fields = |block: AzureBlock| {
        fields!(block;
            subscription_id, tenant_id, client_id, client_secret, environment,
            resource_manager_endpoint, authority_host, ca_certificate_file, use_oidc,
            oidc_token, oidc_token_file_path, oidc_request_url, oidc_request_token,
            use_aks_workload_identity, use_msi, msi_endpoint, use_cli,
        )
    };
    let mut names: Vec<&str> = resolver_fields(AzureBlock::default())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort_unstable();
    let mut modelled = AzureBlockModel::ATTRIBUTES.to_vec();
    modelled.sort_unstable();
    assert_eq!(names, modelled);

    // Each attribute lands in the resolver's field of the same name.
    for attribute in &azure.attributes {
        let value = if attribute.ty == Type::Bool {
            Value::from(true)
        } else {
            Value::from(format!("value-of-{}", attribute.name))
        };
        let model: AzureBlockModel =
            tfplugin::model::decode(&Value::object([(attribute.name.as_str(), value)])).unwrap();
        let set: Vec<&str> = resolver_fields(model.to_block(Unknowns::Unset))
            .into_iter()
            .filter(|(_, shown)| shown != "None")
            .map(|(name, _)| name)
            .collect();
        assert_eq!(set, [attribute.name.as_str()], "{}", attribute.name);
    }

    // The secrets are sensitive in the schema; every description names its variable.
    for attribute in &azure.attributes {
        let secret = ["client_secret", "oidc_token", "oidc_request_token"]
            .contains(&attribute.name.as_str());
        assert_eq!(attribute.sensitive, secret, "{}", attribute.name);
        assert!(
            attribute.description.contains("Env `ARM_") || attribute.name == "ca_certificate_file",
            "{}: {}",
            attribute.name,
            attribute.description
        );
    }
}

#[test]
fn the_resolvers_problems_are_errors_at_their_attribute_naming_the_variable() {
    let config = azure_config(vec![
        ("use_aks_workload_identity", Value::from(true)),
        ("msi_endpoint", Value::from("169.254.169.254/token")),
        ("use_msi", Value::from(true)),
    ]);
    let env = FakeEnv(HashMap::from([("ARM_SUBSCRIPTION_ID", "sub")]));
    let (cfg, diags) = resolve_settings(&config, &env);
    assert!(cfg.is_none());
    let found = summaries(&diags);
    assert_eq!(
        found,
        vec![
            (
                true,
                "Invalid Azure setting".to_string(),
                Some("azure.use_aks_workload_identity".to_string())
            ),
            (
                true,
                "Invalid Azure setting".to_string(),
                Some("azure.msi_endpoint".to_string())
            ),
        ]
    );
    assert!(
        diags.0[0].detail.contains("ARM_USE_AKS_WORKLOAD_IDENTITY")
            && diags.0[0].detail.contains("AZURE_FEDERATED_TOKEN_FILE"),
        "{}",
        diags.0[0].detail
    );
    assert!(
        diags.0[1].detail.contains("ARM_MSI_ENDPOINT"),
        "{}",
        diags.0[1].detail
    );
}

#[test]
fn the_new_credentials_come_from_the_block() {
    use crate::platform::azure::settings::{AssertionSource, CredentialSource};

    let config = azure_config(vec![
        ("subscription_id", Value::from("sub")),
        ("tenant_id", Value::from("tenant")),
        ("client_id", Value::from("app")),
        ("use_oidc", Value::from(true)),
        ("oidc_token", Value::from("header.claims.signature")),
        (
            "oidc_request_url",
            Value::from("https://token.actions.example/req"),
        ),
        ("oidc_request_token", Value::from("bearer-value")),
        ("use_msi", Value::from(true)),
        (
            "msi_endpoint",
            Value::from("http://127.0.0.1:9/metadata/identity/oauth2/token"),
        ),
        ("use_cli", Value::from(false)),
    ]);
    let (cfg, diags) = resolve_settings(&config, &FakeEnv(HashMap::new()));
    assert!(diags.is_empty(), "{diags:?}");
    let azure = cfg.unwrap().azure.unwrap();
    let kinds: Vec<&str> = azure
        .credentials
        .iter()
        .map(CredentialSource::kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "OIDC token (client assertion)",
            "OIDC from GitHub Actions (client assertion)",
            "managed identity"
        ]
    );
    assert!(matches!(
        &azure.credentials[1],
        CredentialSource::ClientAssertion {
            assertion: AssertionSource::GitHubActions { request_url, .. }, ..
        } if request_url == "https://token.actions.example/req"
    ));
    let shown = format!("{azure:?}");
    for secret in ["header.claims.signature", "bearer-value"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn unknown_values_are_skipped_at_validate_and_refused_at_configure() {
    // Values from variables are unknown at validate: no problem that the
    // unknown value could resolve is reported.
    let env = FakeEnv(HashMap::new());
    for attrs in [
        // subscription_id missing unless the unknown value sets it
        vec![("subscription_id", Value::Unknown)],
        // use_oidc without a token unless the unknown token is one
        vec![
            ("subscription_id", Value::from("sub")),
            ("tenant_id", Value::from("t")),
            ("client_id", Value::from("c")),
            ("use_oidc", Value::from(true)),
            ("oidc_token", Value::Unknown),
        ],
        // no credential at all unless the unknown flag turns one on
        vec![
            ("subscription_id", Value::from("sub")),
            ("use_cli", Value::from(false)),
            ("use_msi", Value::Unknown),
        ],
        // a custom cloud whose endpoint is not known yet
        vec![
            ("subscription_id", Value::from("sub")),
            ("environment", Value::from("custom")),
            ("resource_manager_endpoint", Value::Unknown),
            ("authority_host", Value::from("https://login.example")),
        ],
    ] {
        let (_, diags) = resolve_settings(&azure_config(attrs.clone()), &env);
        assert!(diags.is_empty(), "{attrs:?}: {diags:?}");
    }

    // A problem no unknown value can fix is still reported.
    let config = azure_config(vec![
        ("subscription_id", Value::Unknown),
        ("authority_host", Value::from("http://login.example")),
    ]);
    let (_, diags) = resolve_settings(&config, &env);
    assert_eq!(
        summaries(&diags),
        vec![(
            true,
            "Invalid Azure setting".to_string(),
            Some("azure.authority_host".to_string())
        )]
    );

    // Validation lets an unknown value be; configuring needs it: an error
    // at the attribute.
    let config = azure_config(vec![("subscription_id", Value::Unknown)]);
    let validated = validate(&config, &env);
    assert!(validated.is_empty(), "{validated:?}");
    let (cfg, diags) = resolve(&config, &env);
    assert!(cfg.is_none());
    assert_eq!(
        summaries(&diags),
        vec![(
            true,
            "Azure setting not known until apply".to_string(),
            Some("azure.subscription_id".to_string())
        )]
    );

    // An unknown local endpoint falls back, as before.
    let config = Value::object([
        ("local", Value::object([("endpoint", Value::Unknown)])),
        ("azure", Value::Null),
    ]);
    let (cfg, diags) = resolve(&config, &env);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.unwrap().local.endpoint, DEFAULT_LOCAL_ENDPOINT);
}
