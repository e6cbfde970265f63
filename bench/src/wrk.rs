//! Running `wrk --latency` and reading its report.

use std::path::Path;
use std::process::Stdio;

use anyhow::Context;

use crate::process::command;

/// One `wrk` run's settings.
#[derive(Debug, Clone)]
pub struct WrkSettings {
    /// `-t`.
    pub threads: u32,
    /// `-c`.
    pub connections: u32,
    /// `-d`, seconds.
    pub seconds: u32,
}

impl WrkSettings {
    /// The command line, for the report.
    pub fn args(&self, url: &str) -> Vec<String> {
        vec![
            format!("-t{}", self.threads),
            format!("-c{}", self.connections),
            format!("-d{}s", self.seconds),
            "--timeout".into(),
            "5s".into(),
            "--latency".into(),
            url.to_owned(),
        ]
    }
}

/// What `wrk` reported.
#[derive(Debug, Clone, Default)]
pub struct WrkResult {
    /// Requests/sec.
    pub rps: f64,
    /// Latency percentiles, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Non-2xx/3xx answers plus socket errors.
    pub errors: u64,
}

/// Runs `wrk` against `url`.
pub fn run(wrk: &Path, settings: &WrkSettings, url: &str) -> anyhow::Result<WrkResult> {
    let out = command(wrk)
        .args(settings.args(url))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", wrk.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!(
            "wrk failed ({}): {}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// Parses `wrk --latency` output.
pub fn parse(text: &str) -> anyhow::Result<WrkResult> {
    let mut r = WrkResult::default();
    let mut saw_rps = false;
    for line in text.lines().map(str::trim) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["Requests/sec:", v] => {
                r.rps = v.parse()?;
                saw_rps = true;
            }
            ["50%", v] => r.p50_ms = duration_ms(v)?,
            ["99%", v] => r.p99_ms = duration_ms(v)?,
            [n, "requests", "in", ..] => r.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.errors += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                for n in rest.iter().skip(1).step_by(2) {
                    r.errors += n.trim_end_matches(',').parse::<u64>()?;
                }
            }
            _ => {}
        }
    }
    if !saw_rps {
        anyhow::bail!("no Requests/sec line");
    }
    Ok(r)
}

/// `1.23ms`, `456.00us`, `1.02s`, `2.00m` → milliseconds.
fn duration_ms(v: &str) -> anyhow::Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| anyhow::anyhow!("duration {v:?} has no unit"))?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => anyhow::bail!("duration {v:?} has an unknown unit"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_report() {
        let text = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.23ms  300.00us   9.00ms   80.00%\n  Latency Distribution\n     50%  850.00us\n     75%    1.20ms\n     90%    2.00ms\n     99%    4.56ms\n  123456 requests in 10.00s, 12.34MB read\n  Non-2xx or 3xx responses: 5\n  Socket errors: connect 1, read 2, write 0, timeout 3\nRequests/sec:  12345.67\nTransfer/sec:      1.23MB\n";
        let r = parse(text).unwrap();
        assert_eq!(r.requests, 123_456);
        assert!((r.rps - 12345.67).abs() < 1e-6);
        assert!((r.p50_ms - 0.85).abs() < 1e-9);
        assert!((r.p99_ms - 4.56).abs() < 1e-9);
        assert_eq!(r.errors, 11);
    }
}
