//! Reporting a release's progress to the platform as it happens
//! ([`crate::platform::Platform::report_progress`]). A report never fails nor
//! holds up a release: a report gets [`REPORT_TIMEOUT`], and once one took
//! longer the attempt reports nothing more, so a platform that hangs costs a
//! release that timeout once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::{Engine, Outcome, ReleaseError, ReleaseReport};
use crate::platform::{EnvironmentRef, ReleaseEvent, ReleasePhase};

/// The most one report may cost a release. The local daemon answers in
/// microseconds; one that does not answer in this time is not waited for.
pub const REPORT_TIMEOUT: Duration = Duration::from_millis(500);

/// The release an engine call reports on: empty until its attempt begins (a
/// call that changes nothing reports nothing), then its id and version, so
/// that how it ended is reported even when the attempt ended in an error.
#[derive(Debug, Default)]
pub struct Progress {
    release: Mutex<Option<(String, String)>>,
    /// A report timed out: the platform is not waited for again.
    gave_up: AtomicBool,
}

impl Progress {
    /// The attempt `id` of `version` has begun.
    pub fn attach(&self, id: &str, version: &str) {
        *self.release.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((id.to_owned(), version.to_owned()));
    }

    /// Reports how the attempt ended: done, rolled back or failed, with the
    /// outcome message or the error as the reason.
    pub async fn conclude(
        &self,
        engine: &Engine<'_>,
        environment: &EnvironmentRef,
        result: &Result<ReleaseReport, ReleaseError>,
    ) {
        let Some((release_id, version)) = self
            .release
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        let (phase, reason) = match result {
            Ok(report) => (ReleasePhase::Done, report.message.clone()),
            Err(e) if e.outcome() == Outcome::RolledBack => {
                (ReleasePhase::RolledBack, e.to_string())
            }
            Err(e) => (ReleasePhase::Failed, e.to_string()),
        };
        let event = ReleaseEvent {
            release_id,
            version,
            phase,
            color: None,
            previous_color: None,
            previous_version: None,
            step: None,
            figures: None,
            reason: Some(reason),
        };
        self.send(engine, environment, &event).await;
    }

    /// Hands `event` to the platform, waiting at most [`REPORT_TIMEOUT`].
    pub async fn send(
        &self,
        engine: &Engine<'_>,
        environment: &EnvironmentRef,
        event: &ReleaseEvent,
    ) {
        if self.gave_up.load(Ordering::Relaxed) {
            return;
        }
        let report = engine.platform.report_progress(environment, event);
        if tokio::time::timeout(REPORT_TIMEOUT, report).await.is_err() {
            self.gave_up.store(true, Ordering::Relaxed);
            tracing::warn!(
                environment = %environment,
                "the platform took longer than {REPORT_TIMEOUT:?} to take the release's progress ({:?}): this release reports no more",
                event.phase
            );
        }
    }
}
