//! The last releases of each environment, as the provider's engine reports them
//! (`POST …/releases`), for `GET …/releases` and `bluegreen-local status`. Kept in
//! memory and bounded everywhere (releases, steps, phases, text), so a client that
//! floods it costs a fixed amount; a daemon restart forgets them (the audit log keeps
//! the routing changes they made).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::{Daemon, DaemonError};
use crate::api::{PhaseMark, Release, ReleaseEvent, ReleaseStep};
use crate::time::now_rfc3339;

/// Releases kept per environment.
pub const MAX_RELEASES: usize = 20;
/// Steps kept per release (the newest).
pub const MAX_STEPS: usize = 50;
/// Phase changes kept per release: a release has at most seven.
const MAX_PHASES: usize = 16;
/// Longest id, version or actor accepted.
const MAX_NAME: usize = 200;
/// Longest step or reason kept; longer ones are cut with "…".
const MAX_TEXT: usize = 2000;

/// Releases by environment, newest first.
#[derive(Debug, Default)]
pub struct Releases(Mutex<BTreeMap<String, VecDeque<Release>>>);

impl Releases {
    fn record(&self, environment: &str, event: ReleaseEvent) -> Release {
        let now = now_rfc3339();
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let list = all.entry(environment.to_owned()).or_default();
        let index = match list.iter().position(|r| r.id == event.release_id) {
            Some(i) => i,
            None => {
                list.push_front(Release {
                    id: event.release_id.clone(),
                    version: event.version.clone(),
                    actor: None,
                    color: None,
                    previous_color: None,
                    previous_version: None,
                    phase: event.phase,
                    phases: Vec::new(),
                    started_at: now.clone(),
                    updated_at: now.clone(),
                    finished_at: None,
                    reason: None,
                    figures: None,
                    steps: Vec::new(),
                    steps_dropped: 0,
                });
                list.truncate(MAX_RELEASES);
                0
            }
        };
        let r = &mut list[index];
        r.version = event.version;
        r.updated_at.clone_from(&now);
        if r.phases.last().map(|m| m.phase) != Some(event.phase) && r.phases.len() < MAX_PHASES {
            r.phases.push(PhaseMark {
                phase: event.phase,
                at: now.clone(),
            });
        }
        r.phase = event.phase;
        if event.phase.is_final() && r.finished_at.is_none() {
            r.finished_at = Some(now.clone());
        }
        r.actor = event.actor.or(r.actor.take());
        r.color = event.color.or(r.color);
        r.previous_color = event.previous_color.or(r.previous_color);
        r.previous_version = event.previous_version.or(r.previous_version.take());
        r.figures = event.figures.or(r.figures.take());
        r.reason = event.reason.map(|t| cut(&t)).or(r.reason.take());
        if let Some(text) = event.step {
            if r.steps.len() == MAX_STEPS {
                r.steps.remove(0);
                r.steps_dropped += 1;
            }
            r.steps.push(ReleaseStep {
                time: now,
                phase: event.phase,
                text: cut(&text),
            });
        }
        r.clone()
    }

    fn list(&self, environment: &str) -> Vec<Release> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.get(environment)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a deleted environment's releases.
    pub fn forget(&self, environment: &str) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.remove(environment);
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn check_name(what: &str, value: &str) -> Result<(), DaemonError> {
    if value.trim().is_empty() || value.len() > MAX_NAME {
        return Err(DaemonError::Invalid(format!(
            "`{what}` must be 1 to {MAX_NAME} characters, got {}",
            value.len()
        )));
    }
    Ok(())
}

impl Daemon {
    /// Records one step of a release of `environment` and answers the release's record.
    pub fn report_release(
        &self,
        environment: &str,
        event: ReleaseEvent,
    ) -> Result<Release, DaemonError> {
        self.env(environment)?;
        check_name("release_id", &event.release_id)?;
        check_name("version", &event.version)?;
        if let Some(actor) = &event.actor {
            check_name("actor", actor)?;
        }
        Ok(self.inner.releases.record(environment, event))
    }

    /// The last releases of `environment`, newest first.
    pub fn releases(&self, environment: &str) -> Result<Vec<Release>, DaemonError> {
        self.env(environment)?;
        Ok(self.inner.releases.list(environment))
    }
}
