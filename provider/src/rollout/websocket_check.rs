//! The gate's `websocket_check`: once the colour answers its health check,
//! a WebSocket to its own address must switch protocols (and, when asked,
//! send a first message with the expected text), or nothing is switched.

use std::time::Duration;

use super::attempt::Attempt;
use super::{ReleaseError, WebSocketCheck};
use crate::http::websocket::websocket_url;

/// Runs the check once against `address` (the address the health gate just
/// probed), within `timeout` (the health check's per-probe time).
pub async fn websocket_check(
    attempt: &mut Attempt<'_>,
    address: &str,
    check: &WebSocketCheck,
    timeout: Duration,
) -> Result<(), ReleaseError> {
    let engine = attempt.engine;
    engine.check_stop("the websocket check")?;
    let url = websocket_url(address, &check.path);
    let expected = check
        .expect_message
        .as_ref()
        .map(|text| text.replace("{version}", &attempt.version));
    let reply = engine
        .until_stopped(
            "the websocket check",
            engine
                .http
                .websocket(&url, check.send.as_deref(), expected.is_some(), timeout),
        )
        .await?;
    let verdict = reply.and_then(|reply| match (&expected, reply.first_message) {
        (Some(needle), Some(message)) if !message.contains(needle.as_str()) => Err(format!(
            "the first message {:?} does not contain {needle:?}",
            shorten(&message)
        )),
        (_, message) => Ok(message),
    });
    match verdict {
        Ok(message) => {
            let got = message.map_or(String::new(), |m| {
                format!(", first message {:?}", shorten(&m))
            });
            attempt
                .step(format!(
                    "websocket check passed on {}: {url} switched protocols{got}",
                    attempt.color
                ))
                .await;
            Ok(())
        }
        Err(problem) => Err(attempt.gate_failed("websocket_check", format!("{url}: {problem}"))),
    }
}

/// At most 200 characters of a message, for diagnostics.
fn shorten(message: &str) -> String {
    let mut short: String = message.chars().take(200).collect();
    if short.len() < message.len() {
        short.push('…');
    }
    short
}
