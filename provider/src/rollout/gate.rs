//! The health gate: consecutive healthy answers from the idle colour's own
//! address (never through the front door), with the version it reports.

use std::time::Instant;

use super::attempt::Attempt;
use super::clock::format_duration;
use super::{HealthCheck, ReleaseError};
use crate::platform::{ColorPhase, ReleasePhase};

/// Probes the attempt's colour until `healthy_threshold` consecutive healthy
/// answers, or fails at the deadline with the figures of what was seen.
pub async fn health_gate(
    attempt: &mut Attempt<'_>,
    check: &HealthCheck,
) -> Result<(), ReleaseError> {
    attempt.enter(ReleasePhase::Validating).await;
    let engine = attempt.engine;
    let color = attempt.color;
    let started = Instant::now();
    let mut consecutive = 0u32;
    let mut probes = 0u32;
    let mut healthy_total = 0u32;
    let mut last_problem = String::from("no probe completed");
    // The platform is asked again only when a probe failed: the colour may
    // have crashed, or a restart may have given it another address.
    let mut doubt = attempt.address.is_none();
    loop {
        engine.check_stop("the health gate")?;
        if doubt {
            let state = attempt.refresh().await?;
            if state.phase == ColorPhase::Crashed {
                let exit = state.last_exit.unwrap_or_else(|| "exited".into());
                return Err(fail(
                    attempt,
                    format!(
                        "the process crashed during the gate ({exit}, {} restart(s))",
                        state.restarts
                    ),
                ));
            }
        }
        let Some(address) = attempt.address.clone() else {
            return Err(fail(
                attempt,
                "the colour has no address (is it deployed?)".into(),
            ));
        };
        let url = format!("{}{}", address.trim_end_matches('/'), check.path);
        probes += 1;
        let reply = engine
            .until_stopped(
                "the health gate",
                engine.http.request("GET", &url, check.timeout),
            )
            .await?;
        let verdict =
            reply.and_then(|reply| judge(&reply.status, &reply.body, check, &attempt.version));
        doubt = verdict.is_err();
        match verdict {
            Ok(()) => {
                consecutive += 1;
                healthy_total += 1;
            }
            Err(problem) => {
                consecutive = 0;
                last_problem = problem;
            }
        }
        if consecutive >= check.healthy_threshold {
            attempt.step(format!(
                "health check passed on {color}: {consecutive} consecutive healthy answers from {url} in {:.1}s",
                started.elapsed().as_secs_f64()
            )).await;
            if let Some(websocket) = &check.websocket {
                super::websocket_check::websocket_check(
                    attempt,
                    &address,
                    websocket,
                    check.timeout,
                )
                .await?;
            }
            return Ok(());
        }
        if started.elapsed() + check.interval > check.deadline {
            let detail = format!(
                "{healthy_total} of {probes} probes of {url} were healthy, {} consecutive needed within {}; last: {last_problem}",
                check.healthy_threshold,
                format_duration(check.deadline)
            );
            return Err(fail(attempt, detail));
        }
        // Each probe reads the platform's state too: never faster than it allows.
        let interval = check.interval.max(engine.platform.poll_interval());
        engine.pause(interval, "the health gate").await?;
    }
}

fn fail(attempt: &Attempt<'_>, detail: String) -> ReleaseError {
    attempt.gate_failed("health check", detail)
}

/// Whether one answer is healthy; `Err` says why not, with figures.
pub fn judge(status: &u16, body: &str, check: &HealthCheck, version: &str) -> Result<(), String> {
    if *status != check.expect_status {
        return Err(format!("HTTP {status}, expected {}", check.expect_status));
    }
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    if let Some(json) = &json {
        judge_health_body(json)?;
    }
    if check.expect_version {
        let reported = json.as_ref().and_then(|v| {
            v.get("version")
                .and_then(|v| v.as_str().map(str::to_string))
        });
        match reported {
            Some(v) if v == version => {}
            Some(v) => return Err(format!("reports version {v:?}, expected {version:?}")),
            None => return Err("the body has no JSON \"version\" field (set expect_version = false to skip this check)".into()),
        }
    }
    Ok(())
}

/// The release process's health body (DESIGN §3): a `status` other than
/// `healthy`/`ok`, or a `checks` entry not starting with `ok`, is unhealthy.
/// A body without those fields says nothing about them and passes.
fn judge_health_body(json: &serde_json::Value) -> Result<(), String> {
    let failing: Vec<String> = json
        .get("checks")
        .and_then(|c| c.as_object())
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| check_failure(value).map(|text| format!("{name}: {text}")))
        .collect();
    let status = json.get("status").and_then(|s| s.as_str());
    let status_ok =
        status.is_none_or(|s| s.eq_ignore_ascii_case("healthy") || s.eq_ignore_ascii_case("ok"));
    match (status_ok, failing.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => Err(format!("failing check {}", failing.join("; "))),
        (false, true) => Err(format!(
            "reports status {:?}, expected \"healthy\" or \"ok\"",
            status.unwrap_or_default()
        )),
        (false, false) => Err(format!(
            "reports status {:?}; failing check {}",
            status.unwrap_or_default(),
            failing.join("; ")
        )),
    }
}

/// The text of a failing `checks` entry, quoted; `None` when it passes or
/// has a shape the contract does not speak of. The seed's entries are
/// strings ("ok", "ok (23/23 connected)"); objects carry a `status`.
fn check_failure(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(o) => o.get("status")?.as_str()?,
        serde_json::Value::Bool(false) => return Some("false".into()),
        _ => return None,
    };
    let passes = text.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("ok"))
        || text.eq_ignore_ascii_case("healthy");
    (!passes).then(|| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_status_and_version() {
        let check = HealthCheck::default();
        assert!(judge(
            &200,
            r#"{"status":"healthy","version":"1.3.0"}"#,
            &check,
            "1.3.0"
        )
        .is_ok());
        assert_eq!(
            judge(&500, "", &check, "1.3.0").unwrap_err(),
            "HTTP 500, expected 200"
        );
        assert!(judge(&200, r#"{"version":"1.2.9"}"#, &check, "1.3.0")
            .unwrap_err()
            .contains("\"1.2.9\""));
        assert!(judge(&200, "ok", &check, "1.3.0")
            .unwrap_err()
            .contains("expect_version"));
        let lax = HealthCheck {
            expect_version: false,
            ..HealthCheck::default()
        };
        assert!(judge(&200, "ok", &lax, "1.3.0").is_ok());
    }

    #[test]
    fn judges_the_seed_health_body() {
        let check = HealthCheck::default();
        let seed = r#"{"status":"healthy","environment":"green","version":"1.3.0",
            "checks":{"database":"ok","cache":"ok","storage":"ok","equipment":"ok (23/23 connected)"}}"#;
        assert_eq!(judge(&200, seed, &check, "1.3.0"), Ok(()));
        assert_eq!(
            judge(
                &200,
                r#"{"status":"degraded","version":"1.3.0","checks":{"database":"failed: connection refused","cache":"ok"}}"#,
                &check,
                "1.3.0"
            ),
            Err(r#"reports status "degraded"; failing check database: "failed: connection refused""#.into())
        );
        // A failing check alone is enough, whatever the status says.
        assert_eq!(
            judge(
                &200,
                r#"{"status":"ok","version":"1.3.0","checks":{"equipment":"degraded (20/23 connected)"}}"#,
                &check,
                "1.3.0"
            ),
            Err(r#"failing check equipment: "degraded (20/23 connected)""#.into())
        );
        assert_eq!(
            judge(
                &200,
                r#"{"status":"starting","version":"1.3.0"}"#,
                &check,
                "1.3.0"
            ),
            Err(r#"reports status "starting", expected "healthy" or "ok""#.into())
        );
    }

    #[test]
    fn judges_checks_given_as_objects() {
        let check = HealthCheck::default();
        let body = r#"{"status":"OK","version":"1.3.0","checks":{
            "database":{"status":"ok","latency_ms":3},
            "cache":{"status":"down","error":"timeout"}}}"#;
        assert_eq!(
            judge(&200, body, &check, "1.3.0"),
            Err(r#"failing check cache: "down""#.into())
        );
    }

    #[test]
    fn bodies_without_the_contract_fields_keep_passing() {
        let lax = HealthCheck {
            expect_version: false,
            ..HealthCheck::default()
        };
        assert_eq!(judge(&200, r#"{"uptime":12}"#, &lax, "1.3.0"), Ok(()));
        assert_eq!(judge(&200, "[1,2]", &lax, "1.3.0"), Ok(()));
        assert_eq!(judge(&200, "up", &lax, "1.3.0"), Ok(()));
        assert_eq!(
            judge(
                &200,
                r#"{"version":"1.3.0","checks":{"disk":42}}"#,
                &HealthCheck::default(),
                "1.3.0"
            ),
            Ok(())
        );
    }
}
