//! Smoke tests: requests against the idle colour that must answer as expected.

use std::time::Duration;

use super::attempt::Attempt;
use super::{ReleaseError, SmokeTest};

/// Runs every smoke test once on the attempt's colour (at the address the
/// gate just probed); the first failure stops the release.
pub async fn run_smoke_tests(
    attempt: &mut Attempt<'_>,
    tests: &[SmokeTest],
) -> Result<(), ReleaseError> {
    if tests.is_empty() {
        return Ok(());
    }
    let engine = attempt.engine;
    let address = attempt.address.clone().unwrap_or_default();
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
            attempt
                .step(format!(
                    "smoke test {:?} failed on {}: {detail}",
                    test.name, attempt.color
                ))
                .await;
            return Err(attempt.gate_failed(format!("smoke test {:?}", test.name), detail));
        }
        attempt
            .step(format!(
                "smoke test {:?} passed on {}",
                test.name, attempt.color
            ))
            .await;
    }
    Ok(())
}
