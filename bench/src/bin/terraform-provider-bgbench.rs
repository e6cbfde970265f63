//! `terraform-provider-bgbench`: a provider for `bench-plan` only. Its one resource,
//! `bgbench_data`, has the schema of Terraform's built-in `terraform_data` (`id`,
//! `input`, `output`, `triggers_replace`) and keeps no object anywhere, so a plan of
//! it against `terraform_data` measures the plugin protocol path alone: process
//! start-up, gRPC, TLS and the msgpack codec, on our side and on Terraform's.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::provider::{
    ApplyRequest, Ctx, DataSource, PlanRequest, PlanResponse, Provider, Resource, StateResponse,
};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::server::{serve, ServeOptions};
use tfplugin::{Diagnostics, Type, Value};

const ADDRESS: &str = "registry.terraform.io/agog/bgbench";
const LOG_MODULE: &str = "provider.terraform-provider-bgbench";

#[derive(Debug, Default)]
struct BgBench;

#[async_trait]
impl Provider for BgBench {
    fn type_name(&self) -> &str {
        "bgbench"
    }

    fn schema(&self) -> Schema {
        Schema::new(Block::new().description("Benchmark provider: nothing to configure."))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Data::default())]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    async fn configure(&self, _ctx: &Ctx, _tf: &str, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
}

/// `bgbench_data`: `terraform_data`'s schema and behaviour (`output` follows `input`).
#[derive(Debug, Default)]
struct Data {
    next_id: AtomicU64,
}

#[async_trait]
impl Resource for Data {
    fn type_name(&self) -> &str {
        "bgbench_data"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Holds a value, like terraform_data.")
                .attr(Attribute::string("id").computed().description("Unique id."))
                .attr(
                    Attribute::new("input", Type::Dynamic)
                        .optional()
                        .description("Any value."),
                )
                .attr(
                    Attribute::new("output", Type::Dynamic)
                        .computed()
                        .description("`input`, after apply."),
                )
                .attr(
                    Attribute::new("triggers_replace", Type::Dynamic)
                        .optional()
                        .force_new()
                        .description("Replaces the resource when it changes."),
                ),
        )
    }

    async fn plan(
        &self,
        _ctx: &Ctx,
        req: PlanRequest<'_>,
        mut planned: PlanResponse,
    ) -> PlanResponse {
        // As terraform_data: the output is known at plan whenever the input is.
        let input = req.config.get("input").clone();
        if req.prior.is_null() || req.prior.get("input") != &input {
            planned.planned.set("output", input);
        }
        planned
    }

    async fn create(&self, _ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let mut state = req.planned.clone();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        state.set("id", Value::string(format!("{}-{id}", std::process::id())));
        state.set("output", req.config.get("input").clone());
        StateResponse::ok(state)
    }

    async fn read(&self, _ctx: &Ctx, state: &Value, _private: &[u8]) -> StateResponse {
        StateResponse::ok(state.clone())
    }

    async fn update(&self, _ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let mut state = req.planned.clone();
        state.set("output", req.config.get("input").clone());
        StateResponse::ok(state)
    }

    async fn delete(&self, _ctx: &Ctx, _prior: &Value, _private: &[u8]) -> Diagnostics {
        Diagnostics::new()
    }
}

fn main() -> ExitCode {
    tfplugin::logging::init(LOG_MODULE);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ServeOptions {
        address: ADDRESS.to_string(),
        debug: std::env::args().skip(1).any(|a| a == "--debug"),
        tcp: false,
    };
    let result = runtime.block_on(serve(Arc::new(BgBench), opts));
    runtime.shutdown_timeout(std::time::Duration::from_millis(10));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
