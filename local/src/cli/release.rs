//! The running or last release of an environment, as `bluegreen-local status` shows it.

use bluegreen_local::api::{Release, ReleasePhase, WatchFigures};

/// Steps shown under a release: the newest.
const STEPS_SHOWN: usize = 8;

/// The release block: its phase, versions and colours, the phases so far, the watch's
/// live figures, how it ended, and its last steps.
pub fn render(release: &Release) -> String {
    let mut out = String::new();
    let state = if release.phase.is_final() {
        release.phase.as_str().to_uppercase()
    } else {
        format!("{} (running)", release.phase.as_str().to_uppercase())
    };
    let to = match release.color {
        Some(c) => format!("{} on {c}", release.version),
        None => release.version.clone(),
    };
    let from = match (&release.previous_version, release.previous_color) {
        (Some(v), Some(c)) => format!(" from {v} on {c}"),
        (None, Some(c)) => format!(" from {c}"),
        _ => String::new(),
    };
    out.push_str(&format!("  release {state}: {to}{from}\n"));
    let ended = release
        .finished_at
        .as_deref()
        .map(|t| format!(", finished {}", clock(t)))
        .unwrap_or_default();
    out.push_str(&format!(
        "    id {}{}, started {}{ended}\n",
        release.id,
        release
            .actor
            .as_deref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default(),
        clock(&release.started_at)
    ));
    let phases: Vec<&str> = release.phases.iter().map(|m| m.phase.as_str()).collect();
    out.push_str(&format!("    phases: {}\n", phases.join(" → ")));
    if let Some(f) = &release.figures {
        out.push_str(&format!("    watch: {}\n", figures(f)));
    }
    if let Some(reason) = &release.reason {
        let label = match release.phase {
            ReleasePhase::Done => "result",
            _ => "reason",
        };
        out.push_str(&format!("    {label}: {reason}\n"));
    }
    let skip = release.steps.len().saturating_sub(STEPS_SHOWN);
    if skip > 0 || release.steps_dropped > 0 {
        out.push_str(&format!(
            "    last {} of {} steps:\n",
            release.steps.len() - skip,
            release.steps.len() as u64 + release.steps_dropped
        ));
    } else if !release.steps.is_empty() {
        out.push_str("    steps:\n");
    }
    for step in &release.steps[skip..] {
        out.push_str(&format!(
            "      {} {:<11} {}\n",
            clock(&step.time),
            step.phase.as_str(),
            step.text
        ));
    }
    out
}

/// "12s of 60s, 840 requests, error rate 0.24% (limit 1.00%), p95 3.9 ms".
fn figures(f: &WatchFigures) -> String {
    let latency = match (f.latency_ms, &f.latency_statistic) {
        (Some(ms), Some(stat)) => format!("{stat} {ms:.1} ms"),
        (Some(ms), None) => format!("{ms:.1} ms"),
        _ => "latency n/a".into(),
    };
    format!(
        "{}s of {}s, {} requests, {} errors, error rate {:.2}% (limit {:.2}%), {latency}",
        f.elapsed_ms / 1000,
        f.window_ms / 1000,
        f.requests,
        f.errors,
        f.error_rate * 100.0,
        f.max_error_rate * 100.0
    )
}

/// The time of day of an RFC 3339 instant ("08:10:01"), which is what a person
/// watching a release compares; the full instant when it has another shape.
fn clock(rfc3339: &str) -> &str {
    rfc3339
        .split_once('T')
        .and_then(|(_, t)| t.get(..8))
        .unwrap_or(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_as_clock_times() {
        assert_eq!(clock("2026-12-03T08:10:01.123Z"), "08:10:01");
        assert_eq!(clock("soon"), "soon");
    }
}
