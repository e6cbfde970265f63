//! Reading what a Terraform command printed: the helpers every suite that
//! matches diagnostics needs.
//!
//! Terraform wraps long diagnostic lines at the terminal width, so a message
//! is matched only after the lines of each paragraph are joined again.

use regex::Regex;

use super::workspace::{Output, Workspace};

/// Terraform wraps long diagnostic lines; joins the lines of each paragraph
/// so that messages can be matched whole.
pub fn unwrapped(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push('\n');
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(line.trim_start());
        }
    }
    out
}

/// Fails the test, with the command's output and log, unless the output of
/// `out` (paragraphs unwrapped) matches `pattern`; returns the captures.
pub fn expect_match(ws: &Workspace, out: &Output, pattern: &str) -> Vec<String> {
    let re = Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"));
    let text = unwrapped(&out.plain());
    match re.captures(&text) {
        Some(c) => c
            .iter()
            .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
            .collect(),
        None => ws.fail(Some(out), &format!("the output does not match /{pattern}/")),
    }
}

/// The first error diagnostic of a command's output, unwrapped to one line
/// per paragraph: what a release engineer reads.
pub fn first_error(out: &Output) -> String {
    let text = unwrapped(&out.plain());
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Error: "));
    let mut error: Vec<&str> = lines.next().into_iter().collect();
    error.extend(
        lines
            .take_while(|l| !l.starts_with("Error: "))
            .filter(|l| !l.is_empty()),
    );
    error.join(" | ")
}

/// The time of day, in ms since midnight, of a Terraform log line's leading
/// `2025-10-30T10:30:00.123Z` / `2025-10-30T10:30:00.123+0000` timestamp
/// (UTC); `None` for another shape.
pub fn log_time_ms(line: &str) -> Option<u64> {
    let t = line.get(11..23)?;
    let (h, rest) = t.split_once(':')?;
    let (m, s) = rest.split_once(':')?;
    let secs: f64 = s.parse().ok()?;
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    Some((h * 3600 + m * 60) * 1000 + (secs * 1000.0).round() as u64)
}
