//! RFC 3339 timestamps to the second, for the log lines and answers.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Duration, OffsetDateTime};

/// Formats the current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_rfc3339(secs)
}

/// Formats seconds since the Unix epoch as an RFC 3339 UTC timestamp.
pub fn format_rfc3339(secs: u64) -> String {
    // Saturates at 9999-12-31T23:59:59Z, the last instant `time` represents.
    let secs = Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX));
    let t = OffsetDateTime::UNIX_EPOCH.saturating_add(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::format_rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_761_820_200), "2025-10-30T10:30:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
