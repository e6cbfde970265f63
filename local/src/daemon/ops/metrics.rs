//! Front door metrics of one colour, as the health gate and watch read them.

use super::super::{Daemon, DaemonError};
use crate::api::{MetricsQuery, MetricsSummary};
use crate::frontdoor::metrics::ChartPoint;
use crate::time::now_ms;

/// Default metrics window when `since` is omitted.
const DEFAULT_METRICS_WINDOW_MS: u64 = 5 * 60 * 1000;

impl Daemon {
    /// Front door metrics of one colour over a window.
    pub fn metrics(&self, name: &str, q: MetricsQuery) -> Result<MetricsSummary, DaemonError> {
        let env = self.env(name)?;
        let until = q.until.unwrap_or_else(now_ms);
        let since = q
            .since
            .unwrap_or_else(|| until.saturating_sub(DEFAULT_METRICS_WINDOW_MS));
        if since > until {
            return Err(DaemonError::Invalid(format!(
                "`since` ({since}) is after `until` ({until})"
            )));
        }
        let stats = env.frontdoor.stats(q.color);
        let mut summary = stats.metrics.summary(q.color, since, until);
        summary.connections = stats.connections();
        Ok(summary)
    }
}

impl Daemon {
    /// Requests and their p95 latency per `width` seconds of one colour over the last
    /// `count` windows (aligned on the clock, the last one open), oldest first: the
    /// page's chart. The front door's ring keeps about 17 minutes.
    pub fn chart_series(
        &self,
        name: &str,
        color: crate::api::Color,
        width: u64,
        count: usize,
    ) -> Result<Vec<ChartPoint>, DaemonError> {
        let env = self.env(name)?;
        let series = env
            .frontdoor
            .stats(color)
            .metrics
            .chart(now_ms(), width, count);
        Ok(series)
    }
}

impl Daemon {
    /// The front door's live counters and metrics of one colour: what the page reads
    /// (`bench-page` fills them, to measure the page with 15 minutes of traffic).
    pub fn color_stats(
        &self,
        name: &str,
        color: crate::api::Color,
    ) -> Result<std::sync::Arc<crate::frontdoor::ColorStats>, DaemonError> {
        Ok(self.env(name)?.frontdoor.stats(color).clone())
    }
}
