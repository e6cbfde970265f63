//! Azure Monitor metrics queries (`Microsoft.Insights/metrics`, 2024-02-01)
//! and the sums a gate needs, keeping "no data yet" (ingestion delay, no
//! traffic) apart from a real zero: a bucket without samples carries only its
//! timestamp, and a sum over such buckets is `None`, not `0`.

use tokio_util::sync::CancellationToken;

use azure_core::time::{to_rfc3339, OffsetDateTime};

use super::client::ArmClient;
use super::error::AzureError;
use super::models::{Metric, MetricValue, MetricsResponse, INSIGHTS_API_VERSION};
use super::resource_id::ResourceId;

/// An aggregation Azure Monitor computes per bucket. There is no percentile:
/// latency metrics offer Average, Minimum and Maximum only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// Mean of the samples.
    Average,
    /// Smallest sample.
    Minimum,
    /// Largest sample.
    Maximum,
    /// Sum of the samples.
    Total,
    /// Number of samples.
    Count,
}

impl Aggregation {
    /// The name the API takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Average => "Average",
            Aggregation::Minimum => "Minimum",
            Aggregation::Maximum => "Maximum",
            Aggregation::Total => "Total",
            Aggregation::Count => "Count",
        }
    }

    /// This aggregation's value in a bucket (`None`: the bucket has no data).
    pub fn of(self, bucket: &MetricValue) -> Option<f64> {
        match self {
            Aggregation::Average => bucket.average,
            Aggregation::Minimum => bucket.minimum,
            Aggregation::Maximum => bucket.maximum,
            Aggregation::Total => bucket.total,
            Aggregation::Count => bucket.count,
        }
    }
}

/// What to ask for: metrics, window, grain, aggregations and a dimension filter.
#[derive(Debug, Clone)]
pub struct MetricsQuery {
    /// Metric names, e.g. `RequestCount`, `Percentage5XX`.
    pub metric_names: Vec<String>,
    /// Window start.
    pub start: OffsetDateTime,
    /// Window end.
    pub end: OffsetDateTime,
    /// Bucket size, ISO 8601 (`PT1M`), or `FULL` for one bucket.
    pub interval: String,
    /// Aggregations to compute.
    pub aggregations: Vec<Aggregation>,
    /// `$filter`, e.g. `HttpStatusGroup eq '*'` (split) or `Origin eq 'host'`.
    pub filter: Option<String>,
}

impl ArmClient {
    /// Queries Azure Monitor for `resource` (a Front Door profile or a Container App).
    pub async fn metrics(
        &self,
        resource: &ResourceId,
        query: &MetricsQuery,
        stop: &CancellationToken,
    ) -> Result<MetricsResponse, AzureError> {
        let names = query.metric_names.join(",");
        let timespan = format!("{}/{}", to_rfc3339(&query.start), to_rfc3339(&query.end));
        let aggregations = query
            .aggregations
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut params: Vec<(&str, &str)> = vec![
            ("metricnames", names.as_str()),
            ("timespan", timespan.as_str()),
            ("interval", query.interval.as_str()),
        ];
        if !aggregations.is_empty() {
            params.push(("aggregation", aggregations.as_str()));
        }
        if let Some(filter) = &query.filter {
            params.push(("$filter", filter.as_str()));
        }
        let path = format!("{resource}/providers/Microsoft.Insights/metrics");
        self.get_path(&path, INSIGHTS_API_VERSION, &params, stop)
            .await
    }
}

impl Metric {
    /// Sum of `aggregation` over every bucket of every series that has it;
    /// `None` when no bucket has data ("no data yet", not zero).
    pub fn sum(&self, aggregation: Aggregation) -> Option<f64> {
        self.sum_where(aggregation, |_| true)
    }

    /// Like [`Metric::sum`], over the series whose dimension `name` is `value`
    /// (case-insensitive, as Monitor compares dimension values).
    pub fn sum_for(&self, aggregation: Aggregation, name: &str, value: &str) -> Option<f64> {
        self.sum_where(aggregation, |s| {
            s.dimension(name)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
    }

    fn sum_where(
        &self,
        aggregation: Aggregation,
        keep: impl Fn(&super::models::TimeSeries) -> bool,
    ) -> Option<f64> {
        self.timeseries
            .iter()
            .filter(|s| keep(s))
            .flat_map(|s| s.data.iter())
            .filter_map(|b| aggregation.of(b))
            .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sums_keep_no_data_apart_from_zero() {
        let metric: Metric = serde_json::from_value(json!({
            "name": {"value": "RequestCount"},
            "timeseries": [
                {"metadatavalues": [{"name": {"value": "httpstatusgroup"}, "value": "2xx"}],
                 "data": [{"timeStamp": "t0", "total": 40.0}, {"timeStamp": "t1"}, {"timeStamp": "t2", "total": 2.0}]},
                {"metadatavalues": [{"name": {"value": "httpstatusgroup"}, "value": "5xx"}],
                 "data": [{"timeStamp": "t0", "total": 0.0}]},
                {"metadatavalues": [{"name": {"value": "httpstatusgroup"}, "value": "4xx"}],
                 "data": [{"timeStamp": "t0"}]}
            ]
        }))
        .expect("metric");
        assert_eq!(metric.sum(Aggregation::Total), Some(42.0));
        assert_eq!(
            metric.sum_for(Aggregation::Total, "HttpStatusGroup", "5XX"),
            Some(0.0)
        );
        assert_eq!(
            metric.sum_for(Aggregation::Total, "HttpStatusGroup", "4xx"),
            None
        );
        assert_eq!(metric.sum(Aggregation::Average), None);
    }
}
