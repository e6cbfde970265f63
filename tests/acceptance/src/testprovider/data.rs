//! `bgtest_data`: Terraform's built-in `terraform_data` (`id`, `input`, `output`,
//! `triggers_replace`) served through `tfplugin`.
//!
//! It exercises dynamically typed attributes (`DynamicPseudoType` values carry their
//! type on the wire) and requires-replace on a dynamic value; and because its schema is
//! exactly the built-in's, `bench-plan` compares the plugin protocol path alone against
//! a resource Terraform serves in-process. Like `terraform_data` it keeps nothing
//! outside the state.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{Diagnostics, Type, Value};

/// The resource type name.
pub const TYPE_NAME: &str = "bgtest_data";

/// The `bgtest_data` resource.
#[derive(Debug, Default)]
pub struct Data {
    next_id: AtomicU64,
}

#[async_trait]
impl Resource for Data {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Holds a value of any type, like `terraform_data`.")
                .attr(Attribute::string("id").computed().description("Unique id."))
                .attr(
                    Attribute::new("input", Type::Dynamic)
                        .optional()
                        .description("Any value."),
                )
                .attr(
                    Attribute::new("output", Type::Dynamic)
                        .computed()
                        .description("`input`, known at plan whenever `input` is."),
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
        // As terraform_data: output follows input, and is as known as input is.
        let input = req.config.get("input").clone();
        if req.prior.is_null() || req.prior.get("input") != &input {
            planned.planned.set("output", input);
        }
        planned
    }

    async fn create(&self, _ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let mut state = req.planned.clone();
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Unique across provider processes: a plan may start several.
        state.set(
            "id",
            Value::string(format!("data-{}-{n}", std::process::id())),
        );
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
