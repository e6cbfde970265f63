//! Azure Monitor metrics (`Microsoft.Insights/metrics`, 2024-02-01) for Front
//! Door profiles and container apps, from recorded samples: per-interval
//! buckets, average/minimum/maximum/total/count, dimension filters and splits,
//! and samples that become visible only after an ingestion delay.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::arm::path::key_of;
use crate::arm::Ctx;
use crate::clock;
use crate::front::Incoming;
use crate::reply::Reply;
use crate::state::State;

/// One observation of a metric.
#[derive(Debug, Clone)]
pub struct MetricSample {
    /// Lower-cased id of the resource it belongs to.
    pub resource_key: String,
    /// Metric name as defined (e.g. `RequestCount`).
    pub metric: String,
    /// Dimension values (e.g. `Origin`, `HttpStatusGroup`).
    pub dimensions: BTreeMap<String, String>,
    /// Emulated time of the observation (ms).
    pub time_ms: u64,
    /// The value (a count of 1 per request, or a latency, ...).
    pub value: f64,
    /// Emulated time from which queries see it (ms).
    pub visible_from_ms: u64,
}

/// A sample as the admin API receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// The resource's id (any case).
    pub resource_id: String,
    /// Metric name.
    pub metric: String,
    /// Dimension values.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// RFC 3339 time; emulated now when absent.
    pub time: Option<String>,
    /// The value.
    pub value: f64,
    /// Hide it until the ingestion delay has passed, like edge traffic.
    #[serde(default)]
    pub delayed: bool,
}

struct MetricDef {
    name: &'static str,
    localized: &'static str,
    unit: &'static str,
    primary: &'static str,
    description: &'static str,
}

const FRONT_DOOR: &[MetricDef] = &[
    MetricDef { name: "RequestCount", localized: "Request Count", unit: "Count", primary: "total", description: "The number of client requests served by the HTTP/S proxy." },
    MetricDef { name: "OriginRequestCount", localized: "Origin Request Count", unit: "Count", primary: "total", description: "The number of requests sent from the HTTP/S proxy to origin." },
    MetricDef { name: "OriginLatency", localized: "Origin Latency", unit: "MilliSeconds", primary: "average", description: "The time calculated from when the request was sent by AFDX edge to the backend until AFDX received the last response byte from the backend." },
    MetricDef { name: "TotalLatency", localized: "Total Latency", unit: "MilliSeconds", primary: "average", description: "The time calculated from when the client request was received by the HTTP/S proxy until the client acknowledged the last response byte from the HTTP/S proxy." },
    MetricDef { name: "Percentage4XX", localized: "Percentage of 4XX", unit: "Percent", primary: "average", description: "The percentage of all the client requests for which the response status code is 4XX." },
    MetricDef { name: "Percentage5XX", localized: "Percentage of 5XX", unit: "Percent", primary: "average", description: "The percentage of all the client requests for which the response status code is 5XX." },
    MetricDef { name: "OriginHealthPercentage", localized: "Origin Health Percentage", unit: "Percent", primary: "average", description: "The percentage of successful health probes from the HTTP/S proxy to backends." },
];

const CONTAINER_APPS: &[MetricDef] = &[
    MetricDef {
        name: "Requests",
        localized: "Requests",
        unit: "Count",
        primary: "total",
        description: "Requests processed.",
    },
    MetricDef {
        name: "ResponseTime",
        localized: "Average Response Time",
        unit: "MilliSeconds",
        primary: "average",
        description: "Average response time per status code.",
    },
    MetricDef {
        name: "Replicas",
        localized: "Replica Count",
        unit: "Count",
        primary: "maximum",
        description: "Number of replicas count of container app.",
    },
];

fn catalog(type_name: &str) -> Option<(&'static str, &'static [MetricDef])> {
    if type_name.eq_ignore_ascii_case("Microsoft.Cdn/profiles") {
        Some(("Microsoft.Cdn/profiles", FRONT_DOOR))
    } else if type_name.eq_ignore_ascii_case("Microsoft.App/containerApps") {
        Some(("Microsoft.App/containerApps", CONTAINER_APPS))
    } else {
        None
    }
}

/// Records a sample given through the admin API.
pub fn add(st: &mut State, now: u64, spec: SampleSpec) -> Result<(), String> {
    let time_ms = match &spec.time {
        Some(t) => clock::parse_rfc3339(t).ok_or(format!("\"time\" '{t}' is not RFC 3339"))?,
        None => now,
    };
    let visible_from_ms = if spec.delayed {
        time_ms + st.settings.metrics_ingestion_delay_ms
    } else {
        0
    };
    st.metrics.push(MetricSample {
        resource_key: key_of(&spec.resource_id),
        metric: spec.metric,
        dimensions: spec.dimensions,
        time_ms,
        value: spec.value,
        visible_from_ms,
    });
    Ok(())
}

fn bad(message: impl Into<String>) -> Reply {
    Reply::arm_error(400, "BadRequest", message)
}

/// Answers `GET {resourceUri}/providers/Microsoft.Insights/metrics`.
pub fn query(ctx: &Ctx, st: &State, req: &Incoming) -> Reply {
    if req.method != "GET" {
        return Reply::arm_error(405, "MethodNotAllowed", "Metrics only answer GET.");
    }
    let lower = req.path.to_ascii_lowercase();
    let cut = lower
        .rfind("/providers/microsoft.insights/metrics")
        .unwrap_or(lower.len());
    let resource_uri = format!("/{}", req.path[..cut].trim_matches('/'));
    let key = key_of(&resource_uri);
    let Some(doc) = st.resources.get(&key) else {
        return Reply::arm_error(
            404,
            "ResourceNotFound",
            format!("The Resource '{resource_uri}' was not found."),
        );
    };
    let type_name = doc["type"].as_str().unwrap_or("");
    let Some((namespace, defs)) = catalog(type_name) else {
        return bad(format!(
            "The resource type '{type_name}' has no metrics in this emulator."
        ));
    };

    let names: Vec<&str> = match req.query("metricnames") {
        Some(n) => n
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        None => vec![defs[0].name],
    };
    let mut chosen = Vec::new();
    for name in &names {
        match defs.iter().find(|d| d.name.eq_ignore_ascii_case(name)) {
            Some(d) => chosen.push(d),
            None => {
                let valid: Vec<&str> = defs.iter().map(|d| d.name).collect();
                let (ns, ty) = namespace.split_once('/').unwrap_or((namespace, ""));
                return bad(format!(
                    "Failed to find metric configuration for provider: {ns}, resource Type: {ty}, metric: {name}, Valid metrics: {}",
                    valid.join(",")
                ));
            }
        }
    }

    let (start, end) = match req.query("timespan") {
        Some(t) => match t
            .split_once('/')
            .and_then(|(a, b)| Some((clock::parse_rfc3339(a)?, clock::parse_rfc3339(b)?)))
        {
            Some((a, b)) if a < b => (a, b),
            _ => {
                return bad(format!(
                "Invalid timespan '{t}': expected 'start/end' in ISO 8601 with start before end."
            ))
            }
        },
        // The last hour, including samples taken this very millisecond.
        None => (ctx.now.saturating_sub(3_600_000), ctx.now + 1),
    };
    let interval = match req.query("interval") {
        None => 60_000,
        Some(i) if i.eq_ignore_ascii_case("FULL") => end - start,
        Some(i) => match clock::parse_iso_duration(i) {
            Some(ms) => ms,
            None => {
                return bad(format!(
                    "Invalid interval '{i}': expected an ISO 8601 duration such as PT1M."
                ))
            }
        },
    };
    let first = start - start % interval.max(1);
    if (end - first) / interval > 10_000 {
        return bad(
            "The query asks for more than 10,000 data points per series: widen the interval.",
        );
    }
    let aggregations: Option<Vec<String>> = req.query("aggregation").map(|a| {
        a.split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    });
    if let Some(aggs) = &aggregations {
        for a in aggs {
            if !["average", "minimum", "maximum", "total", "count"].contains(&a.as_str()) {
                return bad(format!(
                    "Invalid aggregation '{a}': use Average, Minimum, Maximum, Total or Count."
                ));
            }
        }
    }
    let filter = match req.query("$filter").map(parse_filter).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return bad(e),
    };

    let value: Vec<Value> = chosen
        .iter()
        .map(|def| {
            let aggs: Vec<String> = aggregations
                .clone()
                .unwrap_or_else(|| vec![def.primary.to_string()]);
            let samples: Vec<&MetricSample> = st
                .metrics
                .iter()
                .filter(|s| {
                    s.resource_key == key
                        && s.metric.eq_ignore_ascii_case(def.name)
                        && s.visible_from_ms <= ctx.now
                        && s.time_ms >= first
                        && s.time_ms < end
                        && filter.accepts(s)
                })
                .collect();
            json!({
                "id": format!("{resource_uri}/providers/Microsoft.Insights/metrics/{}", def.name),
                "type": "Microsoft.Insights/metrics",
                "name": {"value": def.name, "localizedValue": def.localized},
                "displayDescription": def.description,
                "unit": def.unit,
                "timeseries": timeseries(&samples, &filter, first, end, interval, &aggs),
                "errorCode": "Success",
            })
        })
        .collect();

    Reply::json(
        200,
        json!({
            "cost": 0,
            "timespan": format!("{}/{}", clock::rfc3339_seconds(start), clock::rfc3339_seconds(end)),
            "interval": iso_duration(interval),
            "value": value,
            "namespace": namespace,
            "resourceregion": doc["location"].as_str().unwrap_or("global").replace(' ', "").to_lowercase(),
        }),
    )
}

/// Parsed `$filter`: fixed dimension values and dimensions to split by (`'*'`).
#[derive(Debug, Default)]
struct Filter {
    allowed: BTreeMap<String, Vec<String>>,
    split: Vec<String>,
}

impl Filter {
    fn accepts(&self, s: &MetricSample) -> bool {
        self.allowed.iter().all(|(dim, values)| {
            let v = s
                .dimensions
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(dim))
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            values.iter().any(|a| a.eq_ignore_ascii_case(v))
        })
    }
}

/// Parses `A eq 'x' and B eq '*'` (and `A eq 'x' or A eq 'y'`).
fn parse_filter(text: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    let lower = text.to_lowercase();
    let mut clauses = Vec::new();
    let mut rest = (text, lower.as_str());
    while let Some(i) = rest.1.find(" and ") {
        clauses.push(&rest.0[..i]);
        rest = (&rest.0[i + 5..], &rest.1[i + 5..]);
    }
    clauses.push(rest.0);
    for clause in clauses {
        let clause_lower = clause.to_lowercase();
        let mut parts = Vec::new();
        let mut r = (clause, clause_lower.as_str());
        while let Some(i) = r.1.find(" or ") {
            parts.push(&r.0[..i]);
            r = (&r.0[i + 4..], &r.1[i + 4..]);
        }
        parts.push(r.0);
        for part in parts {
            let part = part.trim().trim_start_matches('(').trim_end_matches(')');
            let lower_part = part.to_lowercase();
            let Some(i) = lower_part.find(" eq ") else {
                return Err(format!(
                    "Invalid $filter clause '{part}': expected \"Dimension eq 'value'\"."
                ));
            };
            let dim = part[..i].trim().to_string();
            let value = part[i + 4..].trim().trim_matches('\'').to_string();
            if value == "*" {
                filter.split.push(dim);
            } else {
                filter.allowed.entry(dim).or_default().push(value);
            }
        }
    }
    Ok(filter)
}

fn timeseries(
    samples: &[&MetricSample],
    filter: &Filter,
    first: u64,
    end: u64,
    interval: u64,
    aggs: &[String],
) -> Vec<Value> {
    // Group by the split dimensions' values.
    let mut groups: BTreeMap<Vec<String>, Vec<&MetricSample>> = BTreeMap::new();
    for s in samples {
        let key: Vec<String> = filter
            .split
            .iter()
            .map(|d| {
                s.dimensions
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(d))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        groups.entry(key).or_default().push(s);
    }
    if filter.split.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    groups
        .into_iter()
        .map(|(values, group)| {
            let metadatavalues: Vec<Value> = filter
                .split
                .iter()
                .zip(values)
                .map(|(d, v)| {
                    json!({"name": {"value": d.to_lowercase(), "localizedValue": d}, "value": v})
                })
                .collect();
            let mut data = Vec::new();
            let mut t = first;
            while t < end {
                let bucket: Vec<f64> = group
                    .iter()
                    .filter(|s| s.time_ms >= t && s.time_ms < t + interval)
                    .map(|s| s.value)
                    .collect();
                data.push(point(t, &bucket, aggs));
                t += interval;
            }
            json!({"metadatavalues": metadatavalues, "data": data})
        })
        .collect()
}

/// A data point; with no samples it carries only `timeStamp` ("no data", which
/// Azure keeps apart from zero).
fn point(t: u64, values: &[f64], aggs: &[String]) -> Value {
    let mut p = Map::new();
    p.insert("timeStamp".into(), json!(clock::rfc3339_seconds(t)));
    if !values.is_empty() {
        let total: f64 = values.iter().sum();
        for a in aggs {
            let v = match a.as_str() {
                "average" => total / values.len() as f64,
                "minimum" => values.iter().cloned().fold(f64::INFINITY, f64::min),
                "maximum" => values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "total" => total,
                _ => values.len() as f64,
            };
            p.insert(a.clone(), json!(v));
        }
    }
    Value::Object(p)
}

/// `PT1M`, `PT1H`, `P1D`, `PT30S`.
fn iso_duration(ms: u64) -> String {
    if ms.is_multiple_of(86_400_000) {
        format!("P{}D", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("PT{}H", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("PT{}M", ms / 60_000)
    } else {
        format!("PT{}S", ms.div_ceil(1000))
    }
}
