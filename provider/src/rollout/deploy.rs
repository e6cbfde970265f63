//! Deploying to the idle colour and waiting until its process accepts connections.

use std::time::Instant;

use super::attempt::Attempt;
use super::clock::format_duration;
use super::{HealthCheck, ReleaseError};
use crate::platform::{ColorPhase, ColorState, ReleasePhase};

/// Deploys the attempt's version on its colour and waits for it to run. A
/// colour that keeps crashing fails here with its exit status and last log lines.
pub async fn deploy_and_wait(
    attempt: &mut Attempt<'_>,
    health: &HealthCheck,
) -> Result<(), ReleaseError> {
    let engine = attempt.engine;
    let (color, version) = (attempt.color, attempt.version.clone());
    attempt.enter(ReleasePhase::Deploying).await;
    attempt
        .step(format!("deploying {version} to {color}"))
        .await;
    engine
        .platform
        .deploy(attempt.environment, color, &version, engine.lease)
        .await?;
    let started = Instant::now();
    let poll = engine.platform.poll_interval();
    loop {
        engine.check_stop("deployment")?;
        // The colour's phase is what this loop waits for: read it every
        // time, and only it (a cloud platform counts reads).
        let state = engine
            .platform
            .readiness(attempt.environment, color)
            .await?
            .filter(|c| c.version.as_deref() == Some(version.as_str()));
        if let Some(c) = &state {
            match c.phase {
                ColorPhase::Running => {
                    attempt.address.clone_from(&c.address);
                    attempt
                        .step(format!(
                            "{color} runs {version} after {:.1}s",
                            started.elapsed().as_secs_f64()
                        ))
                        .await;
                    return Ok(());
                }
                ColorPhase::Crashed => return Err(crash_error(attempt, c)),
                _ => {}
            }
        }
        if started.elapsed() > health.deadline {
            let seen = state.map_or("not reported".to_string(), |c| c.phase.as_str().to_string());
            return Err(attempt.gate_failed(
                "readiness",
                format!(
                    "the process did not accept connections within the {} deadline (last status: {seen})",
                    format_duration(health.deadline)
                ),
            ));
        }
        engine.pause(poll, "deployment").await?;
    }
}

fn crash_error(attempt: &Attempt<'_>, c: &ColorState) -> ReleaseError {
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
    attempt.gate_failed(
        "readiness (crash loop)",
        format!(
            "the process crashed ({exit}, {} restart(s)){tail}",
            c.restarts
        ),
    )
}
