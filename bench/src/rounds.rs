//! Side-by-side `wrk` measurements: every target runs once per round, in an order that
//! rotates from round to round, and the CPU time of the proxy and of the upstream
//! processes is read from /proc around each run. Used by the front door benchmarks.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::cpu::{cpu_seconds, tree_cpu_seconds};
use crate::machine;
use crate::stats::{summarize, Summary};
use crate::table::{ms, ratio, Table};
use crate::wrk::{self, WrkResult, WrkSettings};

/// What one measured run goes to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in the tables.
    pub label: String,
    /// URL given to `wrk`.
    pub url: String,
    /// `wrk -s` script, if any.
    pub script: Option<PathBuf>,
    /// Process whose CPU time is the proxy's (None: no proxy).
    pub proxy_pid: Option<u32>,
    /// Whether the proxy forks workers whose CPU must be added (nginx).
    pub proxy_tree: bool,
    /// The upstream processes behind it; their CPU times are added.
    pub upstream_pids: Vec<u32>,
}

impl Target {
    /// Proxy CPU seconds so far (None: no proxy).
    fn proxy_cpu(&self) -> Option<f64> {
        self.proxy_pid.map(|pid| {
            if self.proxy_tree {
                tree_cpu_seconds(pid)
            } else {
                cpu_seconds(pid).unwrap_or(0.0)
            }
        })
    }

    /// Upstream CPU seconds so far.
    fn upstream_cpu(&self) -> f64 {
        self.upstream_pids
            .iter()
            .filter_map(|p| cpu_seconds(*p))
            .sum()
    }
}

/// A target's measured runs.
#[derive(Debug, Default, Clone)]
pub struct Results {
    /// One per round.
    pub runs: Vec<WrkResult>,
    /// Proxy CPU ms per 1,000 requests (= µs per request), per run.
    pub proxy_cpu: Vec<f64>,
    /// Upstream CPU ms per 1,000 requests, per run.
    pub upstream_cpu: Vec<f64>,
}

/// What a benchmark does around the runs.
pub trait Hooks {
    /// Before every run of `target` (warm-up or measured), e.g. to install its routing.
    fn before_run(&mut self, _target: usize) -> anyhow::Result<()> {
        Ok(())
    }

    /// After every measured run; the text is appended to the progress line.
    fn after_run(&mut self, _target: usize, _result: &WrkResult) -> anyhow::Result<String> {
        Ok(String::new())
    }

    /// After every round, e.g. to check that the servers still run.
    fn after_round(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// One unmeasured run per target, `warm.seconds` long (none when 0).
pub fn warm_up(
    wrk_bin: &Path,
    warm: &WrkSettings,
    targets: &[Target],
    hooks: &mut dyn Hooks,
) -> anyhow::Result<()> {
    if warm.seconds == 0 {
        return Ok(());
    }
    for (i, t) in targets.iter().enumerate() {
        hooks.before_run(i)?;
        wrk::run_with_script(wrk_bin, warm, &t.url, t.script.as_deref())
            .with_context(|| format!("warming up {}", t.label))?;
    }
    Ok(())
}

/// `rounds` rounds; round `r` runs target `(k + r) % n` as its `k`-th. `tag` prefixes
/// the progress lines (e.g. `c64`).
pub fn measure(
    wrk_bin: &Path,
    settings: &WrkSettings,
    targets: &[Target],
    rounds: usize,
    tag: &str,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<Vec<Results>> {
    let mut results: Vec<Results> = targets.iter().map(|_| Results::default()).collect();
    let width = targets.iter().map(|t| t.label.len()).max().unwrap_or(0);
    for round in 0..rounds {
        for k in 0..targets.len() {
            let i = (k + round) % targets.len();
            let t = &targets[i];
            hooks.before_run(i)?;
            let p0 = t.proxy_cpu();
            let u0 = t.upstream_cpu();
            let r = wrk::run_with_script(wrk_bin, settings, &t.url, t.script.as_deref())
                .with_context(|| format!("measuring {}", t.label))?;
            let u1 = t.upstream_cpu();
            let per_1k = |cpu: f64| cpu * 1000.0 / (r.requests.max(1) as f64 / 1000.0);
            if let (Some(p0), Some(p1)) = (p0, t.proxy_cpu()) {
                results[i].proxy_cpu.push(per_1k(p1 - p0));
            }
            results[i].upstream_cpu.push(per_1k(u1 - u0));
            let extra = hooks.after_run(i, &r)?;
            println!(
                "  {tag} round {}: {:<width$} {:>9.0} req/s  p99 {:>6.2} ms  errors {}  load {}{}",
                round + 1,
                t.label,
                r.rps,
                r.p99_ms,
                r.errors,
                machine::load(),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!("  {extra}")
                }
            );
            results[i].runs.push(r);
        }
        hooks.after_round()?;
    }
    Ok(results)
}

/// The per-target table: req/s, p50, p99, errors, CPU per request. `first` names the
/// first column.
pub fn results_table(first: &str, targets: &[Target], results: &[Results]) -> Table {
    let mut table = Table::new([
        first,
        "req/s median (min–max)",
        "p50 ms",
        "p99 ms median (min–max)",
        "errors",
        "proxy CPU ms / 1k req",
        "upstream CPU ms / 1k req",
    ]);
    for (t, r) in targets.iter().zip(results) {
        let rps = summarize(&r.runs.iter().map(|x| x.rps).collect::<Vec<_>>());
        let p99 = summarize(&r.runs.iter().map(|x| x.p99_ms).collect::<Vec<_>>());
        let p50 = summarize(&r.runs.iter().map(|x| x.p50_ms).collect::<Vec<_>>());
        let errors: u64 = r.runs.iter().map(|x| x.errors).sum();
        table.row([
            t.label.clone(),
            format!("{:.0} ({:.0}–{:.0})", rps.median, rps.min, rps.max),
            format!("{:.2}", p50.median),
            format!("{:.2} ({:.2}–{:.2})", p99.median, p99.min, p99.max),
            errors.to_string(),
            if t.proxy_pid.is_some() {
                ms(summarize(&r.proxy_cpu).median)
            } else {
                "—".into()
            },
            ms(summarize(&r.upstream_cpu).median),
        ]);
    }
    table
}

/// `f(a) / f(b)` for each round (a and b ran in the same round).
pub fn per_round(a: &Results, b: &Results, f: impl Fn(&WrkResult) -> f64) -> Summary {
    let ratios: Vec<f64> = a
        .runs
        .iter()
        .zip(&b.runs)
        .map(|(x, y)| f(x) / f(y))
        .collect();
    summarize(&ratios)
}

/// `0.97× (0.78–1.13)`: a ratio's median and range.
pub fn ratio_range(s: &Summary) -> String {
    format!("{}× ({}–{})", ratio(s.median), ratio(s.min), ratio(s.max))
}

/// `127.0.0.1` port and path of `http://127.0.0.1:PORT/path`.
pub fn split_url(url: &str) -> anyhow::Result<(u16, &str)> {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .ok_or_else(|| anyhow::anyhow!("{url} is not http://127.0.0.1:PORT/…"))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let port = rest[..slash]
        .parse()
        .with_context(|| format!("port of {url}"))?;
    Ok((
        port,
        if slash == rest.len() {
            "/"
        } else {
            &rest[slash..]
        },
    ))
}

/// Sends one request (`Connection: close`) to `url` with `headers` and checks it is
/// answered 200, by `expect_color` if given (`x-bluegreen-color`). Returns the colour
/// header's value ("" when absent).
pub fn check(
    label: &str,
    url: &str,
    headers: &[(&str, &str)],
    expect_color: Option<&str>,
) -> anyhow::Result<String> {
    let (port, path) = split_url(url)?;
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to {label}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .with_context(|| format!("reading {label}'s answer"))?;
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200"),
        "{label} answered:\n{answer}"
    );
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    let color = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("x-bluegreen-color"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if let Some(want) = expect_color {
        anyhow::ensure!(
            color == want,
            "{label} answered without x-bluegreen-color: {want}:\n{answer}"
        );
    }
    Ok(color)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_loopback_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/api/version").unwrap(),
            (8080, "/api/version")
        );
        assert_eq!(split_url("http://127.0.0.1:81").unwrap(), (81, "/"));
        assert!(split_url("http://example.com/").is_err());
    }
}
