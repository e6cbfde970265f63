//! The `bluegreen_traffic_split` value as a typed model, and reading its
//! configuration into what the engine needs, with a diagnostic at the
//! attribute path for each problem.

use std::time::Duration;

use tfplugin::model::Field;
use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics, Number, Value};

use crate::rollout::canary::{CanarySpec, Progressive};
use crate::rollout::PostSwitch;

tfplugin::model! {
    /// A split as configured, planned or stored: every attribute of the schema,
    /// so that it round-trips.
    #[derive(Debug, Clone, Default)]
    pub struct SplitModel {
        /// The environment name.
        pub id: Field<String>,
        /// The environment the split routes.
        pub environment: Field<String>,
        /// Request header carrying the tenant id.
        pub tenant_header: Field<String>,
        /// The colour running the canary (null once satisfied).
        pub canary_color: Field<String>,
        /// True when the canary version is live.
        pub satisfied: Field<bool>,
        /// The `canary` block.
        pub canary: Field<CanaryModel>,
        /// The `progressive` block.
        pub progressive: Field<ProgressiveModel>,
        /// The `timeouts` block, read by `tfplugin::timeouts`.
        pub timeouts: Value,
    }
}

tfplugin::model! {
    /// The `canary` block.
    #[derive(Debug, Clone, Default)]
    pub struct CanaryModel {
        /// Version receiving canary traffic.
        pub version: Field<String>,
        /// Percent of requests without a tenant header.
        pub weight: Field<Number>,
        /// Tenants always routed to the canary.
        pub tenants: Field<Vec<Field<String>>>,
    }
}

tfplugin::model! {
    /// The `progressive` block.
    #[derive(Debug, Clone, Default)]
    pub struct ProgressiveModel {
        /// Intermediate weights, ascending.
        pub steps: Field<Vec<Field<Number>>>,
        /// How long each step is watched.
        pub interval: Field<String>,
        /// Highest tolerated 5xx share.
        pub max_error_rate: Field<Number>,
        /// Highest tolerated p95 increase.
        pub max_p95_increase: Field<Number>,
        /// Canary requests needed before a step is judged.
        pub min_requests: Field<Number>,
    }
}

/// The split as configured.
pub struct SplitConfig {
    /// The environment name.
    pub environment: String,
    /// Where canary traffic goes.
    pub canary: CanarySpec,
    /// The ramp, if any.
    pub progressive: Option<Progressive>,
}

/// Reads the configuration; problems go to `diags`. Unknown values take defaults.
pub fn read_config(config: &SplitModel, diags: &mut Diagnostics) -> SplitConfig {
    let no_canary = CanaryModel::default();
    let canary = config.canary.known().unwrap_or(&no_canary);
    let cp = AttributePath::attr("canary");
    let weight = match &canary.weight {
        Field::Known(w) => match w.as_i64() {
            Some(w) if (0..=100).contains(&w) => w as u8,
            _ => {
                diags.error_at(
                    cp.clone().then_attr("weight"),
                    "Invalid weight",
                    "weight is a percentage: a whole number from 0 to 100.",
                );
                0
            }
        },
        Field::Null | Field::Unknown => 0,
    };
    // Indexed over the list as written, so a path stays right beside unknown elements.
    let written: &[Field<String>] = canary.tenants.known().map_or(&[], Vec::as_slice);
    let tenants: Vec<String> = written.iter().filter_map(|t| t.known().cloned()).collect();
    for (i, t) in written.iter().enumerate() {
        let Some(t) = t.as_deref() else { continue };
        let at = cp.clone().then_attr("tenants").then_index(i as i64);
        if t.trim().is_empty() {
            diags.error_at(
                at,
                "Empty tenant id",
                "Remove the empty string from tenants.",
            );
        } else if let Some((first, other)) = written[..i]
            .iter()
            .enumerate()
            .filter_map(|(j, o)| Some((j, o.as_deref()?)))
            .find(|(_, o)| o.trim().eq_ignore_ascii_case(t.trim()))
        {
            // The platforms route it once anyway (tenant ids compare case-insensitively,
            // as Front Door's Lowercase transform makes them); a repeat is a typo or a
            // merge slip.
            let spelled = if other == t {
                String::new()
            } else {
                format!(" as {other:?}; tenant ids compare case-insensitively")
            };
            diags.error_at(
                at,
                "Duplicate tenant",
                format!(
                    "{t:?} is listed twice in tenants (first at index {first}{spelled}): remove the repeat."
                ),
            );
        }
    }
    let tenant_header = config
        .tenant_header
        .as_deref()
        .unwrap_or("X-Tenant-ID")
        .to_string();
    if config.tenant_header.known().is_some()
        && (tenant_header.is_empty()
            || !tenant_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        diags.error_at(
            AttributePath::attr("tenant_header"),
            "Invalid tenant header",
            format!("{tenant_header:?} is not an HTTP header name, e.g. \"X-Tenant-ID\"."),
        );
    }
    let progressive = match &config.progressive {
        Field::Null => None,
        Field::Unknown => Some(read_progressive(&ProgressiveModel::default(), diags)),
        Field::Known(prog) => Some(read_progressive(prog, diags)),
    };
    SplitConfig {
        environment: config
            .environment
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        canary: CanarySpec {
            version: canary.version.as_deref().unwrap_or_default().to_string(),
            weight,
            tenants,
            tenant_header,
        },
        progressive,
    }
}

fn read_progressive(prog: &ProgressiveModel, diags: &mut Diagnostics) -> Progressive {
    let pp = AttributePath::attr("progressive");
    let mut steps = Vec::new();
    for (i, s) in prog
        .steps
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        match s.known().and_then(Number::as_i64) {
            Some(v) if (1..=100).contains(&v) => steps.push(v as u8),
            _ if s.is_unknown() => {}
            _ => diags.error_at(
                pp.clone().then_attr("steps").then_index(i as i64),
                "Invalid step",
                "Each step is a percentage from 1 to 100.",
            ),
        }
    }
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        diags.error_at(
            pp.clone().then_attr("steps"),
            "Steps must ascend",
            "List the weights in increasing order, e.g. [5, 10, 25].",
        );
    }
    let interval = match prog.interval.as_deref().map(parse_duration) {
        None => Duration::from_secs(60),
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            diags.error_at(
                pp.clone().then_attr("interval"),
                "Invalid duration",
                format!("{e}. Use e.g. \"60s\"."),
            );
            Duration::from_secs(60)
        }
    };
    let d = PostSwitch::default();
    Progressive {
        steps,
        interval,
        rules: PostSwitch {
            window: interval,
            max_error_rate: prog
                .max_error_rate
                .known()
                .map_or(d.max_error_rate, Number::as_f64),
            // A canary step judges breaches only: its warnings are not alerts.
            warn_error_rate: d.warn_error_rate,
            max_p95_increase: prog
                .max_p95_increase
                .known()
                .map_or(d.max_p95_increase, Number::as_f64),
            min_requests: prog
                .min_requests
                .known()
                .and_then(Number::as_i64)
                .map_or(d.min_requests, |n| n.max(0) as u64),
            auto_rollback: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use tfplugin::model::{coverage, decode, IntoValue};

    use super::*;

    fn state() -> Value {
        Value::object([
            ("id", Value::from("api")),
            ("environment", Value::from("api")),
            ("tenant_header", Value::from("X-Tenant-ID")),
            ("canary_color", Value::from("green")),
            ("satisfied", Value::Bool(false)),
            (
                "canary",
                Value::object([
                    ("version", Value::from("1.4.0")),
                    ("weight", Value::int(10)),
                    (
                        "tenants",
                        Value::List(vec![Value::from("acme"), Value::from("globex")]),
                    ),
                ]),
            ),
            (
                "progressive",
                Value::object([
                    ("steps", Value::List(vec![Value::int(5), Value::int(10)])),
                    ("interval", Value::from("1m")),
                    // Not a double: Terraform 1.0 must get back what it sent.
                    ("max_error_rate", Value::Number(Number::Big("0.01".into()))),
                    ("max_p95_increase", Value::float(0.5)),
                    ("min_requests", Value::int(20)),
                ]),
            ),
            ("timeouts", Value::object([("create", Value::from("5m"))])),
        ])
    }

    fn read(v: &Value) -> (SplitConfig, Vec<String>) {
        let mut diags = Diagnostics::new();
        let cfg = read_config(&decode(v).unwrap(), &mut diags);
        let paths = diags
            .0
            .iter()
            .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
            .collect();
        (cfg, paths)
    }

    #[test]
    fn the_models_cover_the_schema() {
        let schema = super::super::schema::schema();
        let none = (vec![], vec![]);
        assert_eq!(coverage::<SplitModel>(&schema.block), none);
        let canary = &schema.block.nested("canary").unwrap().block;
        assert_eq!(coverage::<CanaryModel>(canary), none);
        let progressive = &schema.block.nested("progressive").unwrap().block;
        assert_eq!(coverage::<ProgressiveModel>(progressive), none);
    }

    #[test]
    fn a_state_round_trips() {
        let split: SplitModel = decode(&state()).unwrap();
        assert_eq!(split.into_value(), state());
    }

    #[test]
    fn reads_a_valid_config() {
        let (cfg, paths) = read(&state());
        assert!(paths.is_empty(), "{paths:?}");
        assert_eq!(cfg.environment, "api");
        assert_eq!(cfg.canary.weight, 10);
        assert_eq!(cfg.canary.tenants, ["acme", "globex"]);
        let prog = cfg.progressive.unwrap();
        assert_eq!(prog.steps, [5, 10]);
        assert_eq!(prog.interval, Duration::from_secs(60));
        assert_eq!(prog.rules.max_error_rate, 0.01);
    }

    #[test]
    fn bad_values_point_at_their_attribute() {
        let mut split: SplitModel = decode(&state()).unwrap();
        let canary = split.canary.known_mut().unwrap();
        canary.weight = Field::Known(Number::Float(1.5));
        canary.tenants = Field::Known(vec![
            Field::Known("acme".into()),
            Field::Unknown,
            Field::Known("acme".into()),
            Field::Known(" ".into()),
        ]);
        let prog = split.progressive.known_mut().unwrap();
        prog.steps = Field::Known(vec![
            Field::Known(Number::Int(10)),
            Field::Unknown,
            Field::Known(Number::Int(101)),
        ]);
        prog.interval = Field::Known("soon".into());
        split.tenant_header = Field::Known("X Tenant".into());
        let v = split.into_value();
        let (cfg, paths) = read(&v);
        assert_eq!(
            paths,
            [
                "canary.weight",
                "canary.tenants[2]",
                "canary.tenants[3]",
                "tenant_header",
                "progressive.steps[2]",
                "progressive.interval",
            ]
        );
        // Unknown elements are left for the apply, not reported.
        assert_eq!(cfg.canary.tenants, ["acme", "acme", " "]);
    }

    #[test]
    fn unknown_and_absent_values_take_defaults() {
        let v = Value::object([
            ("environment", Value::Unknown),
            ("canary", Value::Unknown),
            ("progressive", Value::Unknown),
        ]);
        let (cfg, paths) = read(&v);
        assert!(paths.is_empty(), "{paths:?}");
        assert_eq!(cfg.canary.weight, 0);
        assert_eq!(cfg.canary.tenant_header, "X-Tenant-ID");
        let prog = cfg.progressive.unwrap();
        assert_eq!(prog.interval, Duration::from_secs(60));
        assert_eq!(prog.rules.min_requests, PostSwitch::default().min_requests);
        let (cfg, _) = read(&Value::object([("canary", Value::Null)]));
        assert!(cfg.progressive.is_none());
    }
}
