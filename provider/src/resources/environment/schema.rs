//! The `bluegreen_environment` schema (names fixed by DESIGN §3).

use std::time::Duration;

use tfplugin::schema::{Attribute, Block, NestedBlock, Schema};
use tfplugin::timeouts::timeouts_block;
use tfplugin::{Type, Value};

/// Default create/update timeout. A cloud front door may take 20 minutes and
/// more to serve a change everywhere (DESIGN §3), and a release may wait for
/// two: the switch, and the rollback after a breach. With the health gate and
/// the watch, 30 minutes did not leave room for both.
pub const DEFAULT_APPLY_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Default delete timeout.
pub const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Type of one entry of `colors`.
pub fn color_type() -> Type {
    Type::object([
        ("version", Type::String),
        ("status", Type::String),
        ("address", Type::String),
    ])
}

/// Type of `last_deployment`.
pub fn deployment_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("outcome", Type::String),
        ("started_at", Type::String),
        ("finished_at", Type::String),
        ("message", Type::String),
    ])
}

/// Attributes shared by the resource and the data source.
pub fn computed_attributes(block: Block) -> Block {
    block
        .attr(Attribute::string("idle_color").computed().description("The colour not receiving traffic: where the next release lands."))
        .attr(Attribute::string("endpoint").computed().description("The front door URL."))
        .attr(
            Attribute::new("colors", Type::map(color_type()))
                .computed()
                .description("Per colour (`blue`, `green`): the `version` it runs, its `status` (`running`, `starting`, `crashed`, `stopped`) and its direct `address`."),
        )
}

/// `local.drain_timeout` when the configuration leaves it out, as the schema writes it.
pub(super) const DEFAULT_DRAIN_TIMEOUT_TEXT: &str = "30s";
/// `local.upstream_timeout` when the configuration leaves it out, as the schema writes it.
pub(super) const DEFAULT_UPSTREAM_TIMEOUT_TEXT: &str = "60s";

/// The resource schema.
pub fn schema() -> Schema {
    let local = Block::new()
        .description("Run the colours as local processes behind the local platform's front door. Exactly one of `local` and `azure`. A changed `command` or `env` starts the idle colour afresh at the next release, even for a version it already runs; the live colour keeps its process until a release replaces it.")
        .attr(Attribute::new("command", Type::list(Type::String)).required().description(
            "Program and arguments of one colour. `{port}`, `{version}` and `{color}` are replaced, e.g. `[\"agog-demo-app\", \"--port\", \"{port}\", \"--version\", \"{version}\"]`.",
        ))
        .attr(Attribute::new("env", Type::map(Type::String)).optional().description("Extra environment variables for the colour processes (placeholders replaced)."))
        .attr(Attribute::string("listen").required().description("Front door address, e.g. `127.0.0.1:8080`. All user traffic goes here."))
        .attr(Attribute::string("drain_timeout").default(DEFAULT_DRAIN_TIMEOUT_TEXT).description("How long a retired colour may finish in-flight requests before it is stopped, and how long WebSocket (upgraded) connections open on a colour stay open after a switch takes traffic away from it; the front door closes those still open then (new connections go to the new colour at once)."))
        .attr(Attribute::string("upstream_timeout").default(DEFAULT_UPSTREAM_TIMEOUT_TEXT).description(
            "How long a colour may take to answer a request's head through the front door (1ms to 1h). A colour that takes longer gets the client a `504 Gateway Timeout`, counted as an error of that colour, so the post-switch watch rolls back a release whose new colour hangs. WebSocket and other upgraded connections are exempt once switched (they close after an hour without traffic).",
        ))
        .attr(Attribute::bool("trust_forwarded_headers").default(false).description(
            "Pass the `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` a client sends on to the colours (the client's address is appended to `X-Forwarded-For`). Set it only when every client comes through a proxy of yours that sets them; by default the front door replaces them with its own, so that no client can pose as another address or host.",
        ));

    let health = Block::new()
        .description("The gate before the switch, against the idle colour's own address (never through the front door). A JSON answer is judged by the release process's health body too: a `status` other than `healthy` or `ok`, or a `checks` entry (a string, or an object with a `status`) that does not start with `ok`, is unhealthy, and the diagnostic names the failing check. Answers without those fields are judged by status code and `version` alone.")
        .attr(Attribute::string("path").default("/api/health").description("Health endpoint path, asked on each colour's own address. On the local platform the `bluegreen-local` daemon also asks it of each running colour, within 0.5 s of a colour's process starting and then every 5 s (1 s timeout, at most 64 KiB read), and shows the answer per colour on its page and in `bluegreen-local status`: the HTTP status, the `status` word and each of the application's `checks` (database, cache, …), ok or failing with what it said, or why it did not answer. Those views only inform: what they show never moves traffic."))
        .attr(Attribute::number("expect_status").default(Value::int(200)).description("Status a healthy colour answers."))
        .attr(Attribute::bool("expect_version").default(true).description("Require the JSON `version` field of the answer to equal the release version."))
        .attr(Attribute::string("interval").default("2s").description("Time between probes."))
        .attr(Attribute::string("timeout").default("5s").description("Time one probe may take."))
        .attr(Attribute::number("healthy_threshold").default(Value::int(2)).description("Consecutive healthy answers needed."))
        .attr(Attribute::string("deadline").default("2m").description("Time the colour has to start and become healthy."));

    let websocket = Block::new()
        .description("A WebSocket the idle colour must accept before the switch, checked once its `health_check` passed, on the same address (`ws://`, or `wss://` verified like the HTTPS health check) and within `health_check.timeout`. A handshake answered with anything but `101 Switching Protocols`, a close, or no answer in time fails the gate: no traffic moves, and the diagnostic names `websocket_check`, the URL and what was received.")
        .attr(Attribute::string("path").required().description("Path of the WebSocket endpoint, e.g. `/ws`."))
        .attr(Attribute::string("send").optional().description("A text message sent once the handshake succeeded, e.g. `version` for an endpoint that answers it. Without it, `expect_message` waits for the colour to speak first."))
        .attr(Attribute::string("expect_message").optional().description("Text the first message from the colour must contain (after `send`, if set); `{version}` stands for the release version. Without it, the handshake alone is checked."));

    let smoke = Block::new()
        .description("A request the idle colour must answer as expected before the switch.")
        .attr(
            Attribute::string("name")
                .required()
                .description("Name shown when it fails."),
        )
        .attr(
            Attribute::string("method")
                .default("GET")
                .description("HTTP method."),
        )
        .attr(
            Attribute::string("path")
                .required()
                .description("Request path."),
        )
        .attr(
            Attribute::number("expect_status")
                .default(Value::int(200))
                .description("Expected status."),
        )
        .attr(
            Attribute::string("body_contains")
                .optional()
                .description("Text the response body must contain."),
        );

    let post_switch = Block::new()
        .description("The watch after the switch. Defaults follow the release process: more than 1% errors or a p95 more than 50% worse than the previous colour rolls back; more than 0.5% errors warns (a warning on the apply and a `warning` alert) without rolling back.")
        .attr(Attribute::string("window").default("60s").description("How long to watch the new colour. The apply waits this long after the switch (Terraform shows \"Still modifying…\"); `TF_LOG=info` logs the watch's progress at least every 10 s."))
        .attr(Attribute::number("max_error_rate").default(Value::float(0.01)).description("Highest tolerated share of 5xx answers (0.01 = 1%)."))
        .attr(Attribute::number("warn_error_rate").default(Value::float(0.005)).description("Share of 5xx answers above which the watch warns without rolling back (0.005 = 0.5%, the release process's warning threshold): a warning on the apply and a `warning` alert to the provider's `notification` blocks, once per release. Must be below `max_error_rate`."))
        .attr(Attribute::number("max_p95_increase").default(Value::float(0.5)).description("Highest tolerated p95 latency increase over the previous colour (0.5 = 50%). Increases under 5 ms are treated as noise."))
        .attr(Attribute::number("min_requests").default(Value::int(20)).description("Requests the new colour must answer during the watch before its thresholds are judged. A watch that ends with fewer (none included, or no figures from the platform) neither rolls back nor passes: the release stays live and the apply warns that it was not judged by its traffic (also a `warning` alert), so send traffic during the watch, lengthen `window`, or lower this."))
        .attr(Attribute::bool("auto_rollback").default(true).description("Switch back by itself when a threshold is crossed."));

    let block = Block::new()
        .description(
            "One application behind one front door, with two colours. Changing `version` deploys it to the idle colour, \
             health-gates it, switches the front door atomically, watches error rate and latency, and rolls back by itself. \
             A failed gate never moves traffic. Each routing change (the switch, a rollback) is waited for until every \
             front door location serves it (at once locally; Azure Front Door can take 20 minutes and more), for as long \
             as `timeouts` allow less a reserve (a minute, or a tenth of the timeout) to record the outcome; the switch \
             also leaves `post_switch.window` for the watch. A switch not served everywhere by then is put back; a \
             rollback is reported with the locations it reached.",
        )
        .attr(Attribute::string("id").computed().description("The environment name."))
        .attr(Attribute::string("name").required().force_new().description("Environment name, unique on the platform. Changing it creates a new environment."))
        .attr(Attribute::string("version").required().description("The version that must be live."))
        .attr(Attribute::string("candidate_version").optional().description(
            "Deploy this version to the idle colour and gate it, without switching (canary or preview). Route traffic to it with `bluegreen_traffic_split`; promote it by setting `version` to it.",
        ))
        .attr(Attribute::bool("keep_previous").default(true).description("Keep the previous colour running after a release, for instant rollback. On Azure the previous revision keeps its label and runs either way (Container Apps scale it by the app's own scale rules, to zero with `minReplicas = 0`): `false` changes nothing there."))
        .attr(Attribute::string("live_color").optional().computed().description(
            "The colour receiving traffic. Set it to pin a colour (manual rollback): it must run `version`, or be the idle colour (then `version` is deployed there first).",
        ))
        .attr(Attribute::string("previous_version").computed().description(
            "Where an instant rollback goes: the version that was live before the last release, while the idle colour still runs it, so that setting `version` to it only switches the front door. Null when no colour keeps it: nothing was live before, `keep_previous = false` stopped it, or a candidate or a failed or rolled-back release was deployed over it (the idle colour's version is then in `colors`).",
        ))
        .attr(Attribute::new("last_deployment", deployment_type()).computed().description(
            "The last release this resource ran: `id`, `outcome` (`released`, `switched`, `candidate_ready`, `no_change`, `gate_failed`, `rolled_back`, `failed`), `started_at`, `finished_at`, `message`.",
        ))
        .block(NestedBlock::single("local", local))
        .block(NestedBlock::single("azure", super::azure_block::schema()))
        .block(NestedBlock::single("health_check", health))
        .block(NestedBlock::single("websocket_check", websocket))
        .block(NestedBlock::list("smoke_test", smoke))
        .block(NestedBlock::single("post_switch", post_switch))
        .block(timeouts_block(&["create", "update", "delete"], &[DEFAULT_APPLY_TIMEOUT, DEFAULT_APPLY_TIMEOUT, DEFAULT_DELETE_TIMEOUT]));
    Schema::new(computed_attributes(block))
}
