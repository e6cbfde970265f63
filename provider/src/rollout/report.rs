//! What a release did, in words a release engineer reads at a glance.

use crate::platform::{EnvironmentRef, PlatformError};

/// How a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Deployed, gated, switched, watched.
    Released,
    /// Switched to a colour that already ran the version (instant rollback).
    Switched,
    /// Candidate deployed and gated; no traffic moved.
    CandidateReady,
    /// Nothing to do.
    NoChange,
    /// Canary routing changed; no colour was deployed or switched.
    Routed,
    /// Switched back after a post-switch breach.
    RolledBack,
    /// A gate failed; traffic never moved.
    GateFailed,
    /// Something else failed.
    Failed,
}

impl Outcome {
    /// Name stored in `last_deployment.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Released => "released",
            Outcome::Switched => "switched",
            Outcome::CandidateReady => "candidate_ready",
            Outcome::NoChange => "no_change",
            Outcome::Routed => "routed",
            Outcome::RolledBack => "rolled_back",
            Outcome::GateFailed => "gate_failed",
            Outcome::Failed => "failed",
        }
    }
}

/// A release's record.
#[derive(Debug, Clone)]
pub struct ReleaseReport {
    /// Deployment id: environment, version and start time.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: String,
    /// One-paragraph summary.
    pub message: String,
    /// Steps taken, in order.
    pub steps: Vec<String>,
}

impl ReleaseReport {
    /// A report for a release starting now.
    pub fn start(environment: &EnvironmentRef, version: &str) -> Self {
        let now = rfc3339_now();
        Self {
            id: format!("{environment}-{version}-{}", crate::platform::now_ms()),
            outcome: Outcome::Failed,
            started_at: now.clone(),
            finished_at: now,
            message: String::new(),
            steps: Vec::new(),
        }
    }
    /// Records a step (also logged for `TF_LOG=INFO`).
    pub fn step(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::info!(deployment = %self.id, "{text}");
        self.steps.push(text);
    }
    /// Closes the report.
    pub fn finish(&mut self, outcome: Outcome, message: impl Into<String>) {
        self.outcome = outcome;
        self.message = message.into();
        self.finished_at = rfc3339_now();
        tracing::info!(deployment = %self.id, outcome = outcome.as_str(), "{}", self.message);
    }
}

/// Why a release did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A pre-switch check failed; no traffic moved.
    #[error("{check} failed on {color} ({version}): {detail}. No traffic was moved; {live_note}")]
    GateFailed {
        /// Which check (`health check`, `smoke test "orders"`, `readiness`).
        check: String,
        /// The colour checked.
        color: String,
        /// The version checked.
        version: String,
        /// Figures: what was expected and what was seen.
        detail: String,
        /// Which version keeps serving.
        live_note: String,
    },
    /// The post-switch watch saw a breach and traffic went back.
    #[error("post-switch watch: {detail}. Traffic was switched back to {restored_color} ({restored_version}) automatically.")]
    RolledBack {
        /// Measured figures against thresholds.
        detail: String,
        /// Colour serving again.
        restored_color: String,
        /// Version serving again.
        restored_version: String,
    },
    /// A progressive canary step crossed a threshold; the canary is off.
    #[error("canary ramp: {detail}. The canary was set back to 0% and every tenant to {restored_color} ({restored_version}).")]
    CanaryRolledBack {
        /// Measured figures against thresholds.
        detail: String,
        /// Colour serving everything again.
        restored_color: String,
        /// Its version.
        restored_version: String,
    },
    /// The switch was accepted but not served everywhere in time; the routing was put back.
    #[error("the switch to {color} did not reach every front door location: {detail}. The routing was put back to {restored}; nothing else changed, apply again to retry.")]
    NotPropagated {
        /// Colour switched to.
        color: String,
        /// Figures: locations reached, time waited, the timeout.
        detail: String,
        /// What serves again.
        restored: String,
    },
    /// A breach sent traffic back (a post-switch watch, a canary step), and
    /// the front door accepted the rollback but did not serve it everywhere
    /// before the deadline. There is nothing further back to go.
    #[error("{breach}. Traffic was sent back to {restored_color} ({restored_version}) and the front door accepted it, but the rollback is not yet served everywhere: {shortfall}. There is nothing further back to go: the front door keeps spreading the rollback by itself; check that it has before releasing again.")]
    RollbackNotPropagated {
        /// What breached, with its figures ("post-switch watch: error rate …").
        breach: String,
        /// Colour traffic was sent back to.
        restored_color: String,
        /// Its version.
        restored_version: String,
        /// Locations served, time waited.
        shortfall: String,
    },
    /// A routing change that nothing is put back behind (the final canary
    /// route) was accepted but not served everywhere before the deadline.
    #[error("{change} was accepted but is not yet served everywhere: {shortfall}. The front door keeps spreading it by itself.")]
    RouteNotPropagated {
        /// The change, e.g. "the canary route of 1.3.0 on green at 50%".
        change: String,
        /// Locations served, time waited.
        shortfall: String,
    },
    /// The watch saw a breach and `auto_rollback = false`.
    #[error("post-switch watch: {detail}. auto_rollback is false, so {version} stays live: set version back to {previous} to roll back.")]
    Breached {
        /// Figures.
        detail: String,
        /// New live version.
        version: String,
        /// The version to go back to.
        previous: String,
    },
    /// Terraform asked the provider to stop.
    #[error("stopped by Terraform during {0}")]
    Stopped(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl ReleaseError {
    /// The outcome recorded for this failure.
    pub fn outcome(&self) -> Outcome {
        match self {
            ReleaseError::GateFailed { .. } => Outcome::GateFailed,
            ReleaseError::RolledBack { .. }
            | ReleaseError::CanaryRolledBack { .. }
            | ReleaseError::NotPropagated { .. }
            | ReleaseError::RollbackNotPropagated { .. } => Outcome::RolledBack,
            _ => Outcome::Failed,
        }
    }
}

pub use super::clock::rfc3339_now;
