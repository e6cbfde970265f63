//! One release attempt: the value deploy → gate → smoke → switch → watch
//! carry, so that each step knows the environment, the colour, the version
//! and what served before without asking the platform again.

use super::progress::Progress;
use super::{Engine, ReleaseError, ReleaseReport};
use crate::platform::{
    Color, ColorState, EnvironmentRef, EnvironmentState, ReleaseEvent, ReleasePhase, WatchFigures,
};

/// A release (or candidate, or pin) in progress against one colour.
pub struct Attempt<'e> {
    /// The engine running it.
    pub engine: &'e Engine<'e>,
    /// The environment and its platform handle.
    pub environment: &'e EnvironmentRef,
    /// The colour being deployed, gated and switched to.
    pub color: Color,
    /// The version that colour must run.
    pub version: String,
    /// The environment as read when the attempt began. The lock keeps others
    /// from routing meanwhile, so its live colour is what keeps serving when
    /// a gate fails and its revision is what the switch must still find.
    pub snapshot: EnvironmentState,
    /// The colour's own address, once the platform reports one.
    pub address: Option<String>,
    /// What was done, step by step.
    pub report: ReleaseReport,
    /// The phase it is in, for the progress reports.
    pub phase: ReleasePhase,
    /// Where its progress is reported; `None` reports nothing.
    progress: Option<&'e Progress>,
}

impl<'e> Attempt<'e> {
    /// Starts an attempt to run `version` on `color`, from `snapshot`.
    pub fn begin(
        engine: &'e Engine<'e>,
        environment: &'e EnvironmentRef,
        snapshot: EnvironmentState,
        color: Color,
        version: &str,
    ) -> Self {
        // A colour already running the version (instant switch, pin) keeps
        // its address; one about to be deployed gets a new one.
        let current = snapshot.color(color);
        let address = current
            .address
            .filter(|_| current.version.as_deref() == Some(version));
        Self {
            engine,
            environment,
            color,
            version: version.to_string(),
            report: ReleaseReport::start(environment, version),
            snapshot,
            address,
            // Validating until a deploy begins: an instant switch or a pin deploys nothing.
            phase: ReleasePhase::Validating,
            progress: None,
        }
    }

    /// Reports this attempt's progress to the platform from now on, under its
    /// deployment id.
    pub fn reporting(mut self, progress: &'e Progress) -> Self {
        progress.attach(&self.report.id, &self.version);
        self.progress = Some(progress);
        self
    }

    /// The colour that was live when the attempt began.
    pub fn previous(&self) -> Option<Color> {
        self.snapshot.live_color()
    }

    /// The version `color` ran when the attempt began.
    pub fn version_on(&self, color: Color) -> Option<String> {
        self.snapshot.color(color).version
    }

    /// Records a step and reports it.
    pub async fn step(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.report.step(text.clone());
        self.publish(Some(text), None).await;
    }

    /// Enters `phase` and reports it.
    pub async fn enter(&mut self, phase: ReleasePhase) {
        self.phase = phase;
        self.publish(None, None).await;
    }

    /// Reports what the watch just read.
    pub async fn figures(&self, figures: WatchFigures) {
        self.publish(None, Some(figures)).await;
    }

    async fn publish(&self, step: Option<String>, figures: Option<WatchFigures>) {
        let Some(progress) = self.progress else {
            return;
        };
        let event = ReleaseEvent {
            release_id: self.report.id.clone(),
            version: self.version.clone(),
            phase: self.phase,
            color: Some(self.color),
            previous_color: self.snapshot.live_color(),
            previous_version: self.snapshot.live_version(),
            step,
            figures,
            reason: None,
        };
        progress.send(self.engine, self.environment, &event).await;
    }

    /// Re-reads the colour from the platform, for when the truth may have
    /// changed (it crashed, or a restart moved it), and keeps its address.
    pub async fn refresh(&mut self) -> Result<ColorState, ReleaseError> {
        let state = self
            .engine
            .status(self.environment)
            .await?
            .color(self.color);
        if state.address.is_some() {
            self.address.clone_from(&state.address);
        }
        Ok(state)
    }

    /// "1.2.0 on blue keeps serving." or "nothing was live before."
    pub fn live_note(&self) -> String {
        match (self.snapshot.live_color(), self.snapshot.live_version()) {
            (Some(c), Some(v)) => format!("{v} on {c} keeps serving."),
            _ => "nothing was live before.".into(),
        }
    }

    /// A failed pre-switch `check` on this colour: no traffic moved.
    pub fn gate_failed(&self, check: impl Into<String>, detail: String) -> ReleaseError {
        ReleaseError::GateFailed {
            check: check.into(),
            color: self.color.to_string(),
            version: self.version.clone(),
            detail,
            live_note: self.live_note(),
        }
    }
}
