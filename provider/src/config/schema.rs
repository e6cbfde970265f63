//! The provider configuration schema: the `local` and `azure` blocks, each
//! argument naming the environment variable it falls back to, and the
//! repeatable `notification` block.

use tfplugin::schema::{Attribute, Block, NestedBlock, Schema};
use tfplugin::Type;

use super::{DEFAULT_LOCAL_ENDPOINT, DEFAULT_LOCAL_STATE_DIR};
use crate::platform::azure::settings::DEFAULT_IMDS_ENDPOINT;

/// The provider configuration schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "Blue-green releases for Terraform, on two platforms: the embedded **local** platform (the default, \
                 `local` block optional) and **Azure** Container Apps behind Front Door (the `azure` block: credentials \
                 and cloud). Each `bluegreen_environment` says where it runs with its own `local` or `azure` block; \
                 a provider may serve both. Resources that name an environment only by name (`bluegreen_traffic_split`, \
                 the `bluegreen_environment` data source, `bluegreen_migration`'s `environment`) look it up on Azure \
                 when the provider has an `azure` block, else locally. \
                 `notification` blocks send each release's events (started, switched, warning, rolled back, failed, \
                 succeeded) to Slack, Teams, PagerDuty or a webhook.",
            )
            .block(NestedBlock::single("local", local_block()))
            .block(NestedBlock::single("azure", azure_block()))
            .block(NestedBlock::list("notification", notification_block())),
    )
}

/// A release alert receiver; repeatable.
fn notification_block() -> Block {
    Block::new()
        .description(
            "A release alert receiver; repeat the block for each channel. Each release of a `bluegreen_environment` sends events with a severity: `started`, `switched` and `succeeded` (info), `warning` (warning: during the post-switch watch the error rate rose above `post_switch.warn_error_rate`, 0.5% by default, without reaching the rollback threshold), `rolled_back` and `failed` (critical). Each carries the environment, the versions and colours (from and to), the watch's figures (error rate, requests, p95 against the previous colour's) and the reason. A `bluegreen_traffic_split` whose canary is rolled back or fails sends `rolled_back` or `failed` too. Alerts are sent concurrently and never fail a release: one that is not accepted within its `timeout` (one retry on no answer, 5xx or 429 included) becomes a warning on the apply naming the block (`notification[0] (slack)`), never its URL, and holds the apply up by at most that timeout.",
        )
        .attr(Attribute::string("format").required().description(
            "Payload shape: `slack` (incoming-webhook message: `text` and Block Kit `blocks`), `teams` (a message with an Adaptive Card attachment, for a Teams workflow or incoming webhook), `pagerduty` (Events API v2: `trigger` for warning, rolled_back and failed, `resolve` for succeeded, one `dedup_key` per environment and version, so the incident a failed release opens is resolved when that version is later released without a warning (a success after a warning, such as a watch that saw too little traffic to judge, sends no `resolve`: that incident is left for a person); started and switched are not sent), or `webhook` (the event as plain JSON: `event`, `severity`, `environment`, `release`, `from_version`, `to_version`, `from_color`, `to_color`, `figures`, `summary`, `reason`, `timestamp`).",
        ))
        .attr(Attribute::string("url").optional().sensitive().description(format!(
            "Where the alert is POSTed: the Slack or Teams webhook URL, or your endpoint. Required except for `pagerduty`, which defaults to `{}`. Sensitive: never logged nor shown in a diagnostic.",
            crate::notify::config::PAGERDUTY_EVENTS_URL
        )))
        .attr(Attribute::string("routing_key").optional().sensitive().description(
            "PagerDuty only, and required there: the integration key of the service's Events API v2 integration. Sensitive.",
        ))
        .attr(Attribute::new("events", Type::set(Type::String)).optional().description(
            "Events sent: any of `started`, `switched`, `warning`, `rolled_back`, `failed`, `succeeded`. Default: all of them.",
        ))
        .attr(Attribute::string("min_severity").optional().description(
            "Events below this severity are not sent: `info` (default, everything), `warning`, or `critical` (rollbacks and failures). A `pagerduty` receiver still gets `succeeded`, which resolves the incident.",
        ))
        .attr(Attribute::string("timeout").optional().description(format!(
            "Time one alert may take, retry included, at most 60s. Default `\"{}\"`.",
            tfplugin::timeouts::format_duration(crate::notify::config::DEFAULT_TIMEOUT)
        )))
}

fn local_block() -> Block {
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
        ))
}

/// Every attribute of `settings::AzureBlock`, in the order azurerm documents
/// them: subscription and cloud, then each credential in the order tried.
fn azure_block() -> Block {
    Block::new()
        .description(
            "Azure Resource Manager credentials and cloud, for environments with an `azure` block. Required by them; \
             an environment with a `local` block does not use it. Each argument falls back to the environment variable azurerm uses. Credentials \
             are tried in this order, the first that gives a token being kept: client secret, OIDC token, GitHub \
             Actions OIDC request, OIDC token file, AKS workload identity, managed identity, Azure CLI.",
        )
        .attr(Attribute::string("subscription_id").optional().description(
            "Subscription holding the Container App and Front Door. Env `ARM_SUBSCRIPTION_ID`. When neither is set and the Azure CLI credential is enabled (`use_cli`), the CLI's current subscription (`az account show`), as azurerm does.",
        ))
        .attr(Attribute::string("tenant_id").optional().description("Microsoft Entra tenant id. Env `ARM_TENANT_ID`."))
        .attr(Attribute::string("client_id").optional().description(
            "Service principal or managed identity client id. Env `ARM_CLIENT_ID`.",
        ))
        .attr(
            Attribute::string("client_secret")
                .optional()
                .sensitive()
                .description("Service principal secret. Env `ARM_CLIENT_SECRET`. Never logged or stored in state."),
        )
        .attr(Attribute::string("environment").optional().description(
            "Cloud: `public`, `usgovernment`, `china`, or `custom` with the endpoints below. Env `ARM_ENVIRONMENT`; default `public`.",
        ))
        .attr(Attribute::string("resource_manager_endpoint").optional().description(
            "Resource Manager https:// URL for private clouds and tests, e.g. `https://management.contoso.example/`. Env `ARM_RESOURCE_MANAGER_ENDPOINT`. \
             Where Azure's host names do not resolve (a private network, the Azure emulator of the tests), env `BLUEGREEN_AZURE_HOST_MAP` \
             names a JSON file `{\"<host name>\": [\"http://127.0.0.1:PORT\", …]}`, read on each use: a revision label's address \
             (`<app>---blue.<domain>`) and the Front Door endpoint resolve to the first URL, and the propagation probe asks every URL \
             of the endpoint as one edge location. The emulator writes such a file (`hosts_file`).",
        ))
        .attr(Attribute::string("authority_host").optional().description(
            "Microsoft Entra authority https:// URL for private clouds and tests. Env `ARM_AUTHORITY_HOST`.",
        ))
        .attr(Attribute::string("ca_certificate_file").optional().description(
            "PEM file of extra CA certificates to trust for Resource Manager, the authority host, and the health gate and smoke tests on HTTPS revision addresses (which also trust the public web PKI roots). No environment variable.",
        ))
        .attr(Attribute::bool("use_oidc").optional().description(
            "Authenticate the service principal with a federated (OIDC) token: `oidc_token`, `oidc_request_url` with `oidc_request_token`, or `oidc_token_file_path`. Env `ARM_USE_OIDC`.",
        ))
        .attr(
            Attribute::string("oidc_token")
                .optional()
                .sensitive()
                .description("A federated token given directly. Env `ARM_OIDC_TOKEN`. Never logged or stored in state."),
        )
        .attr(Attribute::string("oidc_request_url").optional().description(
            "GitHub Actions' token request https:// URL. Env `ARM_OIDC_REQUEST_URL`, then `ACTIONS_ID_TOKEN_REQUEST_URL` (set when the job has `permissions: id-token: write`).",
        ))
        .attr(
            Attribute::string("oidc_request_token")
                .optional()
                .sensitive()
                .description("GitHub Actions' bearer token for `oidc_request_url`. Env `ARM_OIDC_REQUEST_TOKEN`, then `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. Never logged or stored in state."),
        )
        .attr(Attribute::string("oidc_token_file_path").optional().description(
            "File holding the federated token, re-read as the platform refreshes it. Env `ARM_OIDC_TOKEN_FILE_PATH`, then `AZURE_FEDERATED_TOKEN_FILE`.",
        ))
        .attr(Attribute::bool("use_aks_workload_identity").optional().description(
            "On AKS: client id, tenant id and token file from the variables the workload identity webhook sets (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`); `client_id` and `tenant_id` still win. Env `ARM_USE_AKS_WORKLOAD_IDENTITY`.",
        ))
        .attr(Attribute::bool("use_msi").optional().description(
            "Authenticate with a managed identity (user-assigned when `client_id` is set). Env `ARM_USE_MSI`.",
        ))
        .attr(Attribute::string("msi_endpoint").optional().description(format!(
            "Managed identity token endpoint (Instance Metadata Service shape). Env `ARM_MSI_ENDPOINT`; default `IDENTITY_ENDPOINT` on App Service, else `{DEFAULT_IMDS_ENDPOINT}`."
        )))
        .attr(Attribute::bool("use_cli").optional().description(
            "Authenticate with the Azure CLI's login, tried last. Env `ARM_USE_CLI`; default `true`.",
        ))
}
