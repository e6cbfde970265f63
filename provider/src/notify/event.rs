//! A release's outcomes as alert events: what happened, how bad it is, and
//! the figures an on-call engineer needs to judge it without opening a shell.

use serde::Serialize;

use crate::platform::Metrics;

/// What happened to a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The engine began deploying (or switching to) the version.
    Started,
    /// The front door routes every request to the new colour.
    Switched,
    /// The post-switch watch saw an error rate above the warning threshold.
    Warning,
    /// A breach sent traffic back to the previous colour.
    RolledBack,
    /// The release did not complete (a gate, the platform, a timeout).
    Failed,
    /// The version is live.
    Succeeded,
}

impl EventKind {
    /// Every kind, in the order a release can produce them.
    pub const ALL: [EventKind; 6] = [
        EventKind::Started,
        EventKind::Switched,
        EventKind::Warning,
        EventKind::RolledBack,
        EventKind::Failed,
        EventKind::Succeeded,
    ];

    /// The name used in `events` and in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Switched => "switched",
            EventKind::Warning => "warning",
            EventKind::RolledBack => "rolled_back",
            EventKind::Failed => "failed",
            EventKind::Succeeded => "succeeded",
        }
    }

    /// The kind named `name` in an `events` set.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// How bad it is: the seed's release process pages for a rollback or a
    /// failure, warns on an error rate above 0.5%, and informs otherwise.
    pub fn severity(self) -> Severity {
        match self {
            EventKind::Started | EventKind::Switched | EventKind::Succeeded => Severity::Info,
            EventKind::Warning => Severity::Warning,
            EventKind::RolledBack | EventKind::Failed => Severity::Critical,
        }
    }
}

/// An event's severity; `min_severity` drops what is below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Progress.
    Info,
    /// Needs a look, nothing was undone.
    Warning,
    /// The release was undone or failed.
    Critical,
}

impl Severity {
    /// The name used in `min_severity` and in payloads (also PagerDuty's).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The severity named `name`.
    pub fn parse(name: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The new colour's figures from the post-switch watch, against the
/// previous colour's baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Requests the new colour answered since the switch.
    pub requests: u64,
    /// Of which 5xx.
    pub errors: u64,
    /// errors / requests (0.012 = 1.2%).
    pub error_rate: f64,
    /// The latency statistic the platform reports (`p95` where it can).
    pub latency_statistic: Option<String>,
    /// The new colour's latency in that statistic, ms.
    pub latency_ms: Option<f64>,
    /// The previous colour's latency before the switch, same statistic, ms.
    pub baseline_latency_ms: Option<f64>,
}

impl Figures {
    /// The watch's measurement of the new colour against the baseline.
    pub fn from_metrics(m: &Metrics, baseline: Option<&Metrics>) -> Figures {
        let statistic = m.latency.map(|l| l.statistic);
        Figures {
            requests: m.requests,
            errors: m.errors,
            error_rate: m.error_rate,
            latency_statistic: statistic.map(|s| s.as_str().to_string()),
            latency_ms: m.latency.map(|l| l.ms),
            // Only a like-for-like baseline is worth showing next to it.
            baseline_latency_ms: baseline
                .and_then(|b| b.latency)
                .filter(|b| Some(b.statistic) == statistic)
                .map(|b| b.ms),
        }
    }

    /// "error rate 0.62% (5 of 800 requests), p95 12.0 ms (baseline 10.0 ms)".
    pub fn summary(&self) -> String {
        let latency = match (&self.latency_statistic, self.latency_ms) {
            (Some(s), Some(ms)) => match self.baseline_latency_ms {
                Some(b) => format!(", {s} {ms:.1} ms (baseline {b:.1} ms)"),
                None => format!(", {s} {ms:.1} ms"),
            },
            _ => String::new(),
        };
        format!(
            "error rate {:.2}% ({} of {} requests){latency}",
            self.error_rate * 100.0,
            self.errors,
            self.requests
        )
    }
}

/// One alert: a release's event with everything a receiver shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseEvent {
    /// What happened.
    pub event: EventKind,
    /// How bad it is.
    pub severity: Severity,
    /// The environment's name.
    pub environment: String,
    /// One key per release (environment and version): PagerDuty's
    /// `dedup_key`, so a warning and the rollback that follows are one incident.
    pub release: String,
    /// Version live before the release, if any.
    pub from_version: Option<String>,
    /// Version being released.
    pub to_version: String,
    /// Colour live before the release, if any.
    pub from_color: Option<String>,
    /// Colour the release deploys to.
    pub to_color: Option<String>,
    /// The post-switch watch's figures, once it has some.
    pub figures: Option<Figures>,
    /// One line: what happened.
    pub summary: String,
    /// Why, in the engine's words (the diagnostic's text for a failure).
    pub reason: String,
    /// RFC 3339 time of the event.
    pub timestamp: String,
    /// A `succeeded` whose release gave a warning (an error rate above
    /// `warn_error_rate`, or a watch or ramp that judged nothing): the
    /// incident that warning opened stays open for a person, so PagerDuty
    /// gets no `resolve`. Not part of the webhook's JSON.
    #[serde(skip)]
    pub after_warning: bool,
}

/// The release as far as it is known: the resource knows the environment
/// and the versions, the engine adds the colours, the watch the figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseContext {
    /// Environment name.
    pub environment: String,
    /// Version live before.
    pub from_version: Option<String>,
    /// Version released.
    pub to_version: String,
    /// Colour live before.
    pub from_color: Option<String>,
    /// Colour deployed to.
    pub to_color: Option<String>,
    /// Latest watch figures.
    pub figures: Option<Figures>,
}

/// The dedup key of the release of `version` to `environment`: stable for
/// the release (its warning, rollback and a later success share it).
pub fn release_key(environment: &str, version: &str) -> String {
    format!("bluegreen/{environment}/{version}")
}

impl ReleaseContext {
    /// The event `kind` of this release, with `reason`, now.
    pub fn event(&self, kind: EventKind, reason: &str) -> ReleaseEvent {
        self.event_at(kind, reason, crate::rollout::report::rfc3339_now())
    }

    /// [`ReleaseContext::event`] at a given time (tests).
    pub fn event_at(&self, kind: EventKind, reason: &str, timestamp: String) -> ReleaseEvent {
        ReleaseEvent {
            event: kind,
            severity: kind.severity(),
            environment: self.environment.clone(),
            release: release_key(&self.environment, &self.to_version),
            from_version: self.from_version.clone(),
            to_version: self.to_version.clone(),
            from_color: self.from_color.clone(),
            to_color: self.to_color.clone(),
            figures: self.figures.clone(),
            summary: self.summary(kind),
            reason: reason.to_string(),
            timestamp,
            after_warning: false,
        }
    }

    fn summary(&self, kind: EventKind) -> String {
        let (env, to) = (&self.environment, &self.to_version);
        let on = |c: &Option<String>| c.as_ref().map_or(String::new(), |c| format!(" on {c}"));
        let from = match &self.from_version {
            Some(v) => format!("{v}{}", on(&self.from_color)),
            None => "nothing".into(),
        };
        match kind {
            EventKind::Started => format!("{env}: release of {to} started ({from} live)"),
            EventKind::Switched => format!("{env}: traffic switched to {to}{}", on(&self.to_color)),
            EventKind::Warning => format!(
                "{env}: {to} is live with {}",
                self.figures
                    .as_ref()
                    .map_or("an elevated error rate".into(), Figures::summary)
            ),
            EventKind::RolledBack => {
                format!("{env}: release of {to} rolled back, {from} serves again")
            }
            EventKind::Failed => format!("{env}: release of {to} failed, {from} keeps serving"),
            EventKind::Succeeded => format!("{env}: {to} is live{}", on(&self.to_color)),
        }
    }
}
