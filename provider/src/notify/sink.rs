//! Where a release's events go while it runs. The resource opens a
//! [`Sink`] around the engine with [`scope`]; the engine reports through the
//! free functions below, which do nothing outside a scope (engine tests,
//! canaries), so the engine carries no notification plumbing of its own.
//! Events sent mid-release go out in the background; the resource's
//! [`Sink::finish`] sends the outcome and waits for all of them, bounded by
//! the longest `timeout`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tfplugin::diag::Diagnostic;
use tfplugin::AttributePath;
use tokio::task::JoinHandle;

use super::event::{EventKind, Figures, ReleaseContext};
use super::send::{Notifier, Undelivered};

tokio::task_local! {
    static SINK: Sink;
}

/// One release's events and what the apply should warn about.
#[derive(Clone)]
pub struct Sink {
    notifier: Notifier,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    context: ReleaseContext,
    /// The error-rate warning was given (once per release).
    warned: bool,
    /// Some warning alert was sent for this release: its `succeeded` leaves
    /// PagerDuty's incident open.
    warning_sent: bool,
    /// Warning diagnostics for the apply.
    warnings: Vec<Diagnostic>,
    pending: Vec<JoinHandle<Vec<Undelivered>>>,
}

/// Runs `work` with `sink` receiving the engine's events.
pub async fn scope<F: Future>(sink: Sink, work: F) -> F::Output {
    SINK.scope(sink, work).await
}

fn with(f: impl FnOnce(&Sink)) {
    let _ = SINK.try_with(f);
}

/// The engine began a release of the context's version from `from` (colour
/// and version live now) to `to_color`.
pub fn started(from_color: Option<String>, from_version: Option<String>, to_color: String) {
    with(|s| {
        s.update(|c| {
            c.from_color = from_color;
            if from_version.is_some() {
                c.from_version = from_version;
            }
            c.to_color = Some(to_color);
        });
        s.emit(EventKind::Started, "", None);
    });
}

/// The engine began deploying the candidate `version` on `to_color` beside
/// `from_color` (live, running `from_version`), or ramping a canary of it
/// there: from now on the release's events are about the candidate, not the
/// resource's `version`. The watch's
/// figures of an earlier release in the same apply are not the candidate's.
pub fn candidate(
    from_color: String,
    from_version: Option<String>,
    to_color: String,
    version: String,
) {
    with(|s| {
        s.update(|c| {
            c.from_color = Some(from_color);
            c.from_version = from_version;
            c.to_color = Some(to_color);
            c.to_version = version;
            c.figures = None;
        })
    });
}

/// The release the scope began is live (and something else, a candidate,
/// follows in the same scope): its `succeeded` goes out now, while the
/// context still names it.
pub fn succeeded(reason: &str) {
    with(|s| s.emit(EventKind::Succeeded, reason, None));
}

/// The front door routes everything to the new colour.
pub fn switched(reason: &str) {
    with(|s| s.emit(EventKind::Switched, reason, None));
}

/// The watch's latest figures, for the events that follow.
pub fn figures(figures: Figures) {
    with(|s| s.update(|c| c.figures = Some(figures)));
}

/// An error rate above the warning threshold: one alert and one warning
/// diagnostic per release, however long it stays above.
pub fn warning(reason: &str) {
    with(|s| {
        let first = {
            let mut state = s.lock();
            let first = !state.warned;
            state.warned = true;
            if first {
                let c = &state.context;
                let summary = format!(
                    "Release of {} to {}: error rate above the warning threshold",
                    c.to_version, c.environment
                );
                state.warnings.push(Diagnostic::warning(
                    summary,
                    format!("{reason}. No rollback: the rollback threshold (max_error_rate) was not crossed. Investigate before it is."),
                ));
            }
            first
        };
        if first {
            s.emit(EventKind::Warning, reason, None);
        }
    });
}

/// The post-switch watch ended without enough traffic to judge the release
/// (`reason`, with what to do): it stays live, neither rolled back nor
/// passed. A warning alert headed `headline`, and a warning diagnostic.
pub fn unjudged(headline: &str, reason: &str) {
    with(|s| {
        {
            let mut state = s.lock();
            let c = &state.context;
            let summary = format!(
                "Release of {} to {}: not judged by its traffic",
                c.to_version, c.environment
            );
            state.warnings.push(Diagnostic::warning(summary, reason));
        }
        s.emit(EventKind::Warning, reason, Some(headline));
    });
}

/// A canary ramp went on to its final weight with steps that saw too little
/// traffic to judge (`reason` names them, with what to do): a warning alert
/// headed `headline`, and a warning diagnostic on the `progressive` block.
/// Called once per ramp, whatever the number of such steps.
pub fn unjudged_ramp(headline: &str, reason: &str) {
    with(|s| {
        {
            let mut state = s.lock();
            let c = &state.context;
            let summary = format!(
                "Canary {} in {}: ramp steps not judged by their traffic",
                c.to_version, c.environment
            );
            state
                .warnings
                .push(Diagnostic::warning(summary, reason).at(AttributePath::attr("progressive")));
        }
        s.emit(EventKind::Warning, reason, Some(headline));
    });
}

impl Sink {
    /// A sink for the release `context` describes.
    pub fn new(notifier: Notifier, context: ReleaseContext) -> Self {
        Self {
            notifier,
            state: Arc::new(Mutex::new(State {
                context,
                ..State::default()
            })),
        }
    }

    /// The release as known so far (colours once started, the watch's figures).
    pub fn context(&self) -> ReleaseContext {
        self.lock().context.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut ReleaseContext)) {
        f(&mut self.lock().context);
    }

    /// Sends `kind` in the background; `summary` replaces the one line the
    /// context writes for the kind.
    fn emit(&self, kind: EventKind, reason: &str, summary: Option<&str>) {
        if self.notifier.is_empty() {
            return;
        }
        let mut event = {
            let mut state = self.lock();
            let mut event = state.context.event(kind, reason);
            state.warning_sent |= kind == EventKind::Warning;
            event.after_warning = kind == EventKind::Succeeded && state.warning_sent;
            event
        };
        if let Some(summary) = summary {
            event.summary = summary.to_string();
        }
        let notifier = self.notifier.clone();
        let task = tokio::spawn(async move { notifier.send(&event).await });
        self.lock().pending.push(task);
    }

    /// Sends the release's outcome (`None`: nothing happened, nothing to say),
    /// waits for every alert of the release, at most the longest timeout
    /// (and a little slack for the tasks to report), and returns the
    /// warnings for the apply: error-rate warnings, a watch or ramp steps
    /// that judged nothing, and alerts not delivered.
    pub async fn finish(&self, outcome: Option<(EventKind, &str)>) -> Vec<Diagnostic> {
        if let Some((kind, reason)) = outcome {
            self.emit(kind, reason, None);
        }
        let (pending, warnings, context) = {
            let mut state = self.lock();
            (
                std::mem::take(&mut state.pending),
                state.warnings.clone(),
                state.context.clone(),
            )
        };
        let bound = self.notifier.longest_timeout() + Duration::from_millis(500);
        let mut undelivered = Vec::new();
        let all = futures_util::future::join_all(pending);
        match tokio::time::timeout(bound, all).await {
            Ok(results) => {
                undelivered.extend(results.into_iter().flat_map(Result::unwrap_or_default))
            }
            Err(_) => tracing::warn!("alerts still sending after {bound:?}: left behind"),
        }
        let mut diags = warnings;
        // One warning per receiver, its name in the summary: Terraform folds
        // warnings with the same summary into one and would hide the others.
        let mut by_receiver: BTreeMap<String, Vec<Undelivered>> = BTreeMap::new();
        for u in undelivered {
            by_receiver
                .entry(u.notification.clone())
                .or_default()
                .push(u);
        }
        diags.extend(by_receiver.into_iter().map(|(name, failed)| {
            let alerts = match failed.len() {
                1 => "1 alert".to_string(),
                n => format!("{n} alerts"),
            };
            let each: Vec<String> = failed
                .iter()
                .map(|u| format!("{}: {}", u.event, u.problem))
                .collect();
            Diagnostic::warning(
                format!("Release alert not delivered to {name}"),
                format!(
                    "{name} did not accept {alerts} of {} {}: {}. The release itself is not affected.",
                    context.environment,
                    context.to_version,
                    each.join("; ")
                ),
            )
        }));
        diags
    }
}
