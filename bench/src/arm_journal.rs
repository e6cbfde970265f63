//! The Azure emulator's request journal, counted the way ARM's limits count:
//! reads (GET), writes (PUT, PATCH, DELETE, POST) and token requests (AAD,
//! which ARM's subscription limits do not count), with the reads split into
//! what they were for.

use serde_json::Value as Json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// ARM's read limit per subscription and hour, as a rate per minute.
pub const ARM_READS_PER_MINUTE: f64 = 12_000.0 / 60.0;

/// What one journal entry was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A token request to the AAD endpoint (client credentials).
    Token,
    /// A GET of an operation's status (LRO polling).
    OperationPoll,
    /// A GET of Azure Monitor metrics.
    Metrics,
    /// Any other GET: a resource or a list.
    ResourceRead,
    /// PUT, PATCH, DELETE or a POST other than a token.
    Write,
}

impl Kind {
    /// Whether ARM counts it against the subscription's read limit.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Kind::OperationPoll | Kind::Metrics | Kind::ResourceRead
        )
    }
}

/// Classifies one entry (`method`, `path`).
pub fn kind(entry: &Json) -> Kind {
    let method = entry["method"].as_str().unwrap_or_default();
    let path = entry["path"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if path.contains("/oauth2/") || path.contains("/msi/token") || path.contains("/identity/oauth2")
    {
        return Kind::Token;
    }
    match method {
        "GET" if path.contains("operationresults") || path.contains("operationstatuses") => {
            Kind::OperationPoll
        }
        "GET" if path.ends_with("/providers/microsoft.insights/metrics") => Kind::Metrics,
        "GET" | "HEAD" => Kind::ResourceRead,
        _ => Kind::Write,
    }
}

/// Requests of one release, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Token requests.
    pub tokens: usize,
    /// Reads of resources and lists.
    pub resource_reads: usize,
    /// Reads of operation statuses.
    pub operation_polls: usize,
    /// Reads of metrics.
    pub metrics: usize,
    /// Writes.
    pub writes: usize,
}

impl Counts {
    /// Counts a journal.
    pub fn of(journal: &[Json]) -> Counts {
        let mut c = Counts::default();
        for e in journal {
            match kind(e) {
                Kind::Token => c.tokens += 1,
                Kind::OperationPoll => c.operation_polls += 1,
                Kind::Metrics => c.metrics += 1,
                Kind::ResourceRead => c.resource_reads += 1,
                Kind::Write => c.writes += 1,
            }
        }
        c
    }

    /// Every read ARM counts.
    pub fn reads(&self) -> usize {
        self.resource_reads + self.operation_polls + self.metrics
    }

    /// Every ARM request (reads and writes; tokens go to AAD, not ARM).
    pub fn arm(&self) -> usize {
        self.reads() + self.writes
    }
}

/// The writes of a journal as `METHOD path`, in order.
pub fn writes(journal: &[Json]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| kind(e) == Kind::Write)
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap_or_default(),
                e["path"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// An entry's emulated time, seconds since the epoch.
pub fn time_of(entry: &Json) -> Option<f64> {
    let t = OffsetDateTime::parse(entry["time"].as_str()?, &Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Reads in a span of the journal and how long it lasted in emulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadRate {
    /// Reads ARM counts in the span.
    pub reads: usize,
    /// Emulated seconds from the span's first request to its last.
    pub emulated_s: f64,
}

impl ReadRate {
    /// Reads per emulated minute.
    pub fn per_emulated_minute(&self) -> f64 {
        if self.emulated_s > 0.0 {
            self.reads as f64 * 60.0 / self.emulated_s
        } else {
            0.0
        }
    }

    /// Reads per wall-clock minute, the emulated clock running `scale` times real time.
    pub fn per_wall_minute(&self, scale: f64) -> f64 {
        self.per_emulated_minute() * scale
    }
}

/// The reads of the entries after the first one for which `start` holds
/// (a route PATCH: the wait for propagation and the watch that follow it),
/// up to the end of the journal.
pub fn reads_after(journal: &[Json], start: impl Fn(&Json) -> bool) -> Option<ReadRate> {
    let from = journal.iter().position(start)?;
    let span = &journal[from..];
    let first = time_of(span.first()?)?;
    let last = time_of(span.last()?)?;
    Some(ReadRate {
        reads: span.iter().skip(1).filter(|e| kind(e).is_read()).count(),
        emulated_s: last - first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(method: &str, path: &str, time: &str) -> Json {
        json!({"method": method, "path": path, "time": time})
    }

    #[test]
    fn kinds_follow_arm_counting() {
        let sub = "/subscriptions/s/resourceGroups/rg/providers";
        let j = [
            entry("POST", "/tenant/oauth2/v2.0/token", "2026-01-01T00:00:00Z"),
            entry("GET", &format!("{sub}/Microsoft.App/containerApps/orders"), "2026-01-01T00:00:01Z"),
            entry("PATCH", &format!("{sub}/Microsoft.Cdn/profiles/p/afdEndpoints/e/routes/r"), "2026-01-01T00:00:02Z"),
            entry("GET", &format!("{sub}/Microsoft.Cdn/locations/global/operationresults/x"), "2026-01-01T00:00:03Z"),
            entry("GET", &format!("{sub}/Microsoft.App/locations/eastus/containerappOperationStatuses/y"), "2026-01-01T00:00:04Z"),
            entry("GET", &format!("{sub}/Microsoft.Cdn/profiles/p/providers/Microsoft.Insights/metrics"), "2026-01-01T00:00:05Z"),
            entry("PATCH", &format!("{sub}/Microsoft.App/containerApps/orders/providers/Microsoft.Resources/tags/default"), "2026-01-01T00:00:31Z"),
        ];
        let c = Counts::of(&j);
        assert_eq!(
            c,
            Counts {
                tokens: 1,
                resource_reads: 1,
                operation_polls: 2,
                metrics: 1,
                writes: 2
            }
        );
        assert_eq!((c.reads(), c.arm()), (4, 6));
        assert_eq!(writes(&j).len(), 2);

        // After the route PATCH: 3 reads in 29 emulated seconds.
        let rate = reads_after(&j, |e| e["method"] == "PATCH").expect("a PATCH");
        assert_eq!(rate.reads, 3);
        assert!((rate.emulated_s - 29.0).abs() < 1e-6, "{rate:?}");
        assert!((rate.per_emulated_minute() - 3.0 * 60.0 / 29.0).abs() < 1e-6);
        assert!((rate.per_wall_minute(60.0) - 3.0 * 3600.0 / 29.0).abs() < 1e-6);
        assert!(reads_after(&j, |e| e["method"] == "DELETE").is_none());
    }
}
