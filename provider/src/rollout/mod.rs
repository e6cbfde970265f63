//! The release engine: deploy → ready → health gate → smoke tests → atomic
//! switch → post-switch watch → rollback. Written once against
//! [`crate::platform::Platform`]; a failed gate never moves traffic.

pub mod attempt;
pub mod canary;
pub mod clock;
pub mod deploy;
pub mod drain;
pub mod gate;
pub mod progress;
pub mod propagation;
pub mod report;
pub mod smoke;
pub mod switch;
pub mod unjudged;
pub mod unjudged_steps;
pub mod warn;
pub mod watch;
pub mod websocket_check;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::http::Http;
use crate::platform::{
    Color, ColorPhase, ColorState, EnvironmentRef, EnvironmentState, Lease, Platform, PlatformError,
};
use attempt::Attempt;
use progress::Progress;
pub use report::{Outcome, ReleaseError, ReleaseReport};

/// The pre-switch health gate.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    /// Path on the colour's own address.
    pub path: String,
    /// Status a healthy colour answers.
    pub expect_status: u16,
    /// Require the JSON `version` field to equal the release version.
    pub expect_version: bool,
    /// Time between probes.
    pub interval: Duration,
    /// Time one probe may take.
    pub timeout: Duration,
    /// Consecutive healthy answers needed.
    pub healthy_threshold: u32,
    /// Time the colour has to become healthy.
    pub deadline: Duration,
    /// A WebSocket the colour must accept once it is healthy.
    pub websocket: Option<WebSocketCheck>,
}

/// The gate's `websocket_check`: a handshake on the colour's own address,
/// optionally with a first message that must arrive.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketCheck {
    /// Path of the WebSocket endpoint.
    pub path: String,
    /// Text sent once the handshake succeeded (e.g. `version`).
    pub send: Option<String>,
    /// Text the first message from the colour must contain; `{version}` is
    /// the release version.
    pub expect_message: Option<String>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            path: "/api/health".into(),
            expect_status: 200,
            expect_version: true,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            healthy_threshold: 2,
            deadline: Duration::from_secs(120),
            websocket: None,
        }
    }
}

/// One smoke test against the idle colour before the switch.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeTest {
    /// Name shown in diagnostics.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Expected status.
    pub expect_status: u16,
    /// Text the body must contain.
    pub body_contains: Option<String>,
}

/// The watch after the switch.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSwitch {
    /// How long to watch.
    pub window: Duration,
    /// Highest tolerated 5xx rate (0.01 = 1%).
    pub max_error_rate: f64,
    /// 5xx rate above which the watch warns (alert and diagnostic, no rollback).
    pub warn_error_rate: f64,
    /// Highest tolerated p95 increase over the previous colour (0.5 = 50%).
    pub max_p95_increase: f64,
    /// Requests needed before the thresholds are judged.
    pub min_requests: u64,
    /// Switch back by itself on a breach.
    pub auto_rollback: bool,
}

impl Default for PostSwitch {
    fn default() -> Self {
        // The seed's rollback triggers: error rate above 1%, response time 50% worse;
        // and its warning: error rate above 0.5%.
        Self {
            window: Duration::from_secs(60),
            max_error_rate: 0.01,
            warn_error_rate: 0.005,
            max_p95_increase: 0.5,
            min_requests: 20,
            auto_rollback: true,
        }
    }
}

/// Everything one release needs.
#[derive(Debug, Clone)]
pub struct ReleaseSpec {
    /// The environment and its platform handle.
    pub environment: EnvironmentRef,
    /// Version that must end up live.
    pub version: String,
    /// Health gate.
    pub health: HealthCheck,
    /// Smoke tests.
    pub smoke: Vec<SmokeTest>,
    /// Post-switch watch.
    pub post_switch: PostSwitch,
    /// Keep the previous colour running for instant rollback.
    pub keep_previous: bool,
    /// This apply changed the target definition (command, env): a colour
    /// started from the older one is redeployed rather than reused.
    pub definition_changed: bool,
}

impl ReleaseSpec {
    /// Whether `color` already runs `version` as this release wants it, so
    /// that using it needs no redeploy. A colour kept from an older definition
    /// stays reusable (instant rollback) unless this apply changed the
    /// definition: then the change may be what fixes the release.
    pub fn reusable(&self, color: &ColorState) -> bool {
        color.version.as_deref() == Some(self.version.as_str())
            && color.phase == ColorPhase::Running
            && !(self.definition_changed && color.outdated)
    }
}

/// The engine with its collaborators.
pub struct Engine<'a> {
    /// Where environments run.
    pub platform: &'a dyn Platform,
    /// HTTP client for gates.
    pub http: Http,
    /// Cancelled when the caller (Terraform's Stop) wants the release to
    /// stop: every wait returns promptly with [`ReleaseError::Stopped`].
    pub stop: CancellationToken,
    /// The environment lock held for this release.
    pub lease: &'a Lease,
    /// When the waits for a routing change to propagate must give up, so
    /// that what follows still fits in the resource's timeout: see
    /// [`propagation::deadline_within`]. Cloud front doors take minutes to
    /// spread a change everywhere, so these waits use what the timeout leaves.
    pub deadline: Instant,
}

impl Engine<'_> {
    async fn status(&self, environment: &EnvironmentRef) -> Result<EnvironmentState, ReleaseError> {
        self.platform.status(environment).await?.ok_or_else(|| {
            ReleaseError::Platform(PlatformError::Api(format!(
                "environment \"{environment}\" does not exist on the platform"
            )))
        })
    }

    /// Makes `spec.version` live, or fails leaving the live colour serving.
    /// Its progress is reported to the platform as it goes, and how it ended.
    pub async fn release(&self, spec: &ReleaseSpec) -> Result<ReleaseReport, ReleaseError> {
        let progress = Progress::default();
        let result = self.release_reported(spec, &progress).await;
        progress.conclude(self, &spec.environment, &result).await;
        result
    }

    async fn release_reported(
        &self,
        spec: &ReleaseSpec,
        progress: &Progress,
    ) -> Result<ReleaseReport, ReleaseError> {
        let state = self.status(&spec.environment).await?;
        let live = state.live_color();
        if let Some(live) = live {
            let live_state = state.color(live);
            if live_state.version.as_deref() == Some(spec.version.as_str())
                && live_state.phase == ColorPhase::Running
            {
                // The live colour is only ever replaced through a release.
                let note = if live_state.outdated {
                    "; a changed command or env applies from the next release"
                } else {
                    ""
                };
                let mut report = ReleaseReport::start(&spec.environment, &spec.version);
                report.finish(
                    Outcome::NoChange,
                    format!("{} is already live on {live}{note}", spec.version),
                );
                return Ok(report);
            }
        }
        let target = live.map_or(Color::Blue, Color::other);
        let instant = live.is_some() && spec.reusable(&state.color(target));
        let mut attempt = Attempt::begin(self, &spec.environment, state, target, &spec.version)
            .reporting(progress);
        crate::notify::sink::started(
            live.map(|c| c.to_string()),
            live.and_then(|c| attempt.version_on(c)),
            target.to_string(),
        );

        if instant {
            // Instant rollback (or roll-forward): the idle colour already runs
            // the version. One healthy answer is enough; nothing restarts.
            attempt
                .step(format!(
                    "{target} already runs {}: switching without a redeploy",
                    spec.version
                ))
                .await;
            let quick = HealthCheck {
                healthy_threshold: 1,
                ..spec.health.clone()
            };
            gate::health_gate(&mut attempt, &quick).await?;
        } else {
            deploy::deploy_and_wait(&mut attempt, &spec.health).await?;
            gate::health_gate(&mut attempt, &spec.health).await?;
            smoke::run_smoke_tests(&mut attempt, &spec.smoke).await?;
        }

        // The watch follows a deploy's switch: its window is kept out of the
        // time the switch may take to propagate.
        let watched = live.is_some() && !instant;
        let keep = if watched {
            spec.post_switch.window
        } else {
            Duration::ZERO
        };
        let switched = switch::switch_to(&mut attempt, keep).await?;
        let mut unjudged = None;
        if let Some(previous) = live {
            if watched {
                unjudged =
                    watch::watch_after_switch(&mut attempt, &spec.post_switch, previous, &switched)
                        .await?;
            }
            if !spec.keep_previous {
                self.platform
                    .stop(&spec.environment, previous, self.lease)
                    .await?;
                attempt
                    .step(format!("stopped {previous} (keep_previous = false)"))
                    .await;
            }
        }
        let drained = match live {
            Some(previous) => self.drain_summary(&attempt, previous).await,
            None => None,
        };
        if let Some(text) = &drained {
            attempt.step(text.clone()).await;
        }
        let outcome = if instant {
            Outcome::Switched
        } else {
            Outcome::Released
        };
        let message = match live {
            Some(previous) => format!(
                "{} is live on {target}; {previous} {}",
                spec.version,
                if spec.keep_previous {
                    "kept running for instant rollback"
                } else {
                    "stopped"
                }
            ),
            None => format!("{} is live on {target}", spec.version),
        };
        let message = match drained {
            Some(text) => format!("{message}; {text}"),
            None => message,
        };
        // The outcome is what the page, `status` and last_deployment show last.
        let message = match unjudged {
            Some(u) => format!("{message}; {}", u.note()),
            None => message,
        };
        attempt.report.finish(outcome, message);
        Ok(attempt.report)
    }

    /// How the connections of `previous` (live when the attempt began) ended since the
    /// switch, where the platform counts them. Read once more at the end of the release
    /// (after the watch, so a short drain is over); a failed read only loses the note.
    async fn drain_summary(&self, attempt: &Attempt<'_>, previous: Color) -> Option<String> {
        let before = attempt.snapshot.color(previous);
        before.connections?;
        let now = match self.platform.status(attempt.environment).await {
            Ok(Some(state)) => state.color(previous).connections,
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("reading {previous}'s connections for the report: {e}");
                None
            }
        };
        drain::summary(previous, before.version.as_deref(), before.connections, now)
    }

    /// Deploys and gates `version` on the idle colour without switching
    /// (canary/preview), reporting its progress like a release.
    pub async fn prepare_candidate(
        &self,
        spec: &ReleaseSpec,
    ) -> Result<ReleaseReport, ReleaseError> {
        let progress = Progress::default();
        let result = self.prepare_candidate_reported(spec, &progress).await;
        progress.conclude(self, &spec.environment, &result).await;
        result
    }

    async fn prepare_candidate_reported(
        &self,
        spec: &ReleaseSpec,
        progress: &Progress,
    ) -> Result<ReleaseReport, ReleaseError> {
        let state = self.status(&spec.environment).await?;
        let Some(live) = state.live_color() else {
            return Err(ReleaseError::Platform(PlatformError::Api(
                "there is no live colour yet: a candidate needs a live version beside it".into(),
            )));
        };
        let idle = live.other();
        if spec.reusable(&state.color(idle)) {
            let mut report = ReleaseReport::start(&spec.environment, &spec.version);
            report.finish(
                Outcome::NoChange,
                format!("candidate {} already runs on {idle}", spec.version),
            );
            return Ok(report);
        }
        if state
            .routing
            .canary
            .as_ref()
            .is_some_and(|c| c.color == idle)
        {
            return Err(ReleaseError::Platform(PlatformError::Api(format!(
                "{idle} receives canary traffic; remove the bluegreen_traffic_split (or set its weight to 0 and tenants to []) before deploying another candidate"
            ))));
        }
        let mut attempt =
            Attempt::begin(self, &spec.environment, state, idle, &spec.version).reporting(progress);
        // The alerts from here on name the candidate: a failed candidate is
        // not a failed release of the live `version`.
        crate::notify::sink::candidate(
            live.to_string(),
            attempt.version_on(live),
            idle.to_string(),
            spec.version.clone(),
        );
        deploy::deploy_and_wait(&mut attempt, &spec.health).await?;
        gate::health_gate(&mut attempt, &spec.health).await?;
        smoke::run_smoke_tests(&mut attempt, &spec.smoke).await?;
        attempt.report.finish(
            Outcome::CandidateReady,
            format!(
                "candidate {} is deployed and healthy on {idle}; live traffic stays on {live}",
                spec.version
            ),
        );
        Ok(attempt.report)
    }

    /// Routes all traffic to `color` (the `live_color` pin), gating it first,
    /// reporting its progress like a release.
    pub async fn pin(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        health: &HealthCheck,
    ) -> Result<ReleaseReport, ReleaseError> {
        let progress = Progress::default();
        let result = self
            .pin_reported(environment, color, health, &progress)
            .await;
        progress.conclude(self, environment, &result).await;
        result
    }

    async fn pin_reported(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        health: &HealthCheck,
        progress: &Progress,
    ) -> Result<ReleaseReport, ReleaseError> {
        let state = self.status(environment).await?;
        let version = state.color(color).version.unwrap_or_default();
        let already = state.live_color() == Some(color) && state.routing.canary.is_none();
        let mut attempt = Attempt::begin(self, environment, state, color, &version);
        if already {
            attempt
                .report
                .finish(Outcome::NoChange, format!("{color} is already live"));
            return Ok(attempt.report);
        }
        let mut attempt = attempt.reporting(progress);
        let quick = HealthCheck {
            healthy_threshold: 1,
            ..health.clone()
        };
        gate::health_gate(&mut attempt, &quick).await?;
        switch::switch_to(&mut attempt, Duration::ZERO).await?;
        attempt.report.finish(
            Outcome::Switched,
            format!("{color} ({version}) is live by pin"),
        );
        Ok(attempt.report)
    }

    /// What remains before [`Engine::deadline`], less `keep` for what must
    /// still follow (a watch window).
    pub(crate) fn time_left(&self, keep: Duration) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(keep)
    }

    pub(crate) fn check_stop(&self, what: &str) -> Result<(), ReleaseError> {
        if self.stop.is_cancelled() {
            Err(ReleaseError::Stopped(what.to_string()))
        } else {
            Ok(())
        }
    }

    /// Sleeps `d`, or fails with `Stopped` as soon as a stop is requested.
    /// Each pause is logged at debug level with how long it lasted, so that
    /// `bench-azure` can tell the provider's own time from its waits.
    pub(crate) async fn pause(&self, d: Duration, what: &str) -> Result<(), ReleaseError> {
        let started = Instant::now();
        let outcome = tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            () = self.stop.cancelled() => Err(ReleaseError::Stopped(what.to_string())),
        };
        crate::waits::record(what, started.elapsed());
        outcome
    }

    /// Runs `work` (an HTTP probe, a platform call), or fails with `Stopped`
    /// as soon as a stop is requested, so no single wait outlives a stop.
    pub(crate) async fn until_stopped<T>(
        &self,
        what: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, ReleaseError> {
        tokio::select! {
            out = work => Ok(out),
            () = self.stop.cancelled() => Err(ReleaseError::Stopped(what.to_string())),
        }
    }
}
