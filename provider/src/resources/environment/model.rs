//! Reading a `bluegreen_environment` configuration into what the engine and
//! the platform need, with a diagnostic at the attribute path for each problem.

use std::collections::BTreeMap;
use std::time::Duration;

use tfplugin::model::{decode, Field};
use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics, Number, Value};

use super::azure_block::{self, AzureModel};
use crate::platform::{Color, EnvironmentRef, TargetSpec};
use crate::rollout::{HealthCheck, PostSwitch, ReleaseSpec, SmokeTest, WebSocketCheck};

/// `local.upstream_timeout` when the configuration leaves it out (the daemon's default).
const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `local.upstream_timeout` the daemon accepts.
const MAX_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3600);

tfplugin::model! {
    /// An environment as configured, planned or stored: every attribute of the
    /// schema, so that it round-trips.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct EnvironmentModel {
        /// The environment name.
        pub id: Field<String>,
        /// Environment name, unique on the platform.
        pub name: Field<String>,
        /// The version that must be live.
        pub version: Field<String>,
        /// The version to deploy to the idle colour without switching.
        pub candidate_version: Field<String>,
        /// Keep the previous colour running after a release.
        pub keep_previous: Field<bool>,
        /// The colour receiving traffic.
        pub live_color: Field<String>,
        /// Where an instant rollback goes.
        pub previous_version: Field<String>,
        /// The last release this resource ran.
        pub last_deployment: Field<DeploymentModel>,
        /// The colour not receiving traffic.
        pub idle_color: Field<String>,
        /// The front door URL.
        pub endpoint: Field<String>,
        /// Per colour: version, status and address.
        pub colors: Field<BTreeMap<String, ColorModel>>,
        /// The `local` block.
        pub local: Field<LocalModel>,
        /// The `azure` block.
        pub azure: Field<AzureModel>,
        /// The `health_check` block.
        pub health_check: Field<HealthCheckModel>,
        /// The `websocket_check` block.
        pub websocket_check: Field<WebSocketCheckModel>,
        /// The `smoke_test` blocks.
        pub smoke_test: Field<Vec<Field<SmokeTestModel>>>,
        /// The `post_switch` block.
        pub post_switch: Field<PostSwitchModel>,
        /// The `timeouts` block, read by `tfplugin::timeouts`.
        pub timeouts: Value,
    }
}

tfplugin::model! {
    /// One entry of `colors`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ColorModel {
        /// The version it runs.
        pub version: Field<String>,
        /// running, starting, crashed or stopped.
        pub status: Field<String>,
        /// Its direct address.
        pub address: Field<String>,
    }
}

tfplugin::model! {
    /// `last_deployment`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DeploymentModel {
        /// Release id.
        pub id: Field<String>,
        /// How it ended.
        pub outcome: Field<String>,
        /// RFC 3339 start.
        pub started_at: Field<String>,
        /// RFC 3339 end.
        pub finished_at: Field<String>,
        /// What happened.
        pub message: Field<String>,
    }
}

tfplugin::model! {
    /// The `local` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct LocalModel {
        /// Program and arguments of one colour.
        pub command: Field<Vec<Field<String>>>,
        /// Extra environment variables.
        pub env: Field<BTreeMap<String, Field<String>>>,
        /// Front door address.
        pub listen: Field<String>,
        /// How long a retired colour may drain.
        pub drain_timeout: Field<String>,
        /// How long a colour may take to answer through the front door.
        pub upstream_timeout: Field<String>,
        /// Pass client X-Forwarded-* headers on.
        pub trust_forwarded_headers: Field<bool>,
    }
}

tfplugin::model! {
    /// The `health_check` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct HealthCheckModel {
        /// Health endpoint path.
        pub path: Field<String>,
        /// Status a healthy colour answers.
        pub expect_status: Field<Number>,
        /// Require the answer's version to be the release's.
        pub expect_version: Field<bool>,
        /// Time between probes.
        pub interval: Field<String>,
        /// Time one probe may take.
        pub timeout: Field<String>,
        /// Consecutive healthy answers needed.
        pub healthy_threshold: Field<Number>,
        /// Time the colour has to become healthy.
        pub deadline: Field<String>,
    }
}

tfplugin::model! {
    /// The `websocket_check` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct WebSocketCheckModel {
        /// Path of the WebSocket endpoint.
        pub path: Field<String>,
        /// Text sent after the handshake.
        pub send: Field<String>,
        /// Text the first message must contain.
        pub expect_message: Field<String>,
    }
}

tfplugin::model! {
    /// One `smoke_test` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct SmokeTestModel {
        /// Name in messages.
        pub name: Field<String>,
        /// HTTP method.
        pub method: Field<String>,
        /// Path requested.
        pub path: Field<String>,
        /// Status expected.
        pub expect_status: Field<Number>,
        /// Text the body must contain.
        pub body_contains: Field<String>,
    }
}

tfplugin::model! {
    /// The `post_switch` block.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct PostSwitchModel {
        /// How long to watch the new colour.
        pub window: Field<String>,
        /// Highest tolerated 5xx share.
        pub max_error_rate: Field<Number>,
        /// 5xx share above which the watch warns.
        pub warn_error_rate: Field<Number>,
        /// Highest tolerated p95 increase.
        pub max_p95_increase: Field<Number>,
        /// Requests needed before judging.
        pub min_requests: Field<Number>,
        /// Switch back by itself on a breach.
        pub auto_rollback: Field<bool>,
    }
}

/// A configuration read for apply.
#[derive(Debug, Clone)]
pub struct EnvironmentConfig {
    /// What the engine runs.
    pub release: ReleaseSpec,
    /// The candidate version, if any.
    pub candidate_version: Option<String>,
    /// The pinned live colour, if any.
    pub live_color: Option<Color>,
    /// How the platform runs it.
    pub target: TargetSpec,
}

fn duration_at(
    v: &Field<String>,
    path: AttributePath,
    default: Duration,
    diags: &mut Diagnostics,
) -> Duration {
    match v.as_deref() {
        None => default,
        Some(s) => match parse_duration(s) {
            Ok(d) => d,
            Err(e) => {
                diags.error_at(
                    path,
                    "Invalid duration",
                    format!("{e}. Use a duration such as \"30s\", \"2m\" or \"1h30m\"."),
                );
                default
            }
        },
    }
}

fn int_at(
    v: &Field<Number>,
    path: AttributePath,
    default: i64,
    min: i64,
    max: i64,
    diags: &mut Diagnostics,
) -> i64 {
    let Some(v) = v.known() else {
        return default;
    };
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => n,
        _ => {
            diags.error_at(
                path,
                "Value out of range",
                format!("Expected a whole number from {min} to {max}."),
            );
            default
        }
    }
}

fn ratio_at(v: &Field<Number>, path: AttributePath, default: f64, diags: &mut Diagnostics) -> f64 {
    match v.known().map(Number::as_f64) {
        None => default,
        Some(x) if (0.0..=100.0).contains(&x) => x,
        Some(_) => {
            diags.error_at(
                path,
                "Value out of range",
                "Expected a fraction such as 0.01 (1%) or 0.5 (50%).",
            );
            default
        }
    }
}

/// Static checks that hold with unknown values too (validate and plan).
pub fn validate(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    match decode::<Field<EnvironmentModel>>(config) {
        Ok(Field::Known(config)) => {
            let _ = read(&config, &mut diags);
        }
        Ok(_) => {}
        Err(d) => diags.push(d),
    }
    diags
}

/// Reads the configuration; problems go to `diags`. Unknown values take defaults.
pub fn read(config: &EnvironmentModel, diags: &mut Diagnostics) -> EnvironmentConfig {
    let name = config.name.as_deref().unwrap_or_default().to_string();
    if config.name.known().is_some() && !valid_name(&name) {
        diags.error_at(
            AttributePath::attr("name"),
            "Invalid environment name",
            format!("{name:?}: use 1-63 lower-case letters, digits and dashes, starting with a letter (e.g. \"api\" or \"tenant-eu-1\")."),
        );
    }
    let version = config.version.as_deref().unwrap_or_default().to_string();
    if config
        .version
        .as_deref()
        .is_some_and(|v| v.trim().is_empty())
    {
        diags.error_at(
            AttributePath::attr("version"),
            "Empty version",
            "Set version to the release to make live, e.g. \"1.3.0\".",
        );
    }
    let candidate_version = config.candidate_version.known().cloned();
    let live_color = match config.live_color.as_deref() {
        None => None,
        Some(s) => match Color::parse(s) {
            Some(c) => Some(c),
            None => {
                diags.error_at(
                    AttributePath::attr("live_color"),
                    "Invalid live_color",
                    format!("{s:?} is not a colour: use \"blue\" or \"green\", or remove it."),
                );
                None
            }
        },
    };

    let hc = config.health_check.known().cloned().unwrap_or_default();
    let hp = AttributePath::attr("health_check");
    let d = HealthCheck::default();
    let path = hc.path.as_deref().unwrap_or(&d.path).to_string();
    if !path.starts_with('/') {
        diags.error_at(
            hp.clone().then_attr("path"),
            "Invalid health check path",
            format!("{path:?} must start with \"/\", e.g. \"/api/health\"."),
        );
    }
    let health = HealthCheck {
        path,
        expect_status: int_at(
            &hc.expect_status,
            hp.clone().then_attr("expect_status"),
            200,
            100,
            599,
            diags,
        ) as u16,
        expect_version: hc.expect_version.known().copied().unwrap_or(true),
        interval: duration_at(
            &hc.interval,
            hp.clone().then_attr("interval"),
            d.interval,
            diags,
        ),
        timeout: duration_at(
            &hc.timeout,
            hp.clone().then_attr("timeout"),
            d.timeout,
            diags,
        ),
        healthy_threshold: int_at(
            &hc.healthy_threshold,
            hp.clone().then_attr("healthy_threshold"),
            2,
            1,
            100,
            diags,
        ) as u32,
        deadline: duration_at(
            &hc.deadline,
            hp.clone().then_attr("deadline"),
            d.deadline,
            diags,
        ),
        websocket: websocket_check(config, diags),
    };
    if health.deadline.is_zero() {
        diags.error_at(
            hp.clone().then_attr("deadline"),
            "Invalid deadline",
            "A 0s deadline fails every release before its first probe: set how long the new colour has to start and become healthy, e.g. \"2m\", or remove deadline for the default.",
        );
    }
    if health.interval.is_zero() {
        diags.error_at(
            hp.clone().then_attr("interval"),
            "Invalid interval",
            "The interval must be longer than 0s.",
        );
    }

    let mut smoke = Vec::new();
    let no_tests = Vec::new();
    for (i, t) in config
        .smoke_test
        .known()
        .unwrap_or(&no_tests)
        .iter()
        .enumerate()
    {
        let t = t.known().cloned().unwrap_or_default();
        let p = AttributePath::attr("smoke_test").then_index(i as i64);
        let path = t.path.as_deref().unwrap_or("/").to_string();
        if !path.starts_with('/') {
            diags.error_at(
                p.clone().then_attr("path"),
                "Invalid smoke test path",
                format!("{path:?} must start with \"/\"."),
            );
        }
        smoke.push(SmokeTest {
            name: t.name.as_deref().unwrap_or_default().to_string(),
            method: t.method.as_deref().unwrap_or("GET").to_ascii_uppercase(),
            path,
            expect_status: int_at(
                &t.expect_status,
                p.clone().then_attr("expect_status"),
                200,
                100,
                599,
                diags,
            ) as u16,
            body_contains: t.body_contains.known().cloned(),
        });
    }

    let ps = config.post_switch.known().cloned().unwrap_or_default();
    let pp = AttributePath::attr("post_switch");
    let pd = PostSwitch::default();
    let post_switch = PostSwitch {
        window: duration_at(&ps.window, pp.clone().then_attr("window"), pd.window, diags),
        max_error_rate: ratio_at(
            &ps.max_error_rate,
            pp.clone().then_attr("max_error_rate"),
            pd.max_error_rate,
            diags,
        ),
        warn_error_rate: ratio_at(
            &ps.warn_error_rate,
            pp.clone().then_attr("warn_error_rate"),
            pd.warn_error_rate,
            diags,
        ),
        max_p95_increase: ratio_at(
            &ps.max_p95_increase,
            pp.clone().then_attr("max_p95_increase"),
            pd.max_p95_increase,
            diags,
        ),
        min_requests: int_at(
            &ps.min_requests,
            pp.clone().then_attr("min_requests"),
            pd.min_requests as i64,
            0,
            i64::MAX,
            diags,
        ) as u64,
        auto_rollback: ps.auto_rollback.known().copied().unwrap_or(true),
    };

    if post_switch.warn_error_rate >= post_switch.max_error_rate
        && ps.warn_error_rate.known().is_some()
    {
        diags.error_at(
            pp.clone().then_attr("warn_error_rate"),
            "warn_error_rate is not below max_error_rate",
            format!(
                "warn_error_rate {} would never warn: above max_error_rate {} the watch rolls back. Set it below, e.g. half of max_error_rate ({}).",
                post_switch.warn_error_rate,
                post_switch.max_error_rate,
                post_switch.max_error_rate / 2.0
            ),
        );
    }
    let target = target(config, &health.path, diags);
    EnvironmentConfig {
        release: ReleaseSpec {
            environment: EnvironmentRef::for_target(name, &target),
            version,
            health,
            smoke,
            post_switch,
            keep_previous: config.keep_previous.known().copied().unwrap_or(true),
            definition_changed: false,
        },
        candidate_version,
        live_color,
        target,
    }
}

/// The platform block: exactly one of `local` and `azure`. `probe_path` is
/// the health check's path, which Azure's propagation probe asks on the edge.
/// The `websocket_check` block, when configured.
fn websocket_check(config: &EnvironmentModel, diags: &mut Diagnostics) -> Option<WebSocketCheck> {
    let block = config.websocket_check.known()?;
    let path = block.path.as_deref().unwrap_or("/").to_string();
    if !path.starts_with('/') {
        diags.error_at(
            AttributePath::attr("websocket_check").then_attr("path"),
            "Invalid websocket_check path",
            format!("{path:?} must start with \"/\", e.g. \"/ws\"."),
        );
    }
    Some(WebSocketCheck {
        path,
        send: block.send.known().cloned(),
        expect_message: block.expect_message.known().cloned(),
    })
}

fn target(config: &EnvironmentModel, probe_path: &str, diags: &mut Diagnostics) -> TargetSpec {
    match (&config.local, &config.azure) {
        (Field::Null, Field::Null) => {
            diags.error_at(
                AttributePath::attr("local"),
                "Missing target",
                "Say where the application runs: add a local { command = [...], listen = \"127.0.0.1:8080\" } block for this machine, or an azure { container_app_id = ..., image = ..., front_door_route_id = ..., blue_origin_group_id = ..., green_origin_group_id = ... } block for Azure Container Apps behind Front Door.",
            );
            local_target(&LocalModel::default(), probe_path, diags)
        }
        (local, Field::Null) => local_target(
            &local.known().cloned().unwrap_or_default(),
            probe_path,
            diags,
        ),
        (Field::Null, azure) => {
            let block = azure.known().cloned().unwrap_or_default();
            azure_target(&block, probe_path, diags)
        }
        (Field::Known(_), Field::Known(_)) => {
            diags.error_at(
                AttributePath::attr("azure"),
                "Both local and azure blocks",
                "An environment runs on one platform: remove the local block to release on Azure, or the azure block to release on this machine.",
            );
            local_target(&LocalModel::default(), probe_path, diags)
        }
        // A dynamic block not known yet: judged once it is (validate only).
        _ => local_target(&LocalModel::default(), probe_path, diags),
    }
}

/// The `azure` block's target.
fn azure_target(block: &AzureModel, probe_path: &str, diags: &mut Diagnostics) -> TargetSpec {
    match azure_block::read(block, diags) {
        Some(azure) => azure.into_spec(probe_path),
        // Never used: the diagnostics hold an error, or (validate, with ids
        // known only after apply) the configuration is only checked.
        None => local_target(&LocalModel::default(), probe_path, diags),
    }
}

/// The `local` block's target.
fn local_target(local: &LocalModel, probe_path: &str, diags: &mut Diagnostics) -> TargetSpec {
    let lp = AttributePath::attr("local");
    let written: &[Field<String>] = local.command.known().map_or(&[], Vec::as_slice);
    let command: Vec<String> = written.iter().filter_map(|v| v.known().cloned()).collect();
    if local.command.known().is_some_and(Vec::is_empty) {
        diags.error_at(
            lp.clone().then_attr("command"),
            "Empty command",
            "Give the program and its arguments, e.g. [\"agog-demo-app\", \"--port\", \"{port}\"].",
        );
    }
    if !command.is_empty()
        && written.iter().all(|a| a.known().is_some())
        && !command.iter().any(|a| a.contains("{port}"))
        && !local.env.known().is_some_and(|m| {
            m.values()
                .any(|v| v.as_deref().is_some_and(|s| s.contains("{port}")))
        })
    {
        diags.warning_at(
            lp.clone().then_attr("command"),
            "Command does not use {port}",
            "Each colour gets its own port; without {port} in the command or env, both colours may try to listen on the same port.",
        );
    }
    let env: BTreeMap<String, String> = local
        .env
        .known()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.known().map(|s| (k.clone(), s.clone())))
                .collect()
        })
        .unwrap_or_default();
    let listen = local.listen.as_deref().unwrap_or_default().to_string();
    if local.listen.known().is_some() && listen.parse::<std::net::SocketAddr>().is_err() {
        diags.error_at(
            lp.clone().then_attr("listen"),
            "Invalid listen address",
            format!("{listen:?} is not IP:PORT, e.g. \"127.0.0.1:8080\"."),
        );
    }
    let drain_timeout = duration_at(
        &local.drain_timeout,
        lp.clone().then_attr("drain_timeout"),
        Duration::from_secs(30),
        diags,
    );
    let upstream_timeout = duration_at(
        &local.upstream_timeout,
        lp.clone().then_attr("upstream_timeout"),
        DEFAULT_UPSTREAM_TIMEOUT,
        diags,
    );
    if upstream_timeout.is_zero() || upstream_timeout > MAX_UPSTREAM_TIMEOUT {
        diags.error_at(
            lp.then_attr("upstream_timeout"),
            "Invalid upstream timeout",
            format!(
                "{:?} is outside 1ms to 1h: a colour needs some time to answer, and a request waiting longer than an hour is a hang. Use e.g. \"60s\".",
                local.upstream_timeout.as_deref().unwrap_or_default()
            ),
        );
    }

    TargetSpec::Local {
        command,
        env,
        listen,
        drain_timeout,
        upstream_timeout,
        trust_forwarded_headers: local
            .trust_forwarded_headers
            .known()
            .copied()
            .unwrap_or(false),
        health_path: Some(probe_path.to_owned()),
    }
}

/// Environment names double as identifiers on every platform.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use tfplugin::model::{coverage, IntoValue, Model};
    use tfplugin::Type;

    use super::*;
    use crate::resources::environment::schema;

    fn object_names(ty: &Type) -> Vec<&str> {
        let mut names: Vec<&str> = ty
            .object_attrs()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        names
    }

    fn sorted<M: Model>() -> Vec<&'static str> {
        let mut names = M::ATTRIBUTES.to_vec();
        names.sort_unstable();
        names
    }

    #[test]
    fn the_models_cover_the_schema() {
        let s = schema::schema();
        let none = (vec![], vec![]);
        assert_eq!(coverage::<EnvironmentModel>(&s.block), none);
        let nested = |name: &str| &s.block.nested(name).unwrap().block;
        assert_eq!(coverage::<LocalModel>(nested("local")), none);
        assert_eq!(coverage::<HealthCheckModel>(nested("health_check")), none);
        assert_eq!(coverage::<SmokeTestModel>(nested("smoke_test")), none);
        assert_eq!(
            coverage::<WebSocketCheckModel>(nested("websocket_check")),
            none
        );
        assert_eq!(coverage::<PostSwitchModel>(nested("post_switch")), none);
        assert_eq!(sorted::<ColorModel>(), object_names(&schema::color_type()));
        assert_eq!(
            sorted::<DeploymentModel>(),
            object_names(&schema::deployment_type())
        );
    }

    #[test]
    fn a_state_round_trips() {
        let color = |v: &str| {
            Value::object([
                ("version", Value::from(v)),
                ("status", Value::from("running")),
                ("address", Value::from("127.0.0.1:4000")),
            ])
        };
        let state = Value::object([
            ("id", Value::from("api")),
            ("name", Value::from("api")),
            ("version", Value::from("1.3.0")),
            ("candidate_version", Value::Null),
            ("keep_previous", Value::Bool(true)),
            ("live_color", Value::from("green")),
            ("previous_version", Value::from("1.2.0")),
            (
                "last_deployment",
                Value::object([
                    ("id", Value::from("d1")),
                    ("outcome", Value::from("released")),
                    ("started_at", Value::from("2026-01-01T00:00:00Z")),
                    ("finished_at", Value::from("2026-01-01T00:01:00Z")),
                    ("message", Value::from("ok")),
                ]),
            ),
            ("idle_color", Value::from("blue")),
            ("endpoint", Value::from("http://127.0.0.1:8080")),
            (
                "colors",
                Value::Map(
                    [
                        ("blue".to_string(), color("1.2.0")),
                        ("green".to_string(), color("1.3.0")),
                    ]
                    .into(),
                ),
            ),
            (
                "local",
                Value::object([
                    ("command", Value::List(vec![Value::from("app")])),
                    (
                        "env",
                        Value::Map([("PORT".to_string(), Value::from("{port}"))].into()),
                    ),
                    ("listen", Value::from("127.0.0.1:8080")),
                    ("drain_timeout", Value::from("5s")),
                    ("upstream_timeout", Value::from("60s")),
                    ("trust_forwarded_headers", Value::Bool(false)),
                ]),
            ),
            ("azure", Value::Null),
            ("health_check", Value::Null),
            (
                "websocket_check",
                Value::object([
                    ("path", Value::from("/ws")),
                    ("send", Value::from("version")),
                    ("expect_message", Value::Null),
                ]),
            ),
            (
                "smoke_test",
                Value::List(vec![Value::object([
                    ("name", Value::from("home")),
                    ("method", Value::from("GET")),
                    ("path", Value::from("/")),
                    ("expect_status", Value::int(200)),
                    ("body_contains", Value::Null),
                ])]),
            ),
            (
                "post_switch",
                Value::object([
                    ("window", Value::from("1m")),
                    // Not a double: Terraform 1.0 must get back what it sent.
                    ("max_error_rate", Value::Number(Number::Big("0.01".into()))),
                    ("warn_error_rate", Value::float(0.005)),
                    ("max_p95_increase", Value::float(0.5)),
                    ("min_requests", Value::int(20)),
                    ("auto_rollback", Value::Bool(true)),
                ]),
            ),
            ("timeouts", Value::Null),
        ]);
        let model: EnvironmentModel = decode(&state).unwrap();
        assert_eq!(model.into_value(), state);
    }

    fn config(listen: &str, interval: &str) -> Value {
        Value::object([
            ("name", Value::from("api")),
            ("version", Value::from("1.3.0")),
            (
                "local",
                Value::object([
                    (
                        "command",
                        Value::List(vec![Value::from("app"), Value::from("--port={port}")]),
                    ),
                    ("env", Value::Null),
                    ("listen", Value::from(listen)),
                    ("drain_timeout", Value::from("5s")),
                ]),
            ),
            (
                "health_check",
                Value::object([("interval", Value::from(interval))]),
            ),
        ])
    }

    #[test]
    fn reads_a_valid_config() {
        let mut diags = Diagnostics::new();
        let cfg = read(
            &decode(&config("127.0.0.1:8080", "500ms")).unwrap(),
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.release.health.interval, Duration::from_millis(500));
        assert_eq!(cfg.release.health.path, "/api/health");
        assert_eq!(cfg.release.post_switch.max_error_rate, 0.01);
        // The daemon is told the health check's path, to show the application's checks.
        match &cfg.target {
            TargetSpec::Local { health_path, .. } => {
                assert_eq!(health_path.as_deref(), Some("/api/health"))
            }
            other => panic!("not local: {other:?}"),
        }
    }

    #[test]
    fn bad_values_point_at_their_attribute() {
        let mut diags = Diagnostics::new();
        read(&decode(&config("localhost", "soon")).unwrap(), &mut diags);
        let paths: Vec<String> = diags
            .0
            .iter()
            .filter_map(|d| d.path.as_ref().map(ToString::to_string))
            .collect();
        assert!(paths.contains(&"local.listen".to_string()), "{paths:?}");
        assert!(
            paths.contains(&"health_check.interval".to_string()),
            "{paths:?}"
        );
    }

    #[test]
    fn warn_error_rate_defaults_to_half_a_percent_and_stays_below_the_rollback() {
        let with = |warn: Option<f64>| {
            let mut cfg = config("127.0.0.1:8080", "500ms");
            if let Value::Object(top) = &mut cfg {
                let mut ps = std::collections::BTreeMap::new();
                ps.insert("max_error_rate".to_string(), Value::float(0.01));
                ps.insert(
                    "warn_error_rate".to_string(),
                    warn.map_or(Value::Null, Value::float),
                );
                top.insert("post_switch".into(), Value::Object(ps));
            }
            let mut diags = Diagnostics::new();
            let read = read(&decode(&cfg).unwrap(), &mut diags);
            let errors: Vec<(String, String)> = diags
                .0
                .iter()
                .map(|d| {
                    (
                        d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                        d.detail.clone(),
                    )
                })
                .collect();
            (read.release.post_switch.warn_error_rate, errors)
        };
        assert_eq!(with(None), (0.005, vec![]));
        assert_eq!(with(Some(0.002)), (0.002, vec![]));
        let (_, errors) = with(Some(0.02));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "post_switch.warn_error_rate");
        assert!(
            errors[0]
                .1
                .contains("Set it below, e.g. half of max_error_rate (0.005)"),
            "{errors:?}"
        );
    }

    #[test]
    fn upstream_timeout_defaults_to_a_minute_and_must_be_within_an_hour() {
        let with = |timeout: Option<&str>| {
            let mut cfg = config("127.0.0.1:8080", "500ms");
            if let (Value::Object(top), Some(t)) = (&mut cfg, timeout) {
                if let Some(Value::Object(local)) = top.get_mut("local") {
                    local.insert("upstream_timeout".into(), Value::from(t));
                }
            }
            let mut diags = Diagnostics::new();
            let read = read(&decode(&cfg).unwrap(), &mut diags);
            let paths: Vec<String> = diags
                .0
                .iter()
                .filter_map(|d| d.path.as_ref().map(ToString::to_string))
                .collect();
            let upstream = match read.target {
                TargetSpec::Local {
                    upstream_timeout, ..
                } => upstream_timeout,
                other => panic!("not local: {other:?}"),
            };
            (upstream, paths)
        };
        assert_eq!(with(None), (Duration::from_secs(60), vec![]));
        assert_eq!(with(Some("1500ms")), (Duration::from_millis(1500), vec![]));
        for bad in ["0s", "2h", "soon"] {
            assert_eq!(
                with(Some(bad)).1,
                vec!["local.upstream_timeout".to_string()],
                "{bad}"
            );
        }
    }

    fn azure_block() -> Value {
        let fd = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd";
        Value::object([
            (
                "container_app_id",
                Value::from(
                    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/containerApps/orders",
                ),
            ),
            ("container_name", Value::Null),
            ("image", Value::from("acr.example/orders:{version}")),
            (
                "front_door_route_id",
                Value::from(format!("{fd}/afdEndpoints/ep/routes/default").as_str()),
            ),
            (
                "blue_origin_group_id",
                Value::from(format!("{fd}/originGroups/og-blue").as_str()),
            ),
            (
                "green_origin_group_id",
                Value::from(format!("{fd}/originGroups/og-green").as_str()),
            ),
            ("split_origin_group_id", Value::Null),
            ("rule_set_id", Value::Null),
        ])
    }

    fn error_paths(config: &Value) -> Vec<(String, String)> {
        let mut diags = Diagnostics::new();
        read(&decode(config).unwrap(), &mut diags);
        diags
            .0
            .iter()
            .map(|d| {
                (
                    d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                    d.summary.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn exactly_one_platform_block() {
        let mut both = config("127.0.0.1:8080", "1s");
        both.set("azure", azure_block());
        assert_eq!(
            error_paths(&both),
            [(
                "azure".to_string(),
                "Both local and azure blocks".to_string()
            )]
        );
        let mut neither = config("127.0.0.1:8080", "1s");
        neither.set("local", Value::Null);
        let found = error_paths(&neither);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "local");
    }

    #[test]
    fn names_are_dns_labels() {
        assert!(valid_name("tenant-eu-1"));
        assert!(!valid_name("Tenant"));
        assert!(!valid_name("a_b"));
        assert!(!valid_name(""));
    }
}
