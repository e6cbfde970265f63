//! The post-switch watch: the new colour's error rate and latency against the
//! thresholds and the previous colour's baseline; a breach switches back. A
//! window the platform has no figures for yet is judged neither healthy nor
//! breached; the latency rule names the statistic it compared.

use std::time::{Duration, Instant};

use super::attempt::Attempt;
use super::clock::format_duration;
use super::propagation::settle;
use super::switch::Switched;
use super::unjudged::Unjudged;
use super::{PostSwitch, ReleaseError};
use crate::platform::{
    now_ms, Color, Latency, LatencyStatistic, Metrics, ReleasePhase, RouteChange, RouteReason,
    WatchFigures,
};

/// Watches the attempt's colour for the window; on a breach switches back to
/// `previous` (when `auto_rollback`) and fails with the measured figures. A
/// watch that saw too little traffic to judge is reported as such (see
/// [`Unjudged`]) and returned, for the outcome message.
pub async fn watch_after_switch(
    attempt: &mut Attempt<'_>,
    rules: &PostSwitch,
    previous: Color,
    switched: &Switched,
) -> Result<Option<Unjudged>, ReleaseError> {
    if rules.window.is_zero() {
        return Ok(None);
    }
    attempt.enter(ReleasePhase::Watching).await;
    let engine = attempt.engine;
    let (environment, new) = (attempt.environment, attempt.color);
    let window_ms = rules.window.as_millis() as u64;
    let baseline = engine
        .platform
        .metrics(
            environment,
            previous,
            switched.at_ms.saturating_sub(window_ms),
            switched.at_ms,
        )
        .await?;
    attempt.step(format!(
        "watching {new} for {}: max error rate {:.2}%, max p95 increase {:.0}% over {previous}'s {}",
        format_duration(rules.window),
        rules.max_error_rate * 100.0,
        rules.max_p95_increase * 100.0,
        match baseline.and_then(|b| b.latency) {
            Some(Latency {
                ms,
                statistic: LatencyStatistic::P95,
            }) => format!("{ms:.1} ms"),
            Some(Latency { ms, statistic }) => format!(
                "{statistic} of {ms:.1} ms (the platform reports no p95: the {statistic} is compared)"
            ),
            None if baseline.is_none() => "(no baseline: the platform has no figures yet)".into(),
            None => "(no baseline)".into(),
        }
    )).await;
    let previous_version = attempt
        .version_on(previous)
        .unwrap_or_else(|| "the previous version".into());
    let started = Instant::now();
    let poll = (rules.window / 10)
        .clamp(Duration::from_millis(250), Duration::from_secs(2))
        .max(engine.platform.poll_interval());
    // Terraform shows only "Still modifying…" meanwhile: a progress line in
    // the log (`TF_LOG=info`) says what the apply is waiting for.
    let progress_every = progress_interval(rules.window);
    let mut last_progress = Instant::now();
    let mut warned = false;
    loop {
        let done = started.elapsed() >= rules.window;
        if !done {
            engine
                .pause(
                    poll,
                    &format!(
                        "the post-switch watch ({} is live on {new})",
                        attempt.version
                    ),
                )
                .await?;
        }
        let m = engine
            .platform
            .metrics(environment, new, switched.at_ms, now_ms())
            .await?;
        super::warn::observe(attempt, m.as_ref(), baseline.as_ref(), rules, &mut warned).await;
        // One report per poll, with what the poll read: never more often.
        if let Some(metrics) = m {
            attempt
                .figures(WatchFigures {
                    elapsed: started.elapsed(),
                    window: rules.window,
                    metrics,
                    max_error_rate: rules.max_error_rate,
                    warn_error_rate: rules.warn_error_rate,
                })
                .await;
        }
        if let Some((breach, m)) =
            m.and_then(|m| breach(&m, baseline.as_ref(), rules).map(|b| (b, m)))
        {
            let detail = format!(
                "{breach} after {:.1}s ({} requests)",
                started.elapsed().as_secs_f64(),
                m.requests
            );
            if !rules.auto_rollback {
                return Err(ReleaseError::Breached {
                    detail,
                    version: attempt.version.clone(),
                    previous: previous_version,
                });
            }
            let revision = engine
                .platform
                .route(
                    environment,
                    RouteChange::all_to(previous, switched.revision.clone(), RouteReason::Rollback),
                    engine.lease,
                )
                .await?;
            attempt
                .step(format!("rolled back to {previous}: {detail}"))
                .await;
            // Rolled back means served everywhere: until then some locations
            // still send users to the version that breached.
            let shortfall = settle(
                engine,
                environment,
                &revision,
                &format!("the rollback to {previous}"),
                &previous.to_string(),
                &mut attempt.report,
            )
            .await?;
            return Err(match shortfall {
                None => ReleaseError::RolledBack {
                    detail,
                    restored_color: previous.to_string(),
                    restored_version: previous_version,
                },
                Some(shortfall) => ReleaseError::RollbackNotPropagated {
                    breach: format!("post-switch watch: {detail}"),
                    restored_color: previous.to_string(),
                    restored_version: previous_version,
                    shortfall,
                },
            });
        }
        if !done && last_progress.elapsed() >= progress_every {
            last_progress = Instant::now();
            tracing::info!(
                environment = %environment,
                color = %new,
                "{}",
                progress_line(
                    &environment.name,
                    started.elapsed(),
                    m.as_ref(),
                    baseline.as_ref(),
                    rules
                )
            );
        }
        if done {
            // Unknown is not healthy, and too few requests are not a pass:
            // say so (step, alert, diagnostic) rather than report one.
            if let Some(unjudged) = Unjudged::from_watch(m.as_ref(), rules, new, &attempt.version) {
                unjudged.report(attempt).await;
                return Ok(Some(unjudged));
            }
            let Some(m) = m else { return Ok(None) };
            attempt
                .step(format!(
                    "watch passed after {}: error rate {:.2}%, {}",
                    format_duration(rules.window),
                    m.error_rate * 100.0,
                    m.latency.map_or("p95 n/a".into(), |l| format!(
                        "{} {:.1} ms",
                        l.statistic, l.ms
                    ))
                ))
                .await;
            return Ok(None);
        }
    }
}

/// How often the watch logs its progress: ten lines per window at most, one
/// every 10 s at least.
pub fn progress_interval(window: Duration) -> Duration {
    (window / 10).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// "post-switch watch of shop: 35s of 5m, 1234 requests, error rate 0.10%
/// (limit 1.00%), p95 12.0 ms (limit 18.0 ms)": where the watch stands.
pub fn progress_line(
    environment: &str,
    elapsed: Duration,
    m: Option<&Metrics>,
    baseline: Option<&Metrics>,
    rules: &PostSwitch,
) -> String {
    let head = format!(
        "post-switch watch of {environment}: {}s of {}",
        elapsed.as_secs(),
        format_duration(rules.window)
    );
    let Some(m) = m else {
        return format!("{head}, no figures from the platform yet: not judged");
    };
    let latency = match (m.latency, latency_limit(baseline, rules)) {
        (Some(l), Some((limit, base))) if base.statistic == l.statistic => {
            format!("{} {:.1} ms (limit {limit:.1} ms)", l.statistic, l.ms)
        }
        (Some(l), _) => format!("{} {:.1} ms (no baseline)", l.statistic, l.ms),
        (None, _) => "p95 n/a".into(),
    };
    let judged = if m.requests < rules.min_requests {
        format!(
            "; fewer than min_requests = {}, not judged yet",
            rules.min_requests
        )
    } else {
        String::new()
    };
    format!(
        "{head}, {} requests, error rate {:.2}% (limit {:.2}%), {latency}{judged}",
        m.requests,
        m.error_rate * 100.0,
        rules.max_error_rate * 100.0
    )
}

/// The latency limit the baseline sets, and the baseline's figure; `None`
/// without a baseline worth judging against.
fn latency_limit(baseline: Option<&Metrics>, rules: &PostSwitch) -> Option<(f64, Latency)> {
    let baseline = baseline.filter(|b| b.requests >= rules.min_requests)?;
    let base = baseline.latency?;
    Some((base.ms * (1.0 + rules.max_p95_increase), base))
}

/// Latency differences smaller than this are noise, whatever the ratio: a
/// loopback service at 0.2 ms would otherwise "regress 50%" by 0.1 ms.
pub const P95_NOISE_FLOOR_MS: f64 = 5.0;

/// The first threshold crossed, in words with figures. The latency rule
/// compares like with like: the same statistic on both colours, named in the text.
pub fn breach(m: &Metrics, baseline: Option<&Metrics>, rules: &PostSwitch) -> Option<String> {
    if m.requests < rules.min_requests {
        return None;
    }
    if m.error_rate > rules.max_error_rate {
        return Some(format!(
            "error rate {:.2}% ({} of {} requests answered 5xx) is above max_error_rate {:.2}%",
            m.error_rate * 100.0,
            m.errors,
            m.requests,
            rules.max_error_rate * 100.0
        ));
    }
    if let (Some(l), Some((limit, base))) = (m.latency, latency_limit(baseline, rules)) {
        if l.statistic == base.statistic
            && base.ms > 0.0
            && l.ms > limit
            && l.ms - base.ms > P95_NOISE_FLOOR_MS
        {
            let which = match l.statistic {
                LatencyStatistic::P95 => String::new(),
                other => format!(", applied to the {other}: the platform reports no p95"),
            };
            return Some(format!(
                "{} latency {:.1} ms is {:.0}% above the previous colour's {:.1} ms (max_p95_increase {:.0}%{which})",
                l.statistic,
                l.ms,
                (l.ms / base.ms - 1.0) * 100.0,
                base.ms,
                rules.max_p95_increase * 100.0
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::PostSwitch;

    fn m(requests: u64, errors: u64, p95: f64) -> Metrics {
        Metrics {
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            latency: Some(Latency {
                ms: p95,
                statistic: LatencyStatistic::P95,
            }),
        }
    }

    #[test]
    fn error_rate_above_one_percent_breaches() {
        let rules = PostSwitch::default();
        let text = breach(&m(1000, 50, 10.0), Some(&m(1000, 0, 10.0)), &rules).unwrap();
        assert!(text.contains("5.00%") && text.contains("1.00%"), "{text}");
        assert!(breach(&m(1000, 10, 10.0), Some(&m(1000, 0, 10.0)), &rules).is_none());
    }

    #[test]
    fn p95_regression_breaches_only_with_enough_baseline() {
        let rules = PostSwitch::default();
        assert!(breach(&m(100, 0, 16.0), Some(&m(100, 0, 10.0)), &rules)
            .unwrap()
            .contains("p95"));
        assert!(breach(&m(100, 0, 14.0), Some(&m(100, 0, 10.0)), &rules).is_none());
        // 0.2 ms → 0.3 ms is +50% but only noise.
        assert!(breach(&m(1000, 0, 0.3), Some(&m(1000, 0, 0.2)), &rules).is_none());
        assert!(breach(&m(100, 0, 100.0), Some(&m(3, 0, 10.0)), &rules).is_none());
    }

    #[test]
    fn progress_says_where_the_watch_stands() {
        let rules = PostSwitch {
            window: Duration::from_secs(300),
            ..PostSwitch::default()
        };
        let line = progress_line(
            "shop",
            Duration::from_millis(35_400),
            Some(&m(1234, 1, 12.0)),
            Some(&m(500, 0, 10.0)),
            &rules,
        );
        assert_eq!(
            line,
            "post-switch watch of shop: 35s of 5m, 1234 requests, error rate 0.08% (limit 1.00%), p95 12.0 ms (limit 15.0 ms)"
        );
        let early = progress_line(
            "shop",
            Duration::from_secs(1),
            Some(&m(3, 0, 1.0)),
            Some(&m(0, 0, 0.0)),
            &rules,
        );
        assert!(early.ends_with("not judged yet"), "{early}");
        assert_eq!(
            progress_interval(Duration::from_secs(300)),
            Duration::from_secs(10)
        );
        assert_eq!(
            progress_interval(Duration::from_secs(3)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn too_few_requests_are_not_judged() {
        let rules = PostSwitch::default();
        assert!(breach(&m(5, 5, 10.0), Some(&m(100, 0, 10.0)), &rules).is_none());
    }
}
