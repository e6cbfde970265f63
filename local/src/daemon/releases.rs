//! The last releases of each environment, as the provider's engine reports them
//! (`POST …/releases`), for `GET …/releases` and `bluegreen-local status`. Bounded
//! everywhere (releases, steps, phases, text), so a client that floods it costs a fixed
//! amount. Kept in memory and saved to `releases.json` by a writer task off the
//! report's path: a report only wakes the writer, which coalesces the reports that
//! arrive while it writes and writes at most every [`WRITE_INTERVAL`]; a restart or an
//! upgrade writes the last of it before handing over.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Daemon, DaemonError, Inner};
use crate::api::{
    AuditAction, AuditEntry, Outcome, PhaseMark, Release, ReleaseEvent, ReleasePhase, ReleaseStep,
};
use crate::state::releases::{self as file, PersistedReleases};
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

/// Shortest time between two writes of `releases.json`: the watch reports its figures
/// every poll, and each write is an fsync.
const WRITE_INTERVAL: Duration = Duration::from_millis(500);

/// Releases by environment, newest first, and what the writer has saved of them.
#[derive(Debug)]
pub struct Releases {
    all: Mutex<BTreeMap<String, VecDeque<Release>>>,
    /// Bumped at every change.
    changes: AtomicU64,
    /// The `changes` the file holds; only written under [`Inner::releases_write`].
    saved: AtomicU64,
    /// Wakes the writer; a full channel means it is awake already.
    wake: mpsc::Sender<()>,
}

impl Releases {
    /// The history loaded from the state directory, for the environments that exist,
    /// and the writer's wake-up channel.
    pub(super) fn new(
        loaded: PersistedReleases,
        environments: impl Fn(&str) -> bool,
    ) -> (Self, mpsc::Receiver<()>) {
        let all = loaded
            .environments
            .into_iter()
            .filter(|(name, _)| environments(name))
            .map(|(name, list)| {
                let list: VecDeque<Release> =
                    list.into_iter().take(MAX_RELEASES).map(bounded).collect();
                (name, list)
            })
            .collect();
        let (wake, rx) = mpsc::channel(1);
        let releases = Self {
            all: Mutex::new(all),
            changes: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            wake,
        };
        (releases, rx)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        let _ = self.wake.try_send(());
    }

    /// Records `event`; answers the release's record and whether this event ended it.
    fn record(&self, environment: &str, event: ReleaseEvent) -> (Release, bool) {
        let record = self.update(environment, event);
        self.changed();
        record
    }

    fn update(&self, environment: &str, event: ReleaseEvent) -> (Release, bool) {
        let now = now_rfc3339();
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
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
        // Once: a final event sent again (a retried report) does not end it twice.
        let ended = event.phase.is_final() && r.finished_at.is_none();
        if ended {
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
        (r.clone(), ended)
    }

    fn list(&self, environment: &str) -> Vec<Release> {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        all.get(environment)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a deleted environment's releases.
    pub fn forget(&self, environment: &str) {
        let removed = {
            let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
            all.remove(environment).is_some()
        };
        if removed {
            self.changed();
        }
    }

    /// Everything, for the file, with the change it includes.
    fn snapshot(&self) -> (u64, PersistedReleases) {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        // Read under the lock: every change counted is in the copy.
        let changes = self.changes.load(Ordering::SeqCst);
        let environments = all
            .iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(name, list)| (name.clone(), list.iter().cloned().collect()))
            .collect();
        (
            changes,
            PersistedReleases {
                format: file::FORMAT,
                environments,
            },
        )
    }
}

/// The audit entry of a release that ended: who ran it, from what to what, and why.
fn ended_entry(environment: &str, r: &Release) -> AuditEntry {
    let (outcome, how) = match r.phase {
        ReleasePhase::Done => (Outcome::Ok, "done"),
        ReleasePhase::RolledBack => (Outcome::Failed, "rolled back"),
        _ => (Outcome::Failed, "failed"),
    };
    let reason = r
        .reason
        .as_deref()
        .map(|reason| format!(": {reason}"))
        .unwrap_or_default();
    AuditEntry {
        time: String::new(),
        actor: r.actor.clone().unwrap_or_else(|| "provider".into()),
        environment: environment.to_owned(),
        action: AuditAction::Release,
        from_version: r.previous_version.clone(),
        to_version: Some(r.version.clone()),
        from_color: r.previous_color,
        to_color: r.color,
        revision: None,
        outcome,
        message: format!("release {} {how}{reason}", r.id),
    }
}

/// A release read from the file, held to the bounds a reported one keeps.
fn bounded(mut r: Release) -> Release {
    if r.steps.len() > MAX_STEPS {
        let extra = r.steps.len() - MAX_STEPS;
        r.steps.drain(..extra);
        r.steps_dropped += extra as u64;
    }
    for step in &mut r.steps {
        step.text = cut(&step.text);
    }
    r.phases.truncate(MAX_PHASES);
    r.reason = r.reason.as_deref().map(cut);
    r
}

/// Saves the history whenever it changes, until the daemon is gone.
pub(super) async fn write_changes(inner: Weak<Inner>, mut wake: mpsc::Receiver<()>) {
    while wake.recv().await.is_some() {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        Daemon { inner }.save_releases().await;
        tokio::time::sleep(WRITE_INTERVAL).await;
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
        let (release, ended) = self.inner.releases.record(environment, event);
        if ended {
            self.audit(ended_entry(environment, &release));
        }
        Ok(release)
    }

    /// Writes the release history to `releases.json` if it changed since the last
    /// write, unless a successor owns the state now. A failure is logged: the history
    /// stays in memory and the next change tries again.
    pub(super) async fn save_releases(&self) {
        let _guard = self.inner.releases_write.lock().await;
        if self.inner.handed_over.load(Ordering::SeqCst) {
            return;
        }
        let releases = &self.inner.releases;
        if releases.changes.load(Ordering::SeqCst) == releases.saved.load(Ordering::SeqCst) {
            return;
        }
        let (changes, snapshot) = releases.snapshot();
        let dir = self.inner.state_dir.clone();
        match tokio::task::spawn_blocking(move || file::save(&dir, &snapshot)).await {
            Ok(Ok(())) => releases.saved.store(changes, Ordering::SeqCst),
            Ok(Err(e)) => tracing::warn!("saving the release history: {e}; it is kept in memory"),
            Err(e) => tracing::warn!("saving the release history: {e}"),
        }
    }

    /// The last releases of `environment`, newest first.
    pub fn releases(&self, environment: &str) -> Result<Vec<Release>, DaemonError> {
        self.env(environment)?;
        Ok(self.inner.releases.list(environment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, steps: usize) -> Release {
        Release {
            id: id.into(),
            version: "1.0.0".into(),
            actor: None,
            color: None,
            previous_color: None,
            previous_version: None,
            phase: ReleasePhase::Validating,
            phases: Vec::new(),
            started_at: String::new(),
            updated_at: String::new(),
            finished_at: None,
            reason: Some("x".repeat(MAX_TEXT + 10)),
            figures: None,
            steps: (0..steps)
                .map(|i| ReleaseStep {
                    time: String::new(),
                    phase: ReleasePhase::Validating,
                    text: format!("step {i}"),
                })
                .collect(),
            steps_dropped: 1,
        }
    }

    #[test]
    fn a_loaded_history_keeps_the_bounds_and_only_existing_environments() {
        let mut loaded = PersistedReleases::default();
        loaded.environments.insert(
            "api".into(),
            (0..MAX_RELEASES + 3)
                .map(|i| release(&format!("r{i}"), MAX_STEPS + 4))
                .collect(),
        );
        loaded
            .environments
            .insert("deleted".into(), vec![release("d", 1)]);
        let (releases, _wake) = Releases::new(loaded, |name| name == "api");
        assert!(releases.list("deleted").is_empty());
        let api = releases.list("api");
        assert_eq!(api.len(), MAX_RELEASES);
        assert_eq!(api[0].id, "r0", "newest first, as saved");
        assert_eq!(api[0].steps.len(), MAX_STEPS);
        assert_eq!(api[0].steps[0].text, "step 4", "the newest steps are kept");
        assert_eq!(api[0].steps_dropped, 5);
        assert!(api[0].reason.as_deref().unwrap().ends_with('…'));
        let (changes, snapshot) = releases.snapshot();
        assert_eq!(changes, 0, "loading is no change to write back");
        assert_eq!(snapshot.environments["api"], api);
    }
}
