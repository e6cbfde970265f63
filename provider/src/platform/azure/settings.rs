//! The provider `azure` block merged with the `ARM_*` variables azurerm reads:
//! which cloud, which subscription, and which credentials, in the order they
//! are tried. Pure: no file, network or process access, so every rule is
//! unit-tested here and the errors name the attribute and its variable.

use std::fmt;
use std::path::PathBuf;

use crate::env::Env;

/// Audience of the federated tokens Microsoft Entra accepts as client assertions.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The values written in the provider's `azure` block (`None` = not written).
#[derive(Clone, Default, PartialEq)]
pub struct AzureBlock {
    /// `subscription_id`.
    pub subscription_id: Option<String>,
    /// `tenant_id`.
    pub tenant_id: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret` (sensitive).
    pub client_secret: Option<String>,
    /// `environment`: public, usgovernment, china or custom.
    pub environment: Option<String>,
    /// `resource_manager_endpoint`.
    pub resource_manager_endpoint: Option<String>,
    /// `authority_host`.
    pub authority_host: Option<String>,
    /// `ca_certificate_file`.
    pub ca_certificate_file: Option<String>,
    /// `use_oidc`.
    pub use_oidc: Option<bool>,
    /// `oidc_token` (sensitive): a federated token given directly.
    pub oidc_token: Option<String>,
    /// `oidc_token_file_path`: a file holding the federated token.
    pub oidc_token_file_path: Option<String>,
    /// `oidc_request_url`: GitHub Actions' token request URL.
    pub oidc_request_url: Option<String>,
    /// `oidc_request_token` (sensitive): GitHub Actions' bearer for that URL.
    pub oidc_request_token: Option<String>,
    /// `use_aks_workload_identity`: client, tenant and token file from the
    /// variables AKS's workload identity webhook sets.
    pub use_aks_workload_identity: Option<bool>,
    /// `use_msi`.
    pub use_msi: Option<bool>,
    /// `msi_endpoint`: the managed identity token endpoint (IMDS shape).
    pub msi_endpoint: Option<String>,
    /// `use_cli`.
    pub use_cli: Option<bool>,
}

impl fmt::Debug for AzureBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "(sensitive)");
        f.debug_struct("AzureBlock")
            .field("subscription_id", &self.subscription_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("environment", &self.environment)
            .field("resource_manager_endpoint", &self.resource_manager_endpoint)
            .field("authority_host", &self.authority_host)
            .field("oidc_token", &hidden(&self.oidc_token))
            .field("oidc_request_token", &hidden(&self.oidc_request_token))
            .finish_non_exhaustive()
    }
}

/// A secret value (client secret, federated token, request bearer) whose
/// Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Sensitive(value.into())
    }

    /// The secret itself, for the one request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// The named Azure clouds, plus a private one with its own endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudName {
    /// Azure public cloud.
    Public,
    /// Azure US Government.
    UsGovernment,
    /// Azure operated by 21Vianet (China).
    China,
    /// Endpoints given by `resource_manager_endpoint` and `authority_host`.
    Custom,
}

impl CloudName {
    /// The spelling `environment` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudName::Public => "public",
            CloudName::UsGovernment => "usgovernment",
            CloudName::China => "china",
            CloudName::Custom => "custom",
        }
    }

    fn parse(value: &str) -> Option<CloudName> {
        // azurerm's own spellings, and the Go SDK's long names some pipelines still set.
        match value.trim().to_ascii_lowercase().as_str() {
            "public" | "azurepubliccloud" => Some(CloudName::Public),
            "usgovernment" | "usgovernmentcloud" | "azureusgovernmentcloud" => {
                Some(CloudName::UsGovernment)
            }
            "china" | "azurechinacloud" => Some(CloudName::China),
            "custom" => Some(CloudName::Custom),
            _ => None,
        }
    }

    /// (Resource Manager URL, authority host, token audience) of a named cloud.
    fn endpoints(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            CloudName::Public => Some((
                "https://management.azure.com",
                "https://login.microsoftonline.com",
                "https://management.azure.com",
            )),
            CloudName::UsGovernment => Some((
                "https://management.usgovcloudapi.net",
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
            )),
            CloudName::China => Some((
                "https://management.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
            )),
            CloudName::Custom => None,
        }
    }
}

/// Where Resource Manager and Microsoft Entra are, for one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// The cloud chosen by `environment`.
    pub name: CloudName,
    /// Resource Manager base URL, without a trailing slash.
    pub resource_manager_endpoint: String,
    /// Microsoft Entra authority host, without a trailing slash.
    pub authority_host: String,
    /// Audience of ARM tokens; the scope asked for is `{audience}/.default`.
    pub token_audience: String,
}

impl Cloud {
    /// The OAuth scope of Resource Manager tokens.
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", self.token_audience)
    }
}

/// Where a client assertion (federated token) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionSource {
    /// A token given as `oidc_token` / `ARM_OIDC_TOKEN`.
    Token(Sensitive),
    /// GitHub Actions: a GET of `request_url` with `request_token` as bearer,
    /// asked for the Entra federation audience, before each token request.
    GitHubActions {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: Sensitive,
    },
}

/// How managed identity is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedIdentityEndpoint {
    /// Instance Metadata Service shape (`Metadata: true`), at this URL.
    Imds(String),
    /// App Service / Functions shape (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    AppService {
        /// `IDENTITY_ENDPOINT`.
        endpoint: String,
        /// `IDENTITY_HEADER`.
        header: Sensitive,
    },
}

/// The Azure VM / AKS metadata endpoint managed identity uses by default.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// One configured way to get tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Service principal with a client secret.
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The secret.
        client_secret: Sensitive,
    },
    /// Service principal with a federated token (OIDC) as client assertion.
    ClientAssertion {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// Where the assertion comes from.
        assertion: AssertionSource,
    },
    /// Workload identity: the federated token is re-read from a file that
    /// the platform (AKS, a pipeline) refreshes.
    WorkloadIdentity {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The token file.
        token_file: PathBuf,
    },
    /// Managed identity (system-assigned, or user-assigned when `client_id` is set).
    ManagedIdentity {
        /// User-assigned identity's client id.
        client_id: Option<String>,
        /// Token endpoint.
        endpoint: ManagedIdentityEndpoint,
    },
    /// The Azure CLI's login (`az account get-access-token`).
    AzureCli {
        /// Tenant to ask the CLI for, if set.
        tenant_id: Option<String>,
    },
}

impl CredentialSource {
    /// A short name for diagnostics ("client secret", "managed identity", …).
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialSource::ClientSecret { .. } => "client secret",
            CredentialSource::ClientAssertion {
                assertion: AssertionSource::Token(_),
                ..
            } => "OIDC token (client assertion)",
            CredentialSource::ClientAssertion {
                assertion: AssertionSource::GitHubActions { .. },
                ..
            } => "OIDC from GitHub Actions (client assertion)",
            CredentialSource::WorkloadIdentity { .. } => "workload identity (OIDC token file)",
            CredentialSource::ManagedIdentity { .. } => "managed identity",
            CredentialSource::AzureCli { .. } => "Azure CLI",
        }
    }
}

/// Where the subscription id comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionSource {
    /// `subscription_id`, or `ARM_SUBSCRIPTION_ID`.
    Given(String),
    /// Neither is set and the Azure CLI credential is configured: the CLI's
    /// current subscription (`az account show`), asked once on first use, as
    /// azurerm does. Resolving stays pure; the ARM client runs the CLI.
    AzureCli,
}

impl SubscriptionSource {
    /// The id when it was given.
    pub fn given(&self) -> Option<&str> {
        match self {
            SubscriptionSource::Given(id) => Some(id),
            SubscriptionSource::AzureCli => None,
        }
    }
}

/// A given subscription compares equal to its id.
impl PartialEq<str> for SubscriptionSource {
    fn eq(&self, other: &str) -> bool {
        self.given() == Some(other)
    }
}

impl PartialEq<&str> for SubscriptionSource {
    fn eq(&self, other: &&str) -> bool {
        self.given() == Some(*other)
    }
}

/// Resolved Azure settings: cloud, subscription, TLS trust and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureSettings {
    /// Subscription the resources live in, or where to ask for it.
    pub subscription_id: SubscriptionSource,
    /// The cloud's endpoints.
    pub cloud: Cloud,
    /// Extra CA certificates (PEM) trusted for Resource Manager and the authority.
    pub ca_certificate_file: Option<PathBuf>,
    /// Configured credentials, in the order they are tried; the first that
    /// gives a token is used from then on.
    pub credentials: Vec<CredentialSource>,
}

/// One problem in the `azure` block or its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// Attribute path, e.g. `azure.client_secret`.
    pub attribute: String,
    /// The environment variables the attribute falls back to.
    pub env_vars: Vec<&'static str>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attribute)?;
        if !self.env_vars.is_empty() {
            write!(f, " (env {})", self.env_vars.join(", "))?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found; resolving reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid azure settings: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SettingsError {
    /// The problems, in attribute order.
    pub problems: Vec<SettingProblem>,
}

// Each attribute and the variables it falls back to, in precedence order.
const SUBSCRIPTION_ID: (&str, &[&str]) = ("subscription_id", &["ARM_SUBSCRIPTION_ID"]);
const TENANT_ID: (&str, &[&str]) = ("tenant_id", &["ARM_TENANT_ID"]);
const CLIENT_ID: (&str, &[&str]) = ("client_id", &["ARM_CLIENT_ID"]);
const CLIENT_SECRET: (&str, &[&str]) = ("client_secret", &["ARM_CLIENT_SECRET"]);
const ENVIRONMENT: (&str, &[&str]) = ("environment", &["ARM_ENVIRONMENT"]);
const RESOURCE_MANAGER_ENDPOINT: (&str, &[&str]) = (
    "resource_manager_endpoint",
    &["ARM_RESOURCE_MANAGER_ENDPOINT"],
);
const AUTHORITY_HOST: (&str, &[&str]) = ("authority_host", &["ARM_AUTHORITY_HOST"]);
const USE_OIDC: (&str, &[&str]) = ("use_oidc", &["ARM_USE_OIDC"]);
const OIDC_TOKEN: (&str, &[&str]) = ("oidc_token", &["ARM_OIDC_TOKEN"]);
const OIDC_TOKEN_FILE_PATH: (&str, &[&str]) = (
    "oidc_token_file_path",
    &["ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"],
);
const OIDC_REQUEST_URL: (&str, &[&str]) = (
    "oidc_request_url",
    &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"],
);
const OIDC_REQUEST_TOKEN: (&str, &[&str]) = (
    "oidc_request_token",
    &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
);
const USE_AKS_WORKLOAD_IDENTITY: (&str, &[&str]) = (
    "use_aks_workload_identity",
    &["ARM_USE_AKS_WORKLOAD_IDENTITY"],
);
const USE_MSI: (&str, &[&str]) = ("use_msi", &["ARM_USE_MSI"]);
const MSI_ENDPOINT: (&str, &[&str]) = ("msi_endpoint", &["ARM_MSI_ENDPOINT"]);
const USE_CLI: (&str, &[&str]) = ("use_cli", &["ARM_USE_CLI"]);

struct Resolver<'a> {
    env: &'a dyn Env,
    problems: Vec<SettingProblem>,
}

impl Resolver<'_> {
    fn problem(&mut self, (attr, vars): (&str, &[&'static str]), message: impl Into<String>) {
        self.problems.push(SettingProblem {
            attribute: format!("azure.{attr}"),
            env_vars: vars.to_vec(),
            message: message.into(),
        });
    }

    /// The block's value, else the first variable set; empty counts as unset.
    fn string(&self, value: &Option<String>, (_, vars): (&str, &[&str])) -> Option<String> {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| vars.iter().find_map(|v| self.env.var(v)))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn boolean(&mut self, value: Option<bool>, key: (&str, &[&'static str])) -> Option<bool> {
        if value.is_some() {
            return value;
        }
        let (var, raw) = key
            .1
            .iter()
            .find_map(|v| self.env.var(v).map(|r| (*v, r)))?;
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.problem(key, format!("{var} is {raw:?}; set it to true or false."));
                None
            }
        }
    }

    fn https_url(&mut self, value: Option<String>, key: (&str, &[&'static str])) -> Option<String> {
        let url = value?;
        if !url.starts_with("https://") || url.len() <= "https://".len() {
            self.problem(
                key,
                format!(
                    "{url:?} must be an https:// URL: tokens and secrets are never sent in clear."
                ),
            );
            return None;
        }
        Some(url.trim_end_matches('/').to_string())
    }
}

/// Resolves the `azure` block against the environment: every problem is
/// reported, each naming the attribute and the variable it falls back to.
pub fn resolve(block: &AzureBlock, env: &dyn Env) -> Result<AzureSettings, SettingsError> {
    let mut r = Resolver {
        env,
        problems: Vec::new(),
    };

    let cloud = resolve_cloud(&mut r, block);

    let given_subscription = r.string(&block.subscription_id, SUBSCRIPTION_ID);
    // Its problem, if any, goes here: problems are in attribute order.
    let subscription_problem_at = r.problems.len();

    let ca_certificate_file = block
        .ca_certificate_file
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);

    let credentials = resolve_credentials(&mut r, block);

    let cli = credentials
        .iter()
        .any(|c| matches!(c, CredentialSource::AzureCli { .. }));
    let subscription_id = match given_subscription {
        Some(id) => Some(SubscriptionSource::Given(id)),
        None if cli => Some(SubscriptionSource::AzureCli),
        None => {
            r.problems.insert(
                subscription_problem_at,
                SettingProblem {
                    attribute: format!("azure.{}", SUBSCRIPTION_ID.0),
                    env_vars: SUBSCRIPTION_ID.1.to_vec(),
                    message: "Missing: set subscription_id (the subscription holding the Container App and Front Door) or ARM_SUBSCRIPTION_ID; with the Azure CLI credential (use_cli), the CLI's current subscription is used instead.".into(),
                },
            );
            None
        }
    };

    match (subscription_id, cloud) {
        (Some(subscription_id), Some(cloud)) if r.problems.is_empty() => Ok(AzureSettings {
            subscription_id,
            cloud,
            ca_certificate_file,
            credentials,
        }),
        _ => Err(SettingsError {
            problems: r.problems,
        }),
    }
}

fn resolve_cloud(r: &mut Resolver<'_>, block: &AzureBlock) -> Option<Cloud> {
    // Endpoints first, so that their problems are reported with the environment's.
    let rm = r.string(&block.resource_manager_endpoint, RESOURCE_MANAGER_ENDPOINT);
    let rm = r.https_url(rm, RESOURCE_MANAGER_ENDPOINT);
    let authority = r.string(&block.authority_host, AUTHORITY_HOST);
    let authority = r.https_url(authority, AUTHORITY_HOST);
    let name = match r.string(&block.environment, ENVIRONMENT) {
        None => CloudName::Public,
        Some(raw) => match CloudName::parse(&raw) {
            Some(name) => name,
            None => {
                r.problem(
                    ENVIRONMENT,
                    format!(
                        "{raw:?} is not one of public, usgovernment, china, custom. For a private cloud use \"custom\" with resource_manager_endpoint and authority_host."
                    ),
                );
                return None;
            }
        },
    };
    match name.endpoints() {
        Some((rm_default, authority_default, audience)) => {
            // A custom endpoint on a named cloud (a proxy, a test double) is
            // the audience too: the token must be for the endpoint it is sent to.
            let audience = rm.clone().unwrap_or_else(|| audience.to_string());
            Some(Cloud {
                name,
                resource_manager_endpoint: rm.unwrap_or_else(|| rm_default.to_string()),
                authority_host: authority.unwrap_or_else(|| authority_default.to_string()),
                token_audience: audience,
            })
        }
        None => {
            let mut missing = false;
            for (value, key) in [
                (&rm, RESOURCE_MANAGER_ENDPOINT),
                (&authority, AUTHORITY_HOST),
            ] {
                if value.is_none() && !r.problems.iter().any(|p| p.attribute.ends_with(key.0)) {
                    r.problem(
                        key,
                        format!("environment = \"custom\" needs {}: set it to your cloud's https:// URL.", key.0),
                    );
                    missing = true;
                }
            }
            match (rm, authority) {
                (Some(rm), Some(authority)) if !missing => Some(Cloud {
                    name,
                    token_audience: rm.clone(),
                    resource_manager_endpoint: rm,
                    authority_host: authority,
                }),
                _ => None,
            }
        }
    }
}

fn resolve_credentials(r: &mut Resolver<'_>, block: &AzureBlock) -> Vec<CredentialSource> {
    let tenant_id = r.string(&block.tenant_id, TENANT_ID);
    let client_id = r.string(&block.client_id, CLIENT_ID);
    let mut sources = Vec::new();

    // Service principal identity, required by every credential that is one.
    let principal = |r: &mut Resolver<'_>, what: &str| -> Option<(String, String)> {
        let mut ok = true;
        for (value, key) in [(&tenant_id, TENANT_ID), (&client_id, CLIENT_ID)] {
            if value.is_none() {
                r.problem(key, format!("Missing: {what} needs {} as well.", key.0));
                ok = false;
            }
        }
        if ok {
            Some((tenant_id.clone()?, client_id.clone()?))
        } else {
            None
        }
    };

    if let Some(secret) = r.string(&block.client_secret, CLIENT_SECRET) {
        if let Some((tenant_id, client_id)) = principal(r, "client_secret") {
            sources.push(CredentialSource::ClientSecret {
                tenant_id,
                client_id,
                client_secret: Sensitive::new(secret),
            });
        }
    }

    if r.boolean(block.use_oidc, USE_OIDC) == Some(true) {
        let token = r.string(&block.oidc_token, OIDC_TOKEN);
        let url = r.string(&block.oidc_request_url, OIDC_REQUEST_URL);
        let bearer = r.string(&block.oidc_request_token, OIDC_REQUEST_TOKEN);
        let file = r.string(&block.oidc_token_file_path, OIDC_TOKEN_FILE_PATH);
        let mut assertions = Vec::new();
        if let Some(token) = token {
            assertions.push(AssertionSource::Token(Sensitive::new(token)));
        }
        match (url, bearer) {
            (Some(request_url), Some(request_token)) => {
                if let Some(url) = r.https_url(Some(request_url), OIDC_REQUEST_URL) {
                    assertions.push(AssertionSource::GitHubActions {
                        request_url: url,
                        request_token: Sensitive::new(request_token),
                    });
                }
            }
            (Some(_), None) => r.problem(
                OIDC_REQUEST_TOKEN,
                "Missing: oidc_request_url is set but its bearer token is not. In GitHub Actions give the job `permissions: id-token: write`.",
            ),
            (None, Some(_)) => r.problem(
                OIDC_REQUEST_URL,
                "Missing: oidc_request_token is set but the URL to use it with is not. In GitHub Actions give the job `permissions: id-token: write`.",
            ),
            (None, None) => {}
        }
        if assertions.is_empty() && file.is_none() {
            r.problem(
                USE_OIDC,
                "use_oidc is true but no federated token is available: set oidc_token, oidc_token_file_path, or oidc_request_url with oidc_request_token (GitHub Actions sets ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN when the job has `permissions: id-token: write`).",
            );
        } else if let Some((tenant_id, client_id)) = principal(r, "use_oidc") {
            for assertion in assertions {
                sources.push(CredentialSource::ClientAssertion {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    assertion,
                });
            }
            if let Some(file) = file {
                sources.push(CredentialSource::WorkloadIdentity {
                    tenant_id,
                    client_id,
                    token_file: PathBuf::from(file),
                });
            }
        }
    }

    // AKS's webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and
    // AZURE_FEDERATED_TOKEN_FILE into the pod; the block's values still win.
    if r.boolean(block.use_aks_workload_identity, USE_AKS_WORKLOAD_IDENTITY) == Some(true) {
        let tenant = tenant_id.clone().or_else(|| r.env.var("AZURE_TENANT_ID"));
        let client = client_id.clone().or_else(|| r.env.var("AZURE_CLIENT_ID"));
        let file = r.string(&block.oidc_token_file_path, OIDC_TOKEN_FILE_PATH);
        match (tenant, client, file) {
            (Some(tenant_id), Some(client_id), Some(file)) => {
                let source = CredentialSource::WorkloadIdentity {
                    tenant_id,
                    client_id,
                    token_file: PathBuf::from(file),
                };
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
            (tenant, client, file) => {
                let missing: Vec<&str> = [
                    (tenant.is_none(), "AZURE_TENANT_ID (or tenant_id)"),
                    (client.is_none(), "AZURE_CLIENT_ID (or client_id)"),
                    (
                        file.is_none(),
                        "AZURE_FEDERATED_TOKEN_FILE (or oidc_token_file_path)",
                    ),
                ]
                .into_iter()
                .filter_map(|(gone, name)| gone.then_some(name))
                .collect();
                r.problem(
                    USE_AKS_WORKLOAD_IDENTITY,
                    format!(
                        "use_aks_workload_identity is true but {} is not set. Label the pod `azure.workload.identity/use: \"true\"` and give it a service account annotated with the identity's client id, so AKS's webhook sets them.",
                        missing.join(", ")
                    ),
                );
            }
        }
    }

    if r.boolean(block.use_msi, USE_MSI) == Some(true) {
        let configured = r.string(&block.msi_endpoint, MSI_ENDPOINT);
        let endpoint = match configured {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(ManagedIdentityEndpoint::Imds(url))
            }
            Some(url) => {
                r.problem(
                    MSI_ENDPOINT,
                    format!("{url:?} is not an http(s):// URL, e.g. {DEFAULT_IMDS_ENDPOINT}."),
                );
                None
            }
            None => match (r.env.var("IDENTITY_ENDPOINT"), r.env.var("IDENTITY_HEADER")) {
                (Some(endpoint), Some(header)) => Some(ManagedIdentityEndpoint::AppService {
                    endpoint,
                    header: Sensitive::new(header),
                }),
                _ => Some(ManagedIdentityEndpoint::Imds(
                    DEFAULT_IMDS_ENDPOINT.to_string(),
                )),
            },
        };
        if let Some(endpoint) = endpoint {
            sources.push(CredentialSource::ManagedIdentity {
                client_id: client_id.clone(),
                endpoint,
            });
        }
    }

    // azurerm tries the CLI last unless told not to.
    if r.boolean(block.use_cli, USE_CLI) != Some(false) {
        sources.push(CredentialSource::AzureCli {
            tenant_id: tenant_id.clone(),
        });
    }

    if sources.is_empty() && r.problems.is_empty() {
        r.problems.push(SettingProblem {
            attribute: "azure".to_string(),
            env_vars: Vec::new(),
            message: "No credential is configured, and use_cli is false. Set one of: client_id + client_secret + tenant_id (ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID); use_oidc = true with a federated token (ARM_USE_OIDC, ARM_OIDC_TOKEN / ARM_OIDC_TOKEN_FILE_PATH / ARM_OIDC_REQUEST_URL + ARM_OIDC_REQUEST_TOKEN); use_aks_workload_identity = true on AKS (ARM_USE_AKS_WORKLOAD_IDENTITY); use_msi = true (ARM_USE_MSI); or use_cli = true (ARM_USE_CLI) after `az login`.".to_string(),
        });
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0
                .get(name)
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
        }
    }

    fn env(pairs: &[(&'static str, &'static str)]) -> MapEnv {
        MapEnv(pairs.iter().copied().collect())
    }

    fn sp_env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("ARM_SUBSCRIPTION_ID", "sub-env"),
            ("ARM_TENANT_ID", "tenant-env"),
            ("ARM_CLIENT_ID", "client-env"),
            ("ARM_CLIENT_SECRET", "secret-env"),
        ]
    }

    fn problems(result: Result<AzureSettings, SettingsError>) -> Vec<SettingProblem> {
        match result {
            Ok(s) => panic!("expected problems, got {s:?}"),
            Err(e) => e.problems,
        }
    }

    #[test]
    fn arm_variables_fill_an_empty_block_and_the_block_wins() {
        let s = resolve(&AzureBlock::default(), &env(&sp_env())).expect("settings");
        assert_eq!(s.subscription_id, "sub-env");
        assert_eq!(
            s.credentials[0],
            CredentialSource::ClientSecret {
                tenant_id: "tenant-env".into(),
                client_id: "client-env".into(),
                client_secret: Sensitive::new("secret-env"),
            }
        );
        // The CLI stays the last resort, as in azurerm.
        assert_eq!(
            s.credentials.last().map(CredentialSource::kind),
            Some("Azure CLI")
        );

        let block = AzureBlock {
            subscription_id: Some("sub-block".into()),
            client_secret: Some("secret-block".into()),
            ..AzureBlock::default()
        };
        let s = resolve(&block, &env(&sp_env())).expect("settings");
        assert_eq!(s.subscription_id, "sub-block");
        match &s.credentials[0] {
            CredentialSource::ClientSecret { client_secret, .. } => {
                assert_eq!(client_secret.expose(), "secret-block")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn public_cloud_by_default_and_sovereign_clouds_by_name() {
        let s = resolve(&AzureBlock::default(), &env(&sp_env())).expect("settings");
        assert_eq!(s.cloud.name, CloudName::Public);
        assert_eq!(
            s.cloud.resource_manager_endpoint,
            "https://management.azure.com"
        );
        assert_eq!(s.cloud.authority_host, "https://login.microsoftonline.com");
        assert_eq!(s.cloud.arm_scope(), "https://management.azure.com/.default");

        let mut vars = sp_env();
        vars.push(("ARM_ENVIRONMENT", "usgovernment"));
        let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
        assert_eq!(s.cloud.name, CloudName::UsGovernment);
        assert_eq!(s.cloud.authority_host, "https://login.microsoftonline.us");
        assert_eq!(
            s.cloud.resource_manager_endpoint,
            "https://management.usgovcloudapi.net"
        );

        let block = AzureBlock {
            environment: Some("China".into()),
            ..AzureBlock::default()
        };
        let s = resolve(&block, &env(&sp_env())).expect("settings");
        assert_eq!(s.cloud.name, CloudName::China);
        assert_eq!(s.cloud.authority_host, "https://login.chinacloudapi.cn");
        assert_eq!(
            s.cloud.arm_scope(),
            "https://management.chinacloudapi.cn/.default"
        );
    }

    #[test]
    fn custom_endpoints_override_and_become_the_token_audience() {
        let block = AzureBlock {
            resource_manager_endpoint: Some("https://127.0.0.1:8443/".into()),
            authority_host: Some("https://127.0.0.1:8443".into()),
            ca_certificate_file: Some("/tmp/ca.pem".into()),
            ..AzureBlock::default()
        };
        let s = resolve(&block, &env(&sp_env())).expect("settings");
        assert_eq!(s.cloud.resource_manager_endpoint, "https://127.0.0.1:8443");
        assert_eq!(s.cloud.authority_host, "https://127.0.0.1:8443");
        assert_eq!(s.cloud.arm_scope(), "https://127.0.0.1:8443/.default");
        assert_eq!(s.ca_certificate_file, Some(PathBuf::from("/tmp/ca.pem")));

        let block = AzureBlock {
            environment: Some("custom".into()),
            ..AzureBlock::default()
        };
        let p = problems(resolve(&block, &env(&sp_env())));
        let attrs: Vec<&str> = p.iter().map(|p| p.attribute.as_str()).collect();
        assert_eq!(
            attrs,
            ["azure.resource_manager_endpoint", "azure.authority_host"]
        );
        assert_eq!(p[0].env_vars, ["ARM_RESOURCE_MANAGER_ENDPOINT"]);
    }

    #[test]
    fn bad_values_name_the_attribute_and_its_variable() {
        let mut vars = sp_env();
        vars.push(("ARM_ENVIRONMENT", "germany"));
        vars.push(("ARM_USE_MSI", "yes please"));
        let block = AzureBlock {
            authority_host: Some("http://login.example".into()),
            ..AzureBlock::default()
        };
        let p = problems(resolve(&block, &env(&vars)));
        let env_msg = p
            .iter()
            .find(|p| p.attribute == "azure.environment")
            .expect("environment problem");
        assert_eq!(env_msg.env_vars, ["ARM_ENVIRONMENT"]);
        assert!(env_msg.message.contains("\"germany\""), "{env_msg}");
        let msi = p
            .iter()
            .find(|p| p.attribute == "azure.use_msi")
            .expect("use_msi problem");
        assert!(msi.to_string().contains("ARM_USE_MSI"), "{msi}");
        assert!(msi.message.contains("true or false"), "{msi}");
        assert!(
            p.iter()
                .any(|p| p.attribute == "azure.authority_host" && p.message.contains("https://")),
            "{p:?}"
        );
    }

    #[test]
    fn missing_subscription_is_reported_with_its_variable() {
        let p = problems(resolve(
            &AzureBlock::default(),
            &env(&[
                ("ARM_USE_CLI", "false"),
                ("ARM_TENANT_ID", "t"),
                ("ARM_CLIENT_ID", "c"),
                ("ARM_CLIENT_SECRET", "s"),
            ]),
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].attribute, "azure.subscription_id");
        assert_eq!(p[0].env_vars, ["ARM_SUBSCRIPTION_ID"]);
        assert!(p[0].message.contains("use_cli"), "{p:?}");
    }

    #[test]
    fn without_a_subscription_the_azure_clis_is_asked_for_on_first_use() {
        let s = resolve(&AzureBlock::default(), &env(&[("ARM_USE_CLI", "true")]))
            .expect("the CLI's subscription will do");
        assert_eq!(s.subscription_id, SubscriptionSource::AzureCli);
        assert_eq!(s.subscription_id.given(), None);
        // A given one wins over the CLI's.
        let s = resolve(
            &AzureBlock::default(),
            &env(&[("ARM_USE_CLI", "true"), ("ARM_SUBSCRIPTION_ID", "sub")]),
        )
        .expect("settings");
        assert_eq!(s.subscription_id, "sub");
    }

    #[test]
    fn the_subscription_problem_stays_in_attribute_order() {
        let block = AzureBlock {
            environment: Some("moon".into()),
            use_cli: Some(false),
            ..AzureBlock::default()
        };
        let p = problems(resolve(&block, &env(&[])));
        let attributes: Vec<&str> = p.iter().map(|p| p.attribute.as_str()).collect();
        assert_eq!(
            attributes[..2],
            ["azure.environment", "azure.subscription_id"],
            "{p:?}"
        );
    }

    #[test]
    fn client_secret_without_tenant_names_what_is_missing() {
        let p = problems(resolve(
            &AzureBlock::default(),
            &env(&[
                ("ARM_SUBSCRIPTION_ID", "s"),
                ("ARM_CLIENT_SECRET", "x"),
                ("ARM_CLIENT_ID", "c"),
            ]),
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].attribute, "azure.tenant_id");
        assert_eq!(p[0].env_vars, ["ARM_TENANT_ID"]);
        assert!(p[0].message.contains("client_secret"), "{}", p[0]);
    }

    #[test]
    fn github_actions_oidc_from_either_variable_family() {
        let base = [
            ("ARM_SUBSCRIPTION_ID", "s"),
            ("ARM_TENANT_ID", "t"),
            ("ARM_CLIENT_ID", "c"),
            ("ARM_USE_OIDC", "true"),
            ("ARM_USE_CLI", "false"),
        ];
        for (url_var, token_var) in [
            ("ARM_OIDC_REQUEST_URL", "ARM_OIDC_REQUEST_TOKEN"),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            ),
        ] {
            let mut vars = base.to_vec();
            vars.push((url_var, "https://token.actions.example/req?x=1"));
            vars.push((token_var, "bearer-value"));
            let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
            assert_eq!(
                s.credentials,
                [CredentialSource::ClientAssertion {
                    tenant_id: "t".into(),
                    client_id: "c".into(),
                    assertion: AssertionSource::GitHubActions {
                        request_url: "https://token.actions.example/req?x=1".into(),
                        request_token: Sensitive::new("bearer-value"),
                    },
                }]
            );
        }
        let mut vars = base.to_vec();
        vars.push(("ARM_OIDC_REQUEST_URL", "https://token.actions.example/req"));
        let p = problems(resolve(&AzureBlock::default(), &env(&vars)));
        assert_eq!(p[0].attribute, "azure.oidc_request_token");
        assert!(p[0].message.contains("id-token: write"), "{}", p[0]);
    }

    #[test]
    fn oidc_token_and_token_file_are_both_tried_in_order() {
        let vars = [
            ("ARM_SUBSCRIPTION_ID", "s"),
            ("ARM_TENANT_ID", "t"),
            ("ARM_CLIENT_ID", "c"),
            ("ARM_USE_OIDC", "1"),
            ("ARM_OIDC_TOKEN", "header.claims.sig"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ];
        let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
        let kinds: Vec<&str> = s.credentials.iter().map(CredentialSource::kind).collect();
        assert_eq!(
            kinds,
            [
                "OIDC token (client assertion)",
                "workload identity (OIDC token file)",
                "Azure CLI"
            ]
        );
        // ARM_OIDC_TOKEN_FILE_PATH is preferred over AZURE_FEDERATED_TOKEN_FILE.
        let mut vars = vars.to_vec();
        vars.push(("ARM_OIDC_TOKEN_FILE_PATH", "/ci/token"));
        let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
        assert!(s.credentials.contains(&CredentialSource::WorkloadIdentity {
            tenant_id: "t".into(),
            client_id: "c".into(),
            token_file: PathBuf::from("/ci/token"),
        }));
    }

    #[test]
    fn aks_workload_identity_reads_what_the_webhook_injects() {
        let vars = [
            ("ARM_SUBSCRIPTION_ID", "s"),
            ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true"),
            ("ARM_USE_CLI", "false"),
            ("AZURE_TENANT_ID", "pod-tenant"),
            ("AZURE_CLIENT_ID", "pod-client"),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                "/var/run/secrets/azure/tokens/azure-identity-token",
            ),
        ];
        let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
        assert_eq!(
            s.credentials,
            [CredentialSource::WorkloadIdentity {
                tenant_id: "pod-tenant".into(),
                client_id: "pod-client".into(),
                token_file: PathBuf::from("/var/run/secrets/azure/tokens/azure-identity-token"),
            }]
        );
        // The block's (or ARM_*'s) client id wins over the pod's.
        let block = AzureBlock {
            client_id: Some("block-client".into()),
            ..AzureBlock::default()
        };
        let s = resolve(&block, &env(&vars)).expect("settings");
        assert!(matches!(&s.credentials[0],
            CredentialSource::WorkloadIdentity { client_id, .. } if client_id == "block-client"));

        let p = problems(resolve(&AzureBlock::default(), &env(&vars[..4])));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].attribute, "azure.use_aks_workload_identity");
        assert_eq!(p[0].env_vars, ["ARM_USE_AKS_WORKLOAD_IDENTITY"]);
        assert!(p[0].message.contains("AZURE_CLIENT_ID"), "{}", p[0]);
        assert!(
            p[0].message.contains("AZURE_FEDERATED_TOKEN_FILE"),
            "{}",
            p[0]
        );
        assert!(!p[0].message.contains("AZURE_TENANT_ID"), "{}", p[0]);
    }

    #[test]
    fn use_oidc_without_a_token_says_where_tokens_come_from() {
        let vars = [
            ("ARM_SUBSCRIPTION_ID", "s"),
            ("ARM_TENANT_ID", "t"),
            ("ARM_CLIENT_ID", "c"),
        ];
        let block = AzureBlock {
            use_oidc: Some(true),
            ..AzureBlock::default()
        };
        let p = problems(resolve(&block, &env(&vars)));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].attribute, "azure.use_oidc");
        assert!(p[0].message.contains("oidc_token_file_path"), "{}", p[0]);
    }

    #[test]
    fn managed_identity_endpoints() {
        let vars = [("ARM_SUBSCRIPTION_ID", "s"), ("ARM_USE_MSI", "true")];
        let s = resolve(&AzureBlock::default(), &env(&vars)).expect("settings");
        assert_eq!(
            s.credentials[0],
            CredentialSource::ManagedIdentity {
                client_id: None,
                endpoint: ManagedIdentityEndpoint::Imds(DEFAULT_IMDS_ENDPOINT.into()),
            }
        );

        let mut with_app_service = vars.to_vec();
        with_app_service.push(("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"));
        with_app_service.push(("IDENTITY_HEADER", "h"));
        with_app_service.push(("ARM_CLIENT_ID", "user-assigned"));
        let s = resolve(&AzureBlock::default(), &env(&with_app_service)).expect("settings");
        assert_eq!(
            s.credentials[0],
            CredentialSource::ManagedIdentity {
                client_id: Some("user-assigned".into()),
                endpoint: ManagedIdentityEndpoint::AppService {
                    endpoint: "http://127.0.0.1:41000/msi/token".into(),
                    header: Sensitive::new("h"),
                },
            }
        );

        let mut explicit = with_app_service.clone();
        explicit.push((
            "ARM_MSI_ENDPOINT",
            "https://127.0.0.1:9/metadata/identity/oauth2/token",
        ));
        let s = resolve(&AzureBlock::default(), &env(&explicit)).expect("settings");
        assert!(matches!(
            &s.credentials[0],
            CredentialSource::ManagedIdentity { endpoint: ManagedIdentityEndpoint::Imds(u), .. }
                if u == "https://127.0.0.1:9/metadata/identity/oauth2/token"
        ));
    }

    #[test]
    fn nothing_configured_lists_every_way_to_authenticate() {
        let vars = [("ARM_SUBSCRIPTION_ID", "s"), ("ARM_USE_CLI", "false")];
        let p = problems(resolve(&AzureBlock::default(), &env(&vars)));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].attribute, "azure");
        for needle in [
            "ARM_CLIENT_SECRET",
            "ARM_USE_OIDC",
            "ARM_USE_MSI",
            "az login",
        ] {
            assert!(p[0].message.contains(needle), "{needle}: {}", p[0]);
        }
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let mut vars = sp_env();
        vars.push(("ARM_USE_OIDC", "true"));
        vars.push(("ARM_OIDC_TOKEN", "jwt-secret-value"));
        let block = AzureBlock {
            client_secret: Some("block-secret-value".into()),
            ..AzureBlock::default()
        };
        let s = resolve(&block, &env(&vars)).expect("settings");
        let shown = format!("{s:?} {block:?}");
        for secret in ["block-secret-value", "jwt-secret-value", "secret-env"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
