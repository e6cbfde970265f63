//! What became of the long-lived connections (WebSocket tunnels) of the colour a release
//! took traffic from: after a switch they stay on it until they end on their own
//! (drained) or the environment's drain timeout closes them (cut). The release report
//! says so, because an operator of a WebSocket-heavy application asks exactly that.

use crate::platform::{Color, Connections};

/// "WebSocket connections of 1.2.0 on blue since the switch: 3 drained, 1 cut at the
/// drain deadline, 2 still draining", from the colour's counts before the switch and
/// now. `None` when the platform does not count connections, or the colour had none.
pub fn summary(
    color: Color,
    version: Option<&str>,
    before: Option<Connections>,
    now: Option<Connections>,
) -> Option<String> {
    let (before, now) = (before?, now?);
    // Totals since the platform started counting: a restarted daemon starts again
    // from zero, so a reading below the first one counts from zero.
    let since = |now: u64, then: u64| if now >= then { now - then } else { now };
    let drained = since(now.drained, before.drained);
    let cut = since(now.cut, before.cut);
    if drained == 0 && cut == 0 && now.open == 0 {
        return None;
    }
    let of = version.map(|v| format!("{v} on ")).unwrap_or_default();
    let mut text = format!(
        "WebSocket connections of {of}{color} since the switch: {drained} drained, {cut} cut at the drain deadline"
    );
    if now.open > 0 {
        text.push_str(&format!(", {} still draining", now.open));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(open: u64, drained: u64, cut: u64) -> Option<Connections> {
        Some(Connections { open, drained, cut })
    }

    #[test]
    fn counts_what_ended_since_the_switch_and_what_is_still_open() {
        assert_eq!(
            summary(Color::Blue, Some("1.2.0"), c(4, 2, 1), c(0, 5, 2)).as_deref(),
            Some("WebSocket connections of 1.2.0 on blue since the switch: 3 drained, 1 cut at the drain deadline")
        );
        assert_eq!(
            summary(Color::Green, None, c(3, 0, 0), c(2, 1, 0)).as_deref(),
            Some("WebSocket connections of green since the switch: 1 drained, 0 cut at the drain deadline, 2 still draining")
        );
    }

    #[test]
    fn says_nothing_without_connections_or_counts() {
        assert_eq!(
            summary(Color::Blue, Some("1.2.0"), c(0, 4, 1), c(0, 4, 1)),
            None
        );
        assert_eq!(summary(Color::Blue, Some("1.2.0"), None, c(1, 0, 0)), None);
        assert_eq!(summary(Color::Blue, Some("1.2.0"), c(1, 0, 0), None), None);
    }

    #[test]
    fn a_restarted_platform_counts_from_zero() {
        assert_eq!(
            summary(Color::Blue, None, c(1, 7, 3), c(0, 0, 1)).as_deref(),
            Some("WebSocket connections of blue since the switch: 0 drained, 1 cut at the drain deadline")
        );
    }
}
