//! Time in the words the engine reports: durations the way Terraform users
//! write them and RFC 3339 instants, from `std` and `time` alone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// Formats a duration the way Go prints simple ones (`90s` → `1m30s`,
/// `1500ms` → `1500ms`), matching what users write in `timeouts` blocks.
pub fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".into();
    }
    if !total_ms.is_multiple_of(1000) {
        return format!("{total_ms}ms");
    }
    let secs = total_ms / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// `at` as RFC 3339 UTC with whole seconds (`2026-12-02T15:21:40Z`).
pub fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    // Saturates at year 9999, the last year `time` represents.
    let since = time::Duration::try_from(since).unwrap_or(time::Duration::MAX);
    let t = OffsetDateTime::UNIX_EPOCH.saturating_add(since);
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

/// Now as RFC 3339 UTC with whole seconds.
pub fn rfc3339_now() -> String {
    rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_terraform_timeouts() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn instants_are_rfc3339_seconds_in_utc() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_225_300_999);
        assert_eq!(rfc3339(at), "2026-12-02T15:28:20Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
