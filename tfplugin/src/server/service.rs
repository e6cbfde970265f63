//! `tfplugin6.Provider`: decodes each call with the schema's implied type,
//! dispatches to the provider's traits, and encodes the answer.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::base_plan;
use crate::proto::tfplugin6 as pb;
use crate::provider::{ApplyRequest, Ctx, DataSource, PlanRequest, Provider, Resource};
use crate::schema::Schema;
use crate::server::lifeline::{InFlight, InFlightGuard};
use crate::value::{decode_json, decode_msgpack, encode_msgpack, Type, Value};

struct ResourceEntry {
    resource: Arc<dyn Resource>,
    schema: Schema,
    ty: Type,
}

struct DataSourceEntry {
    data_source: Arc<dyn DataSource>,
    ty: Type,
}

/// The protocol service around one provider.
pub struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_ty: Type,
    resources: HashMap<String, ResourceEntry>,
    data_sources: HashMap<String, DataSourceEntry>,
    schema_response: pb::get_provider_schema::Response,
    stop_tx: watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
    in_flight: InFlight,
}

impl ProviderService {
    /// Builds the service; schemas are computed once here.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let provider_schema = provider.schema();
        let mut resources = HashMap::new();
        let mut data_sources = HashMap::new();
        let mut resource_schemas = HashMap::new();
        let mut data_source_schemas = HashMap::new();
        for resource in provider.resources() {
            let schema = resource.schema();
            resource_schemas.insert(resource.type_name().to_string(), schema.to_proto());
            let ty = schema.value_type();
            resources.insert(
                resource.type_name().to_string(),
                ResourceEntry {
                    resource,
                    schema,
                    ty,
                },
            );
        }
        for data_source in provider.data_sources() {
            let schema = data_source.schema();
            data_source_schemas.insert(data_source.type_name().to_string(), schema.to_proto());
            let ty = schema.value_type();
            data_sources.insert(
                data_source.type_name().to_string(),
                DataSourceEntry { data_source, ty },
            );
        }
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(provider_schema.to_proto()),
            resource_schemas,
            data_source_schemas,
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        Self {
            provider_ty: provider_schema.value_type(),
            provider,
            resources,
            data_sources,
            schema_response,
            stop_tx,
            stop_rx,
            in_flight: InFlight::default(),
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.stop_rx.clone())
    }

    /// Stops in-flight operations when set, as Terraform's StopProvider call does.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop_tx.clone()
    }

    /// The applies still running, including those whose caller is gone.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    fn resource(&self, type_name: &str) -> Result<&ResourceEntry, Diagnostics> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn data_source(&self, type_name: &str) -> Result<&DataSourceEntry, Diagnostics> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| unknown_type("data source", type_name))
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        // Schemas are fixed when the provider is built and every RPC works without a
        // prior GetProviderSchema, so Terraform may reuse the schema it fetched from the
        // first instance instead of asking each of the (usually three) instances of a
        // plan again.
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type {name:?}"),
        "This provider does not implement it. Check the type name and the provider version in required_providers.",
    )
    .into()
}

/// Decodes a DynamicValue (msgpack, else JSON; absent means null).
fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let result = if !dv.msgpack.is_empty() {
        decode_msgpack(&dv.msgpack, ty).map_err(|e| e.to_string())
    } else if !dv.json.is_empty() {
        decode_json(&dv.json, ty).map_err(|e| e.to_string())
    } else {
        return Ok(Value::Null);
    };
    result.map_err(|e| {
        Diagnostic::error(
            format!("Could not decode the {what} Terraform sent"),
            format!("{e}. This is a bug in the provider or a Terraform version it does not support; please report it with TF_LOG=trace output."),
        )
        .into()
    })
}

/// Encodes a value for Terraform; a mismatch with the schema is a provider bug.
fn encode(value: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
    encode_msgpack(value, ty).map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() }).map_err(|e| {
        Diagnostic::error(
            format!("Provider produced an invalid {what}"),
            format!("{e}. This is a bug in the provider; please report it with TF_LOG=trace output."),
        )
        .into()
    })
}

macro_rules! try_diags {
    ($expr:expr, $response:expr) => {
        match $expr {
            Ok(v) => v,
            Err(diags) => {
                let mut response = $response;
                response.diagnostics = Diagnostics::to_proto(&diags);
                return Ok(Response::new(response));
            }
        }
    };
}

/// Create, update or delete (a null `planned`), as one task that owns its inputs.
#[allow(clippy::too_many_arguments)]
async fn run_apply(
    resource: Arc<dyn Resource>,
    ctx: Ctx,
    type_name: String,
    prior: Value,
    planned: Value,
    config: Value,
    private: Vec<u8>,
    _running: InFlightGuard,
) -> crate::provider::StateResponse {
    if planned.is_null() {
        // Destroy: Terraform 1.0 sends it as an apply with a null planned state.
        tracing::info!(tf_rpc = "ApplyResourceChange", tf_resource_type = %type_name, "deleting");
        let diagnostics = resource.delete(&ctx, &prior, &private).await;
        // A failed delete keeps the object in state so it is retried.
        let state = if diagnostics.has_errors() {
            prior
        } else {
            Value::Null
        };
        return crate::provider::StateResponse {
            state,
            private,
            diagnostics,
        };
    }
    let apply = ApplyRequest {
        prior: &prior,
        planned: &planned,
        config: &config,
        private: &private,
    };
    if prior.is_null() {
        tracing::info!(tf_rpc = "ApplyResourceChange", tf_resource_type = %type_name, "creating");
        resource.create(&ctx, apply).await
    } else {
        tracing::info!(tf_rpc = "ApplyResourceChange", tf_resource_type = %type_name, "updating");
        resource.update(&ctx, apply).await
    }
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let mut resources: Vec<_> = self.resources.keys().cloned().collect();
        resources.sort();
        let mut data_sources: Vec<_> = self.data_sources.keys().cloned().collect();
        data_sources.sort();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: data_sources
                .into_iter()
                .map(|type_name| pb::get_metadata::DataSourceMetadata { type_name })
                .collect(),
            resources: resources
                .into_iter()
                .map(|type_name| pb::get_metadata::ResourceMetadata { type_name })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        tracing::trace!(tf_rpc = "GetProviderSchema", "serving schema");
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::validate_provider_config::Response::default();
        let config = try_diags!(
            decode(
                req.config.as_ref(),
                &self.provider_ty,
                "provider configuration"
            ),
            empty
        );
        let diags = self.provider.validate(&self.ctx(), &config).await;
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::validate_resource_config::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let config = try_diags!(
            decode(req.config.as_ref(), &entry.ty, "resource configuration"),
            empty
        );
        let diags = entry.resource.validate(&self.ctx(), &config).await;
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::validate_data_resource_config::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(req.config.as_ref(), &entry.ty, "data source configuration"),
            empty
        );
        let diags = entry.data_source.validate(&self.ctx(), &config).await;
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::upgrade_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            let diags: Diagnostics = Diagnostic::error(
                "Unsupported legacy state",
                "This state is in the flatmap format of Terraform 0.11 and older, which this provider cannot read. Remove the resource from state and import it.",
            )
            .into();
            try_diags!(Err::<(), _>(diags), empty);
        }
        let upgraded = try_diags!(
            entry
                .resource
                .upgrade_state(&self.ctx(), req.version, &raw.json)
                .await,
            empty
        );
        let upgraded_state = try_diags!(encode(&upgraded, &entry.ty, "upgraded state"), empty);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: Some(upgraded_state),
            diagnostics: Vec::new(),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::configure_provider::Response::default();
        let config = try_diags!(
            decode(
                req.config.as_ref(),
                &self.provider_ty,
                "provider configuration"
            ),
            empty
        );
        tracing::debug!(tf_rpc = "ConfigureProvider", terraform_version = %req.terraform_version, "configuring");
        let diags = self
            .provider
            .configure(&self.ctx(), &req.terraform_version, &config)
            .await;
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::read_resource::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let state = try_diags!(
            decode(req.current_state.as_ref(), &entry.ty, "current state"),
            empty
        );
        tracing::debug!(tf_rpc = "ReadResource", tf_resource_type = %req.type_name, "reading");
        let mut out = entry.resource.read(&self.ctx(), &state, &req.private).await;
        entry.schema.block.normalize_blocks(&mut out.state);
        let new_state = try_diags!(encode(&out.state, &entry.ty, "state"), empty);
        Ok(Response::new(pb::read_resource::Response {
            new_state: Some(new_state),
            diagnostics: out.diagnostics.to_proto(),
            private: out.private,
            deferred: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::plan_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior = try_diags!(
            decode(req.prior_state.as_ref(), &entry.ty, "prior state"),
            empty
        );
        let proposed = try_diags!(
            decode(req.proposed_new_state.as_ref(), &entry.ty, "proposed state"),
            empty
        );
        let config = try_diags!(
            decode(req.config.as_ref(), &entry.ty, "configuration"),
            empty
        );
        tracing::debug!(tf_rpc = "PlanResourceChange", tf_resource_type = %req.type_name, "planning");
        let mut planned = base_plan(&entry.schema, &prior, &proposed, &config);
        planned.private = req.prior_private.clone();
        if !proposed.is_null() {
            let plan_req = PlanRequest {
                prior: &prior,
                config: &config,
                prior_private: &req.prior_private,
            };
            planned = entry.resource.plan(&self.ctx(), plan_req, planned).await;
        }
        let planned_state = try_diags!(encode(&planned.planned, &entry.ty, "plan"), empty);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: Some(planned_state),
            requires_replace: planned
                .requires_replace
                .iter()
                .map(|p| p.to_proto())
                .collect(),
            planned_private: planned.private,
            diagnostics: planned.diagnostics.to_proto(),
            legacy_type_system: false,
            deferred: None,
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::apply_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior = try_diags!(
            decode(req.prior_state.as_ref(), &entry.ty, "prior state"),
            empty
        );
        let planned = try_diags!(
            decode(req.planned_state.as_ref(), &entry.ty, "planned state"),
            empty
        );
        let config = try_diags!(
            decode(req.config.as_ref(), &entry.ty, "configuration"),
            empty
        );
        // Run apart from this call: if Terraform dies mid-apply its connection drops and
        // the server drops this future; the apply must still reach a consistent end
        // (stop where safe, release its lock), and the process waits for it before exiting.
        let work = run_apply(
            Arc::clone(&entry.resource),
            self.ctx(),
            req.type_name.clone(),
            prior,
            planned,
            config,
            req.planned_private.clone(),
            self.in_flight.enter(),
        );
        let out = tokio::spawn(work)
            .await
            .map_err(|e| Status::internal(format!("the apply of {} failed: {e}", req.type_name)))?;
        let mut out = out;
        entry.schema.block.normalize_blocks(&mut out.state);
        let mut diagnostics = out.diagnostics;
        let new_state = match encode(&out.state, &entry.ty, "new state") {
            Ok(v) => Some(v),
            Err(d) => {
                diagnostics.extend(d);
                None
            }
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: out.private,
            diagnostics: diagnostics.to_proto(),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::import_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        tracing::info!(tf_rpc = "ImportResourceState", tf_resource_type = %req.type_name, id = %req.id, "importing");
        let mut out = entry.resource.import(&self.ctx(), &req.id).await;
        entry.schema.block.normalize_blocks(&mut out.state);
        if out.diagnostics.has_errors() || out.state.is_null() {
            return Ok(Response::new(pb::import_resource_state::Response {
                imported_resources: Vec::new(),
                diagnostics: out.diagnostics.to_proto(),
                deferred: None,
            }));
        }
        let state = try_diags!(encode(&out.state, &entry.ty, "imported state"), empty);
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name,
                state: Some(state),
                private: out.private,
            }],
            diagnostics: out.diagnostics.to_proto(),
            deferred: None,
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        let empty = pb::read_data_source::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(req.config.as_ref(), &entry.ty, "data source configuration"),
            empty
        );
        tracing::debug!(tf_rpc = "ReadDataSource", tf_data_source_type = %req.type_name, "reading");
        let out = entry.data_source.read(&self.ctx(), &config).await;
        if out.diagnostics.has_errors() {
            return Ok(Response::new(pb::read_data_source::Response {
                state: None,
                diagnostics: out.diagnostics.to_proto(),
                deferred: None,
            }));
        }
        let state = try_diags!(encode(&out.state, &entry.ty, "data source state"), empty);
        Ok(Response::new(pb::read_data_source::Response {
            state: Some(state),
            diagnostics: out.diagnostics.to_proto(),
            deferred: None,
        }))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!(
            tf_rpc = "StopProvider",
            "stop requested: in-flight operations will wind down"
        );
        self.stop_tx.send_replace(true);
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}
