//! Wall-clock helpers: unix milliseconds and RFC 3339 strings with milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Duration, OffsetDateTime};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The current time as an RFC 3339 UTC timestamp with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339(now_ms())
}

/// A duration for people watching a release: tenths under 10 s ("0.3s", a watch
/// that ended early must not read "0s"), whole seconds above ("12s").
pub fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(ms: u64) -> String {
    // Saturates at 9999-12-31T23:59:59.999Z, the last instant `time` represents.
    let ms = Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
    let t = OffsetDateTime::UNIX_EPOCH.saturating_add(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {

    use super::{rfc3339, seconds};

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_761_820_200_123), "2025-10-30T10:30:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn saturates_past_year_9999() {
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn seconds_keep_tenths_while_they_matter() {
        assert_eq!(seconds(300), "0.3s");
        assert_eq!(seconds(3_000), "3.0s");
        assert_eq!(seconds(9_949), "9.9s");
        assert_eq!(seconds(12_700), "12s");
    }
}
