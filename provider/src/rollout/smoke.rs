//! Smoke tests: requests against the idle colour that must answer as expected.

use std::time::Duration;

use super::deploy::live_note;
use super::{Engine, ReleaseError, ReleaseReport, SmokeTest};
use crate::platform::Color;

/// Runs every smoke test once; the first failure stops the release.
pub async fn run_smoke_tests(
    engine: &Engine<'_>,
    environment: &str,
    color: Color,
    tests: &[SmokeTest],
    report: &mut ReleaseReport,
) -> Result<(), ReleaseError> {
    if tests.is_empty() {
        return Ok(());
    }
    let state = engine
        .platform
        .status(environment)
        .await?
        .map(|s| s.color(color));
    let address = state
        .as_ref()
        .and_then(|c| c.address.clone())
        .unwrap_or_default();
    let version = state.and_then(|c| c.version).unwrap_or_default();
    for test in tests {
        engine.check_stop("smoke tests")?;
        let url = format!("{}{}", address.trim_end_matches('/'), test.path);
        let reply = engine
            .until_stopped(
                "smoke tests",
                engine
                    .http
                    .request(&test.method, &url, Duration::from_secs(10)),
            )
            .await?;
        let problem = match reply {
            Err(e) => Some(e),
            Ok(reply) if reply.status != test.expect_status => Some(format!(
                "{} {} answered HTTP {}, expected {}",
                test.method, test.path, reply.status, test.expect_status
            )),
            Ok(reply) => match &test.body_contains {
                Some(needle) if !reply.body.contains(needle.as_str()) => Some(format!(
                    "{} {} body does not contain {needle:?}",
                    test.method, test.path
                )),
                _ => None,
            },
        };
        if let Some(detail) = problem {
            return Err(ReleaseError::GateFailed {
                check: format!("smoke test {:?}", test.name),
                color: color.to_string(),
                version,
                detail,
                live_note: live_note(engine, environment).await,
            });
        }
        report.step(format!("smoke test {:?} passed on {color}", test.name));
    }
    Ok(())
}
