//! The provider configuration as Terraform sends it, typed: the `local` and
//! `azure` blocks, and the `azure` block handed to the Azure settings
//! resolver as the [`AzureBlock`] it reads.

use tfplugin::model::{Field, IntoValue};
use tfplugin::Value;

use crate::notify::config::NotificationModel;
use crate::platform::azure::settings::AzureBlock;

tfplugin::model! {
    /// The provider block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ProviderModel {
        /// The `local` block.
        pub local: Field<LocalBlockModel>,
        /// The `azure` block.
        pub azure: Field<AzureBlockModel>,
        /// The `notification` blocks.
        pub notification: Field<Vec<Field<NotificationModel>>>,
    }
}

tfplugin::model! {
    /// The `local` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct LocalBlockModel {
        /// Admin endpoint of the daemon.
        pub endpoint: Field<String>,
        /// The daemon's state directory.
        pub state_dir: Field<String>,
        /// Start the daemon when nothing answers.
        pub autostart: Field<bool>,
    }
}

tfplugin::model! {
    /// The `azure` block: one field per [`AzureBlock`] attribute. Debug
    /// shows it as the resolver reads it, secrets hidden.
    #[derive(Clone, Default, PartialEq)]
    pub struct AzureBlockModel {
        /// `subscription_id`.
        pub subscription_id: Field<String>,
        /// `tenant_id`.
        pub tenant_id: Field<String>,
        /// `client_id`.
        pub client_id: Field<String>,
        /// `client_secret` (sensitive).
        pub client_secret: Field<String>,
        /// `environment`.
        pub environment: Field<String>,
        /// `resource_manager_endpoint`.
        pub resource_manager_endpoint: Field<String>,
        /// `authority_host`.
        pub authority_host: Field<String>,
        /// `ca_certificate_file`.
        pub ca_certificate_file: Field<String>,
        /// `use_oidc`.
        pub use_oidc: Field<bool>,
        /// `oidc_token` (sensitive).
        pub oidc_token: Field<String>,
        /// `oidc_request_url`.
        pub oidc_request_url: Field<String>,
        /// `oidc_request_token` (sensitive).
        pub oidc_request_token: Field<String>,
        /// `oidc_token_file_path`.
        pub oidc_token_file_path: Field<String>,
        /// `use_aks_workload_identity`.
        pub use_aks_workload_identity: Field<bool>,
        /// `use_msi`.
        pub use_msi: Field<bool>,
        /// `msi_endpoint`.
        pub msi_endpoint: Field<String>,
        /// `use_cli`.
        pub use_cli: Field<bool>,
    }
}

/// What an unknown value (not known before apply) is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknowns {
    /// Unset, so its environment variable or default applies (the value
    /// resolved when nothing is unknown).
    Unset,
    /// Set to a value every check accepts: `true` for a flag, an https URL
    /// for a string, the public cloud for `environment`.
    Valid,
}

/// A string every check of the resolver accepts (URLs must be https).
const VALID_STRING: &str = "https://known-after-apply.invalid";

impl std::fmt::Debug for AzureBlockModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureBlockModel")
            .field("known", &self.to_block(Unknowns::Unset))
            .field("unknown", &self.unknown_attributes())
            .finish()
    }
}

impl AzureBlockModel {
    /// The attributes whose value is not known yet, by name.
    pub fn unknown_attributes(&self) -> Vec<String> {
        match self.clone().into_value() {
            Value::Object(attrs) => attrs
                .into_iter()
                .filter(|(_, value)| value.is_unknown())
                .map(|(name, _)| name)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The block as the resolver reads it, unknown values taken as `unknowns` says.
    pub fn to_block(&self, unknowns: Unknowns) -> AzureBlock {
        let string = |field: &Field<String>| match field {
            Field::Known(v) => Some(v.clone()),
            Field::Null => None,
            Field::Unknown => (unknowns == Unknowns::Valid).then(|| VALID_STRING.to_string()),
        };
        let flag = |field: &Field<bool>| match field {
            Field::Known(v) => Some(*v),
            Field::Null => None,
            Field::Unknown => (unknowns == Unknowns::Valid).then_some(true),
        };
        // Destructured whole, and AzureBlock built without `..`: a field
        // added to either side and not to the other does not compile.
        let AzureBlockModel {
            subscription_id,
            tenant_id,
            client_id,
            client_secret,
            environment,
            resource_manager_endpoint,
            authority_host,
            ca_certificate_file,
            use_oidc,
            oidc_token,
            oidc_request_url,
            oidc_request_token,
            oidc_token_file_path,
            use_aks_workload_identity,
            use_msi,
            msi_endpoint,
            use_cli,
        } = self;
        AzureBlock {
            subscription_id: string(subscription_id),
            tenant_id: string(tenant_id),
            client_id: string(client_id),
            client_secret: string(client_secret),
            environment: match environment {
                Field::Unknown if unknowns == Unknowns::Valid => Some("public".to_string()),
                other => string(other),
            },
            resource_manager_endpoint: string(resource_manager_endpoint),
            authority_host: string(authority_host),
            ca_certificate_file: string(ca_certificate_file),
            use_oidc: flag(use_oidc),
            oidc_token: string(oidc_token),
            oidc_token_file_path: string(oidc_token_file_path),
            oidc_request_url: string(oidc_request_url),
            oidc_request_token: string(oidc_request_token),
            use_aks_workload_identity: flag(use_aks_workload_identity),
            use_msi: flag(use_msi),
            msi_endpoint: string(msi_endpoint),
            use_cli: flag(use_cli),
        }
    }
}
