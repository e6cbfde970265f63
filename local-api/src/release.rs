//! Release progress: what the provider's engine reports while a release runs, and the
//! record the daemon keeps of the last releases of each environment.
//!
//! `POST /v1/environments/{env}/releases` takes one [`ReleaseEvent`];
//! `GET /v1/environments/{env}/releases` answers a [`ReleaseList`], newest first.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::Color;

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleasePhase {
    /// The new version is starting on the idle colour.
    Deploying,
    /// The health gate, the WebSocket check and the smoke tests run on the idle colour.
    Validating,
    /// The front door's routing moves to the new colour.
    Switching,
    /// The post-switch watch reads the new colour's figures.
    Watching,
    /// Finished: the version is live (or the candidate is ready).
    Done,
    /// Traffic went back to the previous colour after a breach.
    RolledBack,
    /// Stopped before the end; `reason` says why and what serves.
    Failed,
}

impl ReleasePhase {
    /// Name in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleasePhase::Deploying => "deploying",
            ReleasePhase::Validating => "validating",
            ReleasePhase::Switching => "switching",
            ReleasePhase::Watching => "watching",
            ReleasePhase::Done => "done",
            ReleasePhase::RolledBack => "rolled_back",
            ReleasePhase::Failed => "failed",
        }
    }

    /// Whether the release is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReleasePhase::Done | ReleasePhase::RolledBack | ReleasePhase::Failed
        )
    }
}

impl fmt::Display for ReleasePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the post-switch watch read at one poll: the new colour since the switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchFigures {
    /// Time watched so far, ms.
    pub elapsed_ms: u64,
    /// The watch window, ms.
    pub window_ms: u64,
    /// Requests the new colour served since the switch.
    pub requests: u64,
    /// Of which 5xx.
    pub errors: u64,
    /// `errors / requests`.
    pub error_rate: f64,
    /// The rollback threshold (`max_error_rate`).
    pub max_error_rate: f64,
    /// The warning threshold (`warn_error_rate`); null from a provider that
    /// predates it, which readers take as the seed's 0.5%.
    #[serde(default)]
    pub warn_error_rate: Option<f64>,
    /// Latency, ms, in `latency_statistic`; null without requests.
    #[serde(default)]
    pub latency_ms: Option<f64>,
    /// `p95` or `average`.
    #[serde(default)]
    pub latency_statistic: Option<String>,
}

impl WatchFigures {
    /// The release's own error-rate thresholds; the seed's warning at 0.5% when
    /// the provider that sent them predates `warn_error_rate`.
    pub fn thresholds(&self) -> ErrorThresholds {
        ErrorThresholds {
            warn: self.warn_error_rate.unwrap_or(ErrorThresholds::SEED.warn),
            critical: self.max_error_rate,
        }
    }
}

/// Error rates that are worth a look (`warn`) and that roll a release back
/// (`critical`), as fractions (0.01 = 1%).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorThresholds {
    /// Above this a release warns (`post_switch.warn_error_rate`).
    pub warn: f64,
    /// Above this a release rolls back (`post_switch.max_error_rate`).
    pub critical: f64,
}

/// How an error rate stands against [`ErrorThresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLevel {
    /// At or below the warning threshold.
    Ok,
    /// Above the warning threshold, at or below the critical one.
    Warn,
    /// Above the critical threshold.
    Critical,
}

impl ErrorThresholds {
    /// The seed's release process: above 0.5% warns, above 1% rolls back. Used
    /// where no release reported its own.
    pub const SEED: ErrorThresholds = ErrorThresholds {
        warn: 0.005,
        critical: 0.01,
    };

    /// Where `rate` stands.
    pub fn level(&self, rate: f64) -> RateLevel {
        if rate > self.critical {
            RateLevel::Critical
        } else if rate > self.warn {
            RateLevel::Warn
        } else {
            RateLevel::Ok
        }
    }
}

impl Default for ErrorThresholds {
    fn default() -> Self {
        Self::SEED
    }
}

/// Body of `POST /v1/environments/{env}/releases`: one step of a release. Fields left
/// null keep what the record has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseEvent {
    /// Release id, one per attempt (the provider's deployment id): events with the
    /// same id belong to one release.
    pub release_id: String,
    /// Version being released.
    pub version: String,
    /// Phase the release is in now.
    pub phase: ReleasePhase,
    /// Colour being deployed and switched to.
    #[serde(default)]
    pub color: Option<Color>,
    /// Colour live when the release began.
    #[serde(default)]
    pub previous_color: Option<Color>,
    /// Version live when the release began.
    #[serde(default)]
    pub previous_version: Option<String>,
    /// A step in words ("smoke test \"orders\" passed: 200 in 12 ms").
    #[serde(default)]
    pub step: Option<String>,
    /// The watch's figures at this poll.
    #[serde(default)]
    pub figures: Option<WatchFigures>,
    /// How it ended, for a final phase: the outcome message or the error.
    #[serde(default)]
    pub reason: Option<String>,
    /// Who runs it, e.g. `terraform`.
    #[serde(default)]
    pub actor: Option<String>,
}

/// A phase a release entered, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseMark {
    /// The phase.
    pub phase: ReleasePhase,
    /// When it began (RFC 3339).
    pub at: String,
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseStep {
    /// When (RFC 3339).
    pub time: String,
    /// Phase it belongs to.
    pub phase: ReleasePhase,
    /// What happened.
    pub text: String,
}

/// The daemon's record of one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Release id.
    pub id: String,
    /// Version released.
    pub version: String,
    /// Who runs it.
    #[serde(default)]
    pub actor: Option<String>,
    /// Colour deployed and switched to.
    pub color: Option<Color>,
    /// Colour live when it began.
    pub previous_color: Option<Color>,
    /// Version live when it began.
    pub previous_version: Option<String>,
    /// Current (or final) phase.
    pub phase: ReleasePhase,
    /// Phases in the order entered (bounded).
    pub phases: Vec<PhaseMark>,
    /// First event (RFC 3339).
    pub started_at: String,
    /// Last event (RFC 3339).
    pub updated_at: String,
    /// When it reached a final phase.
    pub finished_at: Option<String>,
    /// How it ended.
    pub reason: Option<String>,
    /// The watch's last figures.
    pub figures: Option<WatchFigures>,
    /// The last steps, oldest first (bounded).
    pub steps: Vec<ReleaseStep>,
    /// Older steps dropped to keep the bound.
    pub steps_dropped: u64,
}

/// `GET /v1/environments/{env}/releases` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseList {
    /// The last releases, newest first.
    pub releases: Vec<Release>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_from_a_provider_without_warn_error_rate_use_the_seeds_warning() {
        let older = r#"{"elapsed_ms":1000,"window_ms":60000,"requests":1000,"errors":7,"error_rate":0.007,"max_error_rate":0.02}"#;
        let f: WatchFigures = serde_json::from_str(older).expect("an older provider's figures");
        assert_eq!(f.warn_error_rate, None);
        assert_eq!(
            f.thresholds(),
            ErrorThresholds {
                warn: 0.005,
                critical: 0.02
            }
        );
        let newer = WatchFigures {
            warn_error_rate: Some(0.008),
            ..f
        };
        assert_eq!(newer.thresholds().level(0.007), RateLevel::Ok);
        assert_eq!(newer.thresholds().level(0.009), RateLevel::Warn);
        assert_eq!(newer.thresholds().level(0.021), RateLevel::Critical);
    }
}
