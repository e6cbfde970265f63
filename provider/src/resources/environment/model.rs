//! Reading a `bluegreen_environment` configuration into what the engine and
//! the platform need, with a diagnostic at the attribute path for each problem.

use std::collections::BTreeMap;
use std::time::Duration;

use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics, Value};

use crate::platform::{Color, TargetSpec};
use crate::rollout::{HealthCheck, PostSwitch, ReleaseSpec, SmokeTest};

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
    v: &Value,
    path: AttributePath,
    default: Duration,
    diags: &mut Diagnostics,
) -> Duration {
    match v.as_str() {
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
    v: &Value,
    path: AttributePath,
    default: i64,
    min: i64,
    max: i64,
    diags: &mut Diagnostics,
) -> i64 {
    if v.is_null() || v.is_unknown() {
        return default;
    }
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

fn ratio_at(v: &Value, path: AttributePath, default: f64, diags: &mut Diagnostics) -> f64 {
    match v.as_f64() {
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
    let _ = read(config, &mut diags);
    diags
}

/// Reads the configuration; problems go to `diags`. Unknown values take defaults.
pub fn read(config: &Value, diags: &mut Diagnostics) -> EnvironmentConfig {
    let name = config.get("name").as_str().unwrap_or_default().to_string();
    if config.get("name").as_str().is_some() && !valid_name(&name) {
        diags.error_at(
            AttributePath::attr("name"),
            "Invalid environment name",
            format!("{name:?}: use 1-63 lower-case letters, digits and dashes, starting with a letter (e.g. \"api\" or \"tenant-eu-1\")."),
        );
    }
    let version = config
        .get("version")
        .as_str()
        .unwrap_or_default()
        .to_string();
    if config
        .get("version")
        .as_str()
        .is_some_and(|v| v.trim().is_empty())
    {
        diags.error_at(
            AttributePath::attr("version"),
            "Empty version",
            "Set version to the release to make live, e.g. \"1.3.0\".",
        );
    }
    let candidate_version = config.get("candidate_version").as_str().map(str::to_string);
    let live_color = match config.get("live_color").as_str() {
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

    let hc = config.get("health_check");
    let hp = AttributePath::attr("health_check");
    let d = HealthCheck::default();
    let path = hc.get("path").as_str().unwrap_or(&d.path).to_string();
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
            hc.get("expect_status"),
            hp.clone().then_attr("expect_status"),
            200,
            100,
            599,
            diags,
        ) as u16,
        expect_version: hc.get("expect_version").as_bool().unwrap_or(true),
        interval: duration_at(
            hc.get("interval"),
            hp.clone().then_attr("interval"),
            d.interval,
            diags,
        ),
        timeout: duration_at(
            hc.get("timeout"),
            hp.clone().then_attr("timeout"),
            d.timeout,
            diags,
        ),
        healthy_threshold: int_at(
            hc.get("healthy_threshold"),
            hp.clone().then_attr("healthy_threshold"),
            2,
            1,
            100,
            diags,
        ) as u32,
        deadline: duration_at(
            hc.get("deadline"),
            hp.clone().then_attr("deadline"),
            d.deadline,
            diags,
        ),
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
    for (i, t) in config
        .get("smoke_test")
        .as_seq()
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let p = AttributePath::attr("smoke_test").then_index(i as i64);
        let path = t.get("path").as_str().unwrap_or("/").to_string();
        if !path.starts_with('/') {
            diags.error_at(
                p.clone().then_attr("path"),
                "Invalid smoke test path",
                format!("{path:?} must start with \"/\"."),
            );
        }
        smoke.push(SmokeTest {
            name: t.get("name").as_str().unwrap_or_default().to_string(),
            method: t
                .get("method")
                .as_str()
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            path,
            expect_status: int_at(
                t.get("expect_status"),
                p.clone().then_attr("expect_status"),
                200,
                100,
                599,
                diags,
            ) as u16,
            body_contains: t.get("body_contains").as_str().map(str::to_string),
        });
    }

    let ps = config.get("post_switch");
    let pp = AttributePath::attr("post_switch");
    let pd = PostSwitch::default();
    let post_switch = PostSwitch {
        window: duration_at(
            ps.get("window"),
            pp.clone().then_attr("window"),
            pd.window,
            diags,
        ),
        max_error_rate: ratio_at(
            ps.get("max_error_rate"),
            pp.clone().then_attr("max_error_rate"),
            pd.max_error_rate,
            diags,
        ),
        max_p95_increase: ratio_at(
            ps.get("max_p95_increase"),
            pp.clone().then_attr("max_p95_increase"),
            pd.max_p95_increase,
            diags,
        ),
        min_requests: int_at(
            ps.get("min_requests"),
            pp.clone().then_attr("min_requests"),
            pd.min_requests as i64,
            0,
            i64::MAX,
            diags,
        ) as u64,
        auto_rollback: ps.get("auto_rollback").as_bool().unwrap_or(true),
    };

    let local = config.get("local");
    let lp = AttributePath::attr("local");
    if local.is_null() && !config.is_null() {
        diags.error_at(
            lp.clone(),
            "Missing target",
            "Add a local { command = [...], listen = \"127.0.0.1:8080\" } block to say how to run the application.",
        );
    }
    let command: Vec<String> = local
        .get("command")
        .as_seq()
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if local
        .get("command")
        .as_seq()
        .is_some_and(<[Value]>::is_empty)
    {
        diags.error_at(
            lp.clone().then_attr("command"),
            "Empty command",
            "Give the program and its arguments, e.g. [\"agog-demo-app\", \"--port\", \"{port}\"].",
        );
    }
    if !command.is_empty()
        && local.get("command").is_wholly_known()
        && !command.iter().any(|a| a.contains("{port}"))
        && !local.get("env").as_map().is_some_and(|m| {
            m.values()
                .any(|v| v.as_str().is_some_and(|s| s.contains("{port}")))
        })
    {
        diags.warning_at(
            lp.clone().then_attr("command"),
            "Command does not use {port}",
            "Each colour gets its own port; without {port} in the command or env, both colours may try to listen on the same port.",
        );
    }
    let env: BTreeMap<String, String> = local
        .get("env")
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let listen = local.get("listen").as_str().unwrap_or_default().to_string();
    if local.get("listen").as_str().is_some() && listen.parse::<std::net::SocketAddr>().is_err() {
        diags.error_at(
            lp.clone().then_attr("listen"),
            "Invalid listen address",
            format!("{listen:?} is not IP:PORT, e.g. \"127.0.0.1:8080\"."),
        );
    }
    let drain_timeout = duration_at(
        local.get("drain_timeout"),
        lp.then_attr("drain_timeout"),
        Duration::from_secs(30),
        diags,
    );

    EnvironmentConfig {
        release: ReleaseSpec {
            environment: name,
            version,
            health,
            smoke,
            post_switch,
            keep_previous: config.get("keep_previous").as_bool().unwrap_or(true),
            definition_changed: false,
        },
        candidate_version,
        live_color,
        target: TargetSpec::Local {
            command,
            env,
            listen,
            drain_timeout,
            trust_forwarded_headers: local
                .get("trust_forwarded_headers")
                .as_bool()
                .unwrap_or(false),
        },
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
    use super::*;

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
        let cfg = read(&config("127.0.0.1:8080", "500ms"), &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.release.health.interval, Duration::from_millis(500));
        assert_eq!(cfg.release.health.path, "/api/health");
        assert_eq!(cfg.release.post_switch.max_error_rate, 0.01);
    }

    #[test]
    fn bad_values_point_at_their_attribute() {
        let mut diags = Diagnostics::new();
        read(&config("localhost", "soon"), &mut diags);
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
    fn names_are_dns_labels() {
        assert!(valid_name("tenant-eu-1"));
        assert!(!valid_name("Tenant"));
        assert!(!valid_name("a_b"));
        assert!(!valid_name(""));
    }
}
