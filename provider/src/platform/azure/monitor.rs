//! A colour's figures from Azure Monitor: the Container App's `Requests`
//! (Total, split by `statusCodeCategory`) and `ResponseTime` (Average: Azure
//! has no percentile) filtered on the revision the colour's label leads to,
//! in one-minute buckets over the window. Buckets without samples are "no
//! data" (the ingestion delay, or no traffic yet), answered as `None`.

use azure_core::time::OffsetDateTime;

use super::metrics::{Aggregation, MetricsQuery};
use super::models::MetricsResponse;
use crate::platform::{Latency, LatencyStatistic, Metrics};

/// The query for revision `revision` between two unix-ms instants.
pub fn query(revision: &str, since_ms: u64, until_ms: u64) -> MetricsQuery {
    let at = |ms: u64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let until_ms = until_ms.max(since_ms + 1);
    MetricsQuery {
        metric_names: vec!["Requests".into(), "ResponseTime".into()],
        start: at(since_ms),
        end: at(until_ms),
        interval: "PT1M".into(),
        aggregations: vec![Aggregation::Total, Aggregation::Average, Aggregation::Count],
        filter: Some(format!(
            "revisionName eq '{}' and statusCodeCategory eq '*'",
            revision.replace('\'', "''")
        )),
    }
}

/// The figures of an answer; `None` while no bucket has requests data.
pub fn figures(answer: &MetricsResponse) -> Option<Metrics> {
    let requests = answer.metric("Requests")?;
    let total = requests.sum(Aggregation::Total)?;
    let errors = requests
        .sum_for(Aggregation::Total, "statusCodeCategory", "5xx")
        .unwrap_or(0.0);
    // Mean over buckets weighted by their sample counts.
    let latency = answer.metric("ResponseTime").and_then(|m| {
        let (sum, count) = m
            .timeseries
            .iter()
            .flat_map(|s| s.data.iter())
            .filter_map(|b| Some((b.average?, b.count.unwrap_or(1.0))))
            .fold((0.0, 0.0), |(s, c), (avg, n)| (s + avg * n, c + n));
        (count > 0.0).then(|| Latency {
            ms: sum / count,
            statistic: LatencyStatistic::Average,
        })
    });
    let requests = total.round() as u64;
    let errors = errors.round() as u64;
    Some(Metrics {
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figures_keep_no_data_apart_and_weight_the_latency() {
        let no_data: MetricsResponse = serde_json::from_value(json!({"value": [
            {"name": {"value": "Requests"}, "timeseries": [{"data": [{"timeStamp": "t0"}]}]},
            {"name": {"value": "ResponseTime"}, "timeseries": [{"data": [{"timeStamp": "t0"}]}]}
        ]}))
        .expect("answer");
        assert_eq!(figures(&no_data), None);
        let answer: MetricsResponse = serde_json::from_value(json!({"value": [
            {"name": {"value": "Requests"}, "timeseries": [
                {"metadatavalues": [{"name": {"value": "statusCodeCategory"}, "value": "2xx"}],
                 "data": [{"timeStamp": "t0", "total": 30.0}]},
                {"metadatavalues": [{"name": {"value": "statusCodeCategory"}, "value": "5xx"}],
                 "data": [{"timeStamp": "t0", "total": 10.0}]}]},
            {"name": {"value": "ResponseTime"}, "timeseries": [
                {"data": [{"timeStamp": "t0", "average": 10.0, "count": 30.0}]},
                {"data": [{"timeStamp": "t0", "average": 50.0, "count": 10.0}]}]}
        ]}))
        .expect("answer");
        let m = figures(&answer).expect("figures");
        assert_eq!((m.requests, m.errors), (40, 10));
        assert!((m.error_rate - 0.25).abs() < 1e-9);
        let latency = m.latency.expect("latency");
        assert!((latency.ms - 20.0).abs() < 1e-9, "{latency:?}");
        assert_eq!(latency.statistic, LatencyStatistic::Average);
        let q = query("orders--1-blue-abc", 60_000, 120_000);
        assert_eq!(
            q.filter.as_deref(),
            Some("revisionName eq 'orders--1-blue-abc' and statusCodeCategory eq '*'")
        );
    }
}
