//! The running or last release of an environment, as `bluegreen-local status` shows it.

use bluegreen_local::api::{RateLevel, Release, ReleasePhase, WatchFigures};

/// Steps shown under a release: the newest.
const STEPS_SHOWN: usize = 8;

/// The release block: its phase, versions and colours, the phases so far, the watch's
/// live figures, how it ended, and its last steps. `tty`: colour the error rate.
pub fn render(release: &Release, tty: bool) -> String {
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
        out.push_str(&format!("    watch: {}\n", figures(f, tty)));
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

/// "12s of 60s, 840 requests, 2 errors, error rate 0.24% (warning above 0.50%,
/// rollback above 1.00%), p95 3.9 ms": the rate judged by the release's own
/// thresholds, with WARNING or CRITICAL after it (in colour on a terminal).
fn figures(f: &WatchFigures, tty: bool) -> String {
    let latency = match (f.latency_ms, &f.latency_statistic) {
        (Some(ms), Some(stat)) => format!("{stat} {ms:.1} ms"),
        (Some(ms), None) => format!("{ms:.1} ms"),
        _ => "latency n/a".into(),
    };
    let t = f.thresholds();
    let rate = format!("{:.2}%", f.error_rate * 100.0);
    let rate = match (t.level(f.error_rate), tty) {
        (RateLevel::Ok, false) => rate,
        (RateLevel::Warn, false) => format!("{rate} WARNING"),
        (RateLevel::Critical, false) => format!("{rate} CRITICAL"),
        (RateLevel::Ok, true) => format!("\x1b[32m{rate}\x1b[0m"),
        (RateLevel::Warn, true) => format!("\x1b[1;33m{rate} WARNING\x1b[0m"),
        (RateLevel::Critical, true) => format!("\x1b[1;31m{rate} CRITICAL\x1b[0m"),
    };
    format!(
        "{} of {}, {} requests, {} errors, error rate {rate} (warning above {:.2}%, rollback above {:.2}%), {latency}",
        bluegreen_local::time::seconds(f.elapsed_ms),
        bluegreen_local::time::seconds(f.window_ms),
        f.requests,
        f.errors,
        t.warn * 100.0,
        t.critical * 100.0
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

    fn watch(errors: u64, warn_error_rate: Option<f64>) -> WatchFigures {
        WatchFigures {
            elapsed_ms: 12_000,
            window_ms: 60_000,
            requests: 1000,
            errors,
            error_rate: errors as f64 / 1000.0,
            max_error_rate: 0.01,
            warn_error_rate,
            latency_ms: Some(3.9),
            latency_statistic: Some("p95".into()),
        }
    }

    #[test]
    fn the_rate_is_judged_by_the_releases_own_thresholds() {
        // 0.30%: above this release's 0.2% warning, below the seed's 0.5%.
        assert_eq!(
            figures(&watch(3, Some(0.002)), false),
            "12s of 60s, 1000 requests, 3 errors, error rate 0.30% WARNING (warning above 0.20%, rollback above 1.00%), p95 3.9 ms"
        );
        assert!(figures(&watch(3, Some(0.002)), true)
            .contains("error rate \x1b[1;33m0.30% WARNING\x1b[0m (warning above 0.20%"));
        // A provider that predates warn_error_rate: the seed's 0.5%.
        assert!(figures(&watch(3, None), false)
            .contains("error rate 0.30% (warning above 0.50%, rollback above 1.00%)"));
        assert!(figures(&watch(11, Some(0.002)), true).contains("\x1b[1;31m1.10% CRITICAL\x1b[0m"));
    }

    #[test]
    fn times_show_as_clock_times() {
        assert_eq!(clock("2026-12-03T08:10:01.123Z"), "08:10:01");
        assert_eq!(clock("soon"), "soon");
    }
}
