//! The provider configuration: the `local` and `azure` blocks, with the
//! environment-variable fallbacks platform engineers know from azurerm.

use std::path::PathBuf;

use tfplugin::schema::{Attribute, Block, NestedBlock, Schema};
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

/// Default admin endpoint of the local platform daemon.
pub const DEFAULT_LOCAL_ENDPOINT: &str = "http://127.0.0.1:7480";
/// Default state directory of the local platform daemon.
pub const DEFAULT_LOCAL_STATE_DIR: &str = ".bluegreen";

/// The provider configuration schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "Blue-green releases for Terraform. Implemented: the embedded **local** platform, used with no block \
                 or a `local` block. Not implemented yet: Azure Container Apps behind Front Door; an `azure` block is \
                 refused with an error until it is, and `ARM_*` variables (which azurerm reads too) only draw a warning \
                 when no `local` block says the local platform is meant.",
            )
            .block(NestedBlock::single(
                "local",
                Block::new()
                    .description("The embedded local platform (`bluegreen-local`), the default when no block is given.")
                    .attr(Attribute::string("endpoint").optional().description(format!(
                        "Admin endpoint of the local platform daemon. Env `BLUEGREEN_LOCAL_ENDPOINT`; default `{DEFAULT_LOCAL_ENDPOINT}`."
                    )))
                    .attr(Attribute::string("state_dir").optional().description(format!(
                        "Directory holding the daemon's state and admin token. Env `BLUEGREEN_LOCAL_STATE_DIR`; default `{DEFAULT_LOCAL_STATE_DIR}` (relative to the working directory)."
                    )))
                    .attr(Attribute::bool("autostart").optional().description(
                        "Start `bluegreen-local` in the background when nothing answers at `endpoint`. Default `true`.",
                    )),
            ))
            .block(NestedBlock::single(
                "azure",
                Block::new()
                    .description("**Not implemented yet: refused with an error.** Azure Resource Manager credentials and cloud, for the Azure platform to come. Each argument falls back to the environment variable azurerm uses.")
                    .attr(Attribute::string("subscription_id").optional().description("Subscription id. Env `ARM_SUBSCRIPTION_ID`."))
                    .attr(Attribute::string("tenant_id").optional().description("Microsoft Entra tenant id. Env `ARM_TENANT_ID`."))
                    .attr(Attribute::string("client_id").optional().description("Service principal or managed identity client id. Env `ARM_CLIENT_ID`."))
                    .attr(
                        Attribute::string("client_secret")
                            .optional()
                            .sensitive()
                            .description("Service principal secret. Env `ARM_CLIENT_SECRET`. Never logged or stored in state."),
                    )
                    .attr(Attribute::bool("use_oidc").optional().description("Authenticate with a federated (OIDC) token. Env `ARM_USE_OIDC`."))
                    .attr(Attribute::string("oidc_token_file_path").optional().description(
                        "File holding the federated token. Env `ARM_OIDC_TOKEN_FILE_PATH`, then `AZURE_FEDERATED_TOKEN_FILE`.",
                    ))
                    .attr(Attribute::bool("use_msi").optional().description("Authenticate with a managed identity. Env `ARM_USE_MSI`."))
                    .attr(Attribute::bool("use_cli").optional().description("Authenticate with the Azure CLI's login. Env `ARM_USE_CLI`."))
                    .attr(Attribute::string("environment").optional().description(
                        "Cloud: `public`, `usgovernment`, `china`, or `custom` with the endpoints below. Env `ARM_ENVIRONMENT`; default `public`.",
                    ))
                    .attr(Attribute::string("resource_manager_endpoint").optional().description(
                        "Resource Manager URL for private clouds and tests, e.g. `https://management.contoso.example/`.",
                    ))
                    .attr(Attribute::string("authority_host").optional().description("Microsoft Entra authority URL for private clouds and tests."))
                    .attr(Attribute::string("ca_certificate_file").optional().description(
                        "PEM file of extra CA certificates to trust for Resource Manager, the authority host, and the health gate and smoke tests on HTTPS revision addresses (which also trust the public web PKI roots).",
                    )),
            )),
    )
}

/// Resolved settings for the local platform.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// Admin endpoint.
    pub endpoint: String,
    /// State directory (token location).
    pub state_dir: PathBuf,
    /// Start the daemon when nothing answers.
    pub autostart: bool,
}

/// Resolved Azure settings. The secret is kept out of Debug output.
#[derive(Clone, PartialEq)]
pub struct AzureConfig {
    /// Subscription id.
    pub subscription_id: Option<String>,
    /// Tenant id.
    pub tenant_id: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// Client secret.
    pub client_secret: Option<String>,
    /// Use a federated token.
    pub use_oidc: bool,
    /// Federated token file.
    pub oidc_token_file_path: Option<PathBuf>,
    /// Use managed identity.
    pub use_msi: bool,
    /// Use the Azure CLI.
    pub use_cli: bool,
    /// Cloud name.
    pub environment: String,
    /// Resource Manager URL.
    pub resource_manager_endpoint: String,
    /// Authority URL.
    pub authority_host: String,
    /// Extra CA bundle.
    pub ca_certificate_file: Option<PathBuf>,
}

impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("subscription_id", &self.subscription_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "(sensitive)"),
            )
            .field("environment", &self.environment)
            .field("resource_manager_endpoint", &self.resource_manager_endpoint)
            .finish_non_exhaustive()
    }
}

/// The whole resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Local platform settings (always resolved: it is the default platform).
    pub local: LocalConfig,
    /// Azure settings, when an `azure` block is present (its arguments fall
    /// back to the `ARM_*` variables). Rejected until Azure is implemented.
    pub azure: Option<AzureConfig>,
}

/// Where configuration values come from besides the config itself.
pub trait Env {
    /// An environment variable, if set and non-empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn string_or_env(block: &Value, attr: &str, env: &dyn Env, vars: &[&str]) -> Option<String> {
    block
        .get(attr)
        .as_str()
        .map(str::to_string)
        .or_else(|| vars.iter().find_map(|v| env.var(v)))
}

fn bool_or_env(
    block: &Value,
    attr: &str,
    env: &dyn Env,
    var: &str,
    path: &AttributePath,
    diags: &mut Diagnostics,
) -> Option<bool> {
    if let Some(b) = block.get(attr).as_bool() {
        return Some(b);
    }
    let raw = env.var(var)?;
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            diags.error_at(
                path.clone().then_attr(attr),
                format!("Invalid {var}"),
                format!("{var} is {raw:?}; set it to true or false."),
            );
            None
        }
    }
}

/// The `ARM_*` variables whose presence suggests the user expects Azure.
const ARM_SELECTING_VARS: [&str; 3] = ["ARM_SUBSCRIPTION_ID", "ARM_TENANT_ID", "ARM_CLIENT_ID"];

/// Until the Azure platform exists: an `azure` block is an error (a
/// configuration written for Azure must not silently release on this
/// machine), and `ARM_*` variables with neither block are a warning, not an
/// error, because azurerm in the same configuration reads the same variables.
/// An explicit `local` block says the local platform is meant: no warning.
fn unimplemented_platforms(config: &Value, env: &dyn Env, diags: &mut Diagnostics) {
    if !config.get("azure").is_null() {
        diags.error_at(
            AttributePath::attr("azure"),
            "The Azure platform is not implemented yet",
            "This version of the provider releases only on the local platform (bluegreen-local): \
             the azure block's arguments are checked but nothing can reach Azure. Remove the azure \
             block to release on the local platform, or use a provider version whose documentation \
             lists Azure as implemented.",
        );
        return;
    }
    if !config.get("local").is_null() {
        return;
    }
    let set: Vec<&str> = ARM_SELECTING_VARS
        .into_iter()
        .filter(|v| env.var(v).is_some())
        .collect();
    if !set.is_empty() {
        diags.push(Diagnostic::warning(
            "Releasing on the local platform despite ARM_* variables",
            format!(
                "{} set, but this version of the provider implements only the local platform \
                 (bluegreen-local), and it releases there. The variables are left to azurerm. \
                 Add an empty local {{}} block to the provider \"bluegreen\" block to say the local \
                 platform is meant and silence this warning.",
                if set.len() == 1 {
                    format!("{} is", set[0])
                } else {
                    format!("{} are", set.join(", "))
                }
            ),
        ));
    }
}

/// Resolves the configuration with its fallbacks, reporting every problem at
/// its attribute path, and refuses the platforms not implemented yet.
pub fn resolve(config: &Value, env: &dyn Env) -> (Option<ProviderConfig>, Diagnostics) {
    let (resolved, mut diags) = resolve_settings(config, env);
    unimplemented_platforms(config, env, &mut diags);
    if diags.has_errors() {
        (None, diags)
    } else {
        (resolved, diags)
    }
}

/// The settings alone, whichever platform they select. Unknown values (not
/// yet known at plan time) are skipped.
fn resolve_settings(config: &Value, env: &dyn Env) -> (Option<ProviderConfig>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let local_block = config.get("local");
    let local_path = AttributePath::attr("local");
    let endpoint = string_or_env(local_block, "endpoint", env, &["BLUEGREEN_LOCAL_ENDPOINT"])
        .unwrap_or_else(|| DEFAULT_LOCAL_ENDPOINT.to_string());
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        diags.error_at(
            local_path.clone().then_attr("endpoint"),
            "Invalid local platform endpoint",
            format!("{endpoint:?} is not an http:// or https:// URL. Use e.g. \"{DEFAULT_LOCAL_ENDPOINT}\"."),
        );
    }
    let state_dir = string_or_env(
        local_block,
        "state_dir",
        env,
        &["BLUEGREEN_LOCAL_STATE_DIR"],
    )
    .unwrap_or_else(|| DEFAULT_LOCAL_STATE_DIR.to_string());
    if state_dir.trim().is_empty() {
        diags.error_at(
            local_path.clone().then_attr("state_dir"),
            "Empty state_dir",
            "Set a directory path, or remove the argument to use \".bluegreen\".",
        );
    }
    let autostart = local_block.get("autostart").as_bool().unwrap_or(true);
    let local = LocalConfig {
        endpoint,
        state_dir: PathBuf::from(state_dir),
        autostart,
    };

    let azure_block = config.get("azure");
    let azure_path = AttributePath::attr("azure");
    // Only the block selects Azure: the ARM_* variables also configure
    // azurerm, often in the same configuration, so they fill in the block's
    // arguments but never choose the platform on their own.
    let azure = if !azure_block.is_null() {
        let environment = string_or_env(azure_block, "environment", env, &["ARM_ENVIRONMENT"])
            .unwrap_or_else(|| "public".to_string())
            .to_ascii_lowercase();
        let custom_rm = string_or_env(
            azure_block,
            "resource_manager_endpoint",
            env,
            &["ARM_RESOURCE_MANAGER_ENDPOINT"],
        );
        let custom_auth =
            string_or_env(azure_block, "authority_host", env, &["ARM_AUTHORITY_HOST"]);
        let (rm_default, auth_default) = match environment.as_str() {
            "public" => (
                "https://management.azure.com/",
                "https://login.microsoftonline.com/",
            ),
            "usgovernment" => (
                "https://management.usgovcloudapi.net/",
                "https://login.microsoftonline.us/",
            ),
            "china" => (
                "https://management.chinacloudapi.cn/",
                "https://login.chinacloudapi.cn/",
            ),
            "custom" => ("", ""),
            other => {
                diags.error_at(
                    azure_path.clone().then_attr("environment"),
                    "Unknown Azure environment",
                    format!("{other:?} is not one of public, usgovernment, china, custom. For a private cloud use \"custom\" with resource_manager_endpoint and authority_host."),
                );
                ("", "")
            }
        };
        let resource_manager_endpoint = custom_rm.unwrap_or_else(|| rm_default.to_string());
        let authority_host = custom_auth.unwrap_or_else(|| auth_default.to_string());
        if environment == "custom" {
            for (attr, v) in [
                ("resource_manager_endpoint", &resource_manager_endpoint),
                ("authority_host", &authority_host),
            ] {
                if v.is_empty() {
                    diags.error_at(
                        azure_path.clone().then_attr(attr),
                        format!("Missing {attr}"),
                        format!(
                            "environment = \"custom\" needs {attr}: set it to your cloud's URL."
                        ),
                    );
                }
            }
        }
        for (attr, v) in [
            ("resource_manager_endpoint", &resource_manager_endpoint),
            ("authority_host", &authority_host),
        ] {
            if !v.is_empty() && !v.starts_with("https://") {
                diags.error_at(
                    azure_path.clone().then_attr(attr),
                    format!("Invalid {attr}"),
                    format!("{v:?} must be an https:// URL: credentials are never sent in clear."),
                );
            }
        }
        let ca_certificate_file = azure_block
            .get("ca_certificate_file")
            .as_str()
            .map(PathBuf::from);
        if let Some(file) = &ca_certificate_file {
            if !file.is_file() {
                diags.error_at(
                    azure_path.clone().then_attr("ca_certificate_file"),
                    "CA certificate file not found",
                    format!(
                        "{} does not exist or is not a file. Point it at a PEM bundle.",
                        file.display()
                    ),
                );
            } else if let Err(e) = crate::http::trust::Trust::load(Some(file)) {
                // The gates trust it for HTTPS revision addresses: a file
                // that is not PEM fails here, not at the first release.
                diags.error_at(
                    azure_path.clone().then_attr("ca_certificate_file"),
                    "CA certificate file not usable",
                    format!("{e}. Point it at a PEM bundle of CA certificates."),
                );
            }
        }
        let use_oidc = bool_or_env(
            azure_block,
            "use_oidc",
            env,
            "ARM_USE_OIDC",
            &azure_path,
            &mut diags,
        )
        .unwrap_or(false);
        let use_msi = bool_or_env(
            azure_block,
            "use_msi",
            env,
            "ARM_USE_MSI",
            &azure_path,
            &mut diags,
        )
        .unwrap_or(false);
        let use_cli = bool_or_env(
            azure_block,
            "use_cli",
            env,
            "ARM_USE_CLI",
            &azure_path,
            &mut diags,
        )
        .unwrap_or(true);
        Some(AzureConfig {
            subscription_id: string_or_env(
                azure_block,
                "subscription_id",
                env,
                &["ARM_SUBSCRIPTION_ID"],
            ),
            tenant_id: string_or_env(azure_block, "tenant_id", env, &["ARM_TENANT_ID"]),
            client_id: string_or_env(azure_block, "client_id", env, &["ARM_CLIENT_ID"]),
            client_secret: string_or_env(azure_block, "client_secret", env, &["ARM_CLIENT_SECRET"]),
            use_oidc,
            oidc_token_file_path: string_or_env(
                azure_block,
                "oidc_token_file_path",
                env,
                &["ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"],
            )
            .map(PathBuf::from),
            use_msi,
            use_cli,
            environment,
            resource_manager_endpoint,
            authority_host,
            ca_certificate_file,
        })
    } else {
        None
    };
    if diags.has_errors() {
        (None, diags)
    } else {
        (Some(ProviderConfig { local, azure }), diags)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(azure.subscription_id.as_deref(), Some("sub-from-config"));
        assert_eq!(
            azure.resource_manager_endpoint,
            "https://management.azure.com/"
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
        let (cfg, diags) = resolve_settings(&config, &FakeEnv(HashMap::new()));
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
        let (cfg, diags) = resolve_settings(&config, &FakeEnv(HashMap::new()));
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
    fn azure_block_is_refused_at_its_path_until_implemented() {
        let config = Value::object([
            ("local", Value::Null),
            (
                "azure",
                Value::object([("subscription_id", Value::from("sub"))]),
            ),
        ]);
        let (cfg, diags) = resolve(&config, &FakeEnv(HashMap::new()));
        assert!(cfg.is_none(), "an azure block must not run locally");
        assert_eq!(
            summaries(&diags),
            vec![(
                true,
                "The Azure platform is not implemented yet".to_string(),
                Some("azure".to_string())
            )]
        );
    }

    #[test]
    fn arm_variables_alone_warn_and_run_locally() {
        let env = FakeEnv(HashMap::from([
            ("ARM_CLIENT_ID", "app"),
            ("ARM_SUBSCRIPTION_ID", "sub"),
        ]));
        let (cfg, diags) = resolve(&null_config(), &env);
        let cfg = cfg.expect("a warning still configures the local platform");
        assert!(cfg.azure.is_none(), "ARM_* alone must not select Azure");
        let found = summaries(&diags);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(!found[0].0, "a warning, not an error: {found:?}");
        let detail = &diags.0[0].detail;
        assert!(
            detail.contains("ARM_SUBSCRIPTION_ID, ARM_CLIENT_ID are set"),
            "{detail}"
        );
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
}
