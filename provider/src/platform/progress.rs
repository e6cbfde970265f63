//! A release's progress as the engine reports it to the platform while it runs
//! ([`super::Platform::report_progress`]): the phase, each step in words, the
//! watch's figures, and how it ended.

use std::time::Duration;

use super::{Color, Metrics};

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleasePhase {
    /// The new version is starting on the idle colour.
    Deploying,
    /// Health gate, WebSocket check and smoke tests on the idle colour.
    Validating,
    /// The routing moves to the new colour.
    Switching,
    /// The post-switch watch reads the new colour's figures.
    Watching,
    /// The version is live (or the candidate is ready).
    Done,
    /// Traffic went back to the previous colour.
    RolledBack,
    /// Stopped before the end.
    Failed,
}

/// What the post-switch watch read at one poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchFigures {
    /// Time watched so far.
    pub elapsed: Duration,
    /// The watch window.
    pub window: Duration,
    /// The new colour since the switch.
    pub metrics: Metrics,
    /// The rollback threshold.
    pub max_error_rate: f64,
    /// The warning threshold.
    pub warn_error_rate: f64,
}

/// One report: the release it belongs to and what just happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseEvent {
    /// One per attempt: the deployment id Terraform records.
    pub release_id: String,
    /// The version being released.
    pub version: String,
    /// The phase now.
    pub phase: ReleasePhase,
    /// The colour deployed and switched to.
    pub color: Option<Color>,
    /// The colour live when the release began.
    pub previous_color: Option<Color>,
    /// Its version.
    pub previous_version: Option<String>,
    /// A step in words.
    pub step: Option<String>,
    /// The watch's figures at this poll.
    pub figures: Option<WatchFigures>,
    /// How it ended, in a final phase: the outcome message or the error.
    pub reason: Option<String>,
}
