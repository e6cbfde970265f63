//! The `bluegreen_traffic_split` schema (names fixed by DESIGN §3).

use tfplugin::schema::{Attribute, Block, NestedBlock, Schema};
use tfplugin::timeouts::timeouts_block;
use tfplugin::{Type, Value};

use super::DEFAULT_TIMEOUT;

/// The resource schema.
pub fn schema() -> Schema {
    let canary = Block::new()
        .description("The canary, by version: it survives a switch, and is satisfied once its version is live.")
        .attr(Attribute::string("version").required().description(
            "Version receiving canary traffic. It must run on a colour when the split is applied: deploy it with `candidate_version` on the environment, in the same apply or an earlier one (set `environment` to the environment's `name` attribute so Terraform applies the environment first).",
        ))
        .attr(Attribute::number("weight").default(Value::int(0)).description(
            "Percent (0-100) of requests **without** a tenant header sent to the canary.",
        ))
        .attr(Attribute::new("tenants", Type::list(Type::String)).optional().description(
            "Tenants always routed to the canary, by the value of `tenant_header` (compared case-insensitively, on every platform). Every other tenant always goes to the live colour, so a tenant never sees two versions at once.",
        ));
    let progressive = Block::new()
        .description("Ramp to `weight` step by step within one apply, each step gated on the canary's metrics against the live colour's. On a breach the canary goes back to 0% and every tenant to the live colour.")
        .attr(Attribute::new("steps", Type::list(Type::Number)).required().description("Intermediate weights, ascending, e.g. `[5, 10, 25]`."))
        .attr(Attribute::string("interval").default("60s").description("How long each step is watched."))
        .attr(Attribute::number("max_error_rate").default(Value::float(0.01)).description("Highest tolerated share of 5xx answers from the canary (0.01 = 1%)."))
        .attr(Attribute::number("max_p95_increase").default(Value::float(0.5)).description("Highest tolerated p95 increase over the live colour (0.5 = 50%). Increases under 5 ms are treated as noise."))
        .attr(Attribute::number("min_requests").default(Value::int(20)).description("Canary requests a step must see during its `interval` before its thresholds are judged. A step that ends with fewer (none included, or no figures from the platform) neither sets the canary back nor passes: the ramp goes on, and once it is over the apply warns, naming each such step with its request count (also a `warning` alert to the provider's `notification` blocks), so send traffic during the ramp, lengthen `interval`, or lower this."));
    Schema::new(
        Block::new()
            .description(
                "Canary and tenant routing for one environment, defined by version. Requests from a listed tenant always reach \
                 the canary; requests from any other tenant never do; `weight` applies only to requests without a tenant \
                 header. The whole routing table changes in one atomic step. Destroy returns all traffic to the live colour. \
                 The apply waits until every front door location serves each change (at once locally; Azure Front Door can \
                 take 20 minutes and more), for as long as `timeouts` allow less a reserve (a minute, or a tenth of the \
                 timeout); a progressive step also leaves its `interval`. A ramp on Azure needs a timeout that covers every step.",
            )
            .attr(Attribute::string("id").computed().description("The environment name."))
            .attr(Attribute::string("environment").required().force_new().description("Name of the `bluegreen_environment`. One split per environment."))
            .attr(Attribute::string("tenant_header").default("X-Tenant-ID").description("Request header carrying the tenant id."))
            .attr(Attribute::string("canary_color").computed().description("The colour running the canary version (null once the split is satisfied)."))
            .attr(Attribute::bool("satisfied").computed().description("True when the canary version is the live version: the split routes nothing and plans stay empty."))
            .block(NestedBlock::single("canary", canary).items(1, 1))
            .block(NestedBlock::single("progressive", progressive))
            .block(timeouts_block(&["create", "update", "delete"], &[DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT])),
    )
}
