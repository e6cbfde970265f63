//! Deploying to the idle colour and waiting until its process accepts connections.

use std::time::{Duration, Instant};

use super::clock::format_duration;
use super::{Engine, HealthCheck, ReleaseError, ReleaseReport};
use crate::platform::{Color, ColorPhase, ColorState};

/// Deploys `version` on `color` and waits for it to run. A colour that keeps
/// crashing fails here with its exit status and last log lines.
pub async fn deploy_and_wait(
    engine: &Engine<'_>,
    environment: &str,
    color: Color,
    version: &str,
    health: &HealthCheck,
    report: &mut ReleaseReport,
) -> Result<(), ReleaseError> {
    report.step(format!("deploying {version} to {color}"));
    engine
        .platform
        .deploy(environment, color, version, engine.lease)
        .await?;
    let started = Instant::now();
    let poll = Duration::from_millis(100);
    loop {
        engine.check_stop("deployment")?;
        let state = engine
            .platform
            .status(environment)
            .await?
            .map(|s| s.color(color))
            .filter(|c| c.version.as_deref() == Some(version));
        if let Some(c) = &state {
            match c.phase {
                ColorPhase::Running => {
                    report.step(format!(
                        "{color} runs {version} after {:.1}s",
                        started.elapsed().as_secs_f64()
                    ));
                    return Ok(());
                }
                ColorPhase::Crashed => {
                    return Err(crash_error(
                        color,
                        version,
                        c,
                        live_note(engine, environment).await,
                    ))
                }
                _ => {}
            }
        }
        if started.elapsed() > health.deadline {
            let seen = state.map_or("not reported".to_string(), |c| c.phase.as_str().to_string());
            return Err(ReleaseError::GateFailed {
                check: "readiness".into(),
                color: color.to_string(),
                version: version.to_string(),
                detail: format!(
                    "the process did not accept connections within the {} deadline (last status: {seen})",
                    format_duration(health.deadline)
                ),
                live_note: live_note(engine, environment).await,
            });
        }
        engine.pause(poll, "deployment").await?;
    }
}

fn crash_error(color: Color, version: &str, c: &ColorState, live_note: String) -> ReleaseError {
    let exit = c.last_exit.clone().unwrap_or_else(|| "exited".into());
    let tail = if c.log_tail.is_empty() {
        String::new()
    } else {
        format!(
            "; last log lines:\n  {}\n",
            c.log_tail
                .iter()
                .rev()
                .take(10)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    };
    ReleaseError::GateFailed {
        check: "readiness (crash loop)".into(),
        color: color.to_string(),
        version: version.to_string(),
        detail: format!(
            "the process crashed ({exit}, {} restart(s)){tail}",
            c.restarts
        ),
        live_note,
    }
}

/// "1.2.0 on blue keeps serving." or "nothing was live before."
pub async fn live_note(engine: &Engine<'_>, environment: &str) -> String {
    match engine.platform.status(environment).await {
        Ok(Some(s)) => match (s.live_color(), s.live_version()) {
            (Some(c), Some(v)) => format!("{v} on {c} keeps serving."),
            _ => "nothing was live before.".into(),
        },
        _ => "the live colour is unchanged.".into(),
    }
}
