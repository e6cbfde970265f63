//! `bgtest_echo`: a data source whose computed `output` is its `input`.

use async_trait::async_trait;
use tfplugin::provider::{Ctx, DataSource, StateResponse};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::Value;

/// The data source type name.
pub const TYPE_NAME: &str = "bgtest_echo";

/// The `bgtest_echo` data source.
#[derive(Debug)]
pub struct Echo;

#[async_trait]
impl DataSource for Echo {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Echoes its input.")
                .attr(
                    Attribute::string("input")
                        .required()
                        .description("Any string."),
                )
                .attr(
                    Attribute::string("output")
                        .computed()
                        .description("The input, read back."),
                ),
        )
    }

    async fn read(&self, _ctx: &Ctx, config: &Value) -> StateResponse {
        let mut state = config.clone();
        state.set("output", config.get("input").clone());
        StateResponse::ok(state)
    }
}
