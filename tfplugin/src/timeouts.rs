//! The `timeouts { create, update, delete }` block and Go-style durations.

use std::time::Duration;

use crate::diag::Diagnostic;
use crate::schema::{Attribute, Block, NestedBlock};
use crate::value::{AttributePath, Value};

/// A `timeouts` nested block offering the given operations (e.g. `["create", "update", "delete"]`).
pub fn timeouts_block(operations: &[&str], defaults: &[Duration]) -> NestedBlock {
    let mut block =
        Block::new().description("How long each operation may take before Terraform gives up.");
    for (i, op) in operations.iter().enumerate() {
        let default = defaults
            .get(i)
            .map(|d| format_duration(*d))
            .unwrap_or_default();
        block = block.attr(Attribute::string(*op).optional().description(format!(
            "A duration such as `30s`, `20m` or `1h30m`. Default `{default}`."
        )));
    }
    NestedBlock::single("timeouts", block)
}

/// The timeout for `operation` from a resource value's `timeouts` block, or `default`.
pub fn timeout_for(
    value: &Value,
    operation: &str,
    default: Duration,
) -> Result<Duration, Diagnostic> {
    let raw = value.get("timeouts").get(operation);
    match raw.as_str() {
        None => Ok(default),
        Some(s) => parse_duration(s).map_err(|e| {
            Diagnostic::error(
                "Invalid timeout",
                format!("{e}. Use a duration such as \"20m\" or \"1h30m\"."),
            )
            .at(AttributePath::attr("timeouts").then_attr(operation))
        }),
    }
}

/// Parses Go's duration syntax: a sequence of decimal numbers with units
/// `ms`, `s`, `m`, `h` (and `us`, `ns`), e.g. `1h30m`, `1.5s`, `250ms`.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "invalid duration {input:?}: expected a number at {rest:?}"
            ));
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| {
            format!(
                "invalid duration {input:?}: bad number {:?}",
                &rest[..num_len]
            )
        })?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "invalid duration {input:?}: missing unit (ms, s, m or h)"
                ))
            }
            other => {
                return Err(format!(
                    "invalid duration {input:?}: unknown unit {other:?} (use ms, s, m or h)"
                ))
            }
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("invalid duration {input:?}: too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way Go prints simple ones (`90s` → `1m30s`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("10").unwrap_err().contains("missing unit"));
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1m30s", "20m", "1h", "250ms", "45s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
