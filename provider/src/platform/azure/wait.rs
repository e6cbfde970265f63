//! Waiting the way ARM asks: `Retry-After` (seconds or an HTTP date, or the
//! millisecond variants some services send), and every wait ends at once
//! when Terraform is interrupted (Ctrl-C cancels the engine's token).

use std::time::Duration;

use azure_core::http::headers::Headers;
use azure_core::time::{parse_rfc7231, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use super::error::AzureError;

/// Sleeps `delay` unless `stop` fires first; `what` names the wait in the error.
pub async fn pause(
    delay: Duration,
    stop: &CancellationToken,
    what: &str,
) -> Result<(), AzureError> {
    let started = std::time::Instant::now();
    let outcome = tokio::select! {
        biased;
        _ = stop.cancelled() => Err(AzureError::Cancelled(what.to_string())),
        _ = tokio::time::sleep(delay) => Ok(()),
    };
    crate::waits::record(what, started.elapsed());
    outcome
}

fn header<'a>(headers: &'a Headers, name: &'static str) -> Option<&'a str> {
    headers.get_optional_str(&name.into())
}

/// The delay an answer asks for: `retry-after-ms`, `x-ms-retry-after-ms`,
/// then `Retry-After` in seconds or as an HTTP date (a past date means now).
pub fn retry_after(headers: &Headers) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header(headers, name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = header(headers, "retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_rfc7231(value).ok()?;
    let left = at - OffsetDateTime::now_utc();
    Some(Duration::from_millis(
        left.whole_milliseconds().max(0) as u64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::headers::{HeaderName, HeaderValue};
    use azure_core::time::{to_rfc7231, Duration as TimeDuration};
    use std::time::Instant;

    fn headers(pairs: &[(&'static str, String)]) -> Headers {
        let mut h = Headers::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from(v.clone()));
        }
        h
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7".into())])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "7".into()),
                ("retry-after-ms", "250".into())
            ])),
            Some(Duration::from_millis(250))
        );
        let later = to_rfc7231(&(OffsetDateTime::now_utc() + TimeDuration::seconds(30)));
        let d = retry_after(&headers(&[("retry-after", later)])).expect("date");
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        let past = to_rfc7231(&(OffsetDateTime::now_utc() - TimeDuration::seconds(30)));
        assert_eq!(
            retry_after(&headers(&[("retry-after", past)])),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "soon".into())])),
            None
        );
        assert_eq!(retry_after(&Headers::new()), None);
    }

    #[tokio::test]
    async fn a_pause_ends_when_stopped() {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let result = pause(Duration::from_secs(60), &stop, "waiting for a test").await;
        assert!(matches!(result, Err(AzureError::Cancelled(ref w)) if w == "waiting for a test"));
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
