//! Command-line flags and their environment-variable twins.

use clap::Parser;

/// The demo application of the quickstart: a tiny order API with fault injection.
#[derive(Debug, Clone, Parser)]
#[command(name = "agog-demo-app", about, disable_version_flag = true)]
pub struct Config {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "AGOG_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to bind; loopback by default so the demo never listens on the network.
    #[arg(long, env = "AGOG_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Version this instance reports.
    #[arg(long, env = "AGOG_VERSION", default_value = "0.0.0")]
    pub version: String,

    /// Colour (blue/green) this instance reports as its environment.
    #[arg(long, env = "AGOG_COLOR", default_value = "blue")]
    pub color: String,

    /// Fraction (0.0-1.0) of non-health requests answered with 500, spread evenly.
    #[arg(long, env = "AGOG_ERROR_RATE", default_value_t = 0.0)]
    pub error_rate: f64,

    /// Extra latency added to every request, health included, in milliseconds.
    #[arg(long, env = "AGOG_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Health endpoint answers 503 "unhealthy".
    #[arg(long, env = "AGOG_UNHEALTHY", default_value_t = false)]
    pub unhealthy: bool,

    /// Health endpoint answers 200 but `"status": "degraded"` with a failed
    /// database check: an unhealthy application only the body gives away.
    #[arg(long, env = "AGOG_DEGRADED", default_value_t = false)]
    pub degraded: bool,

    /// Version reported by the health endpoint instead of the real one.
    #[arg(long, env = "AGOG_REPORT_VERSION")]
    pub report_version: Option<String>,

    /// Exit with status 1 after this many seconds.
    #[arg(long, env = "AGOG_CRASH_AFTER")]
    pub crash_after: Option<f64>,

    /// Apply the faults above only when `--version` equals this value, so one
    /// command template can describe a healthy and a faulty release.
    #[arg(long, env = "AGOG_FAULTY_VERSION")]
    pub faulty_version: Option<String>,

    /// Log one line per request to stdout.
    #[arg(long, env = "AGOG_ACCESS_LOG", default_value_t = false)]
    pub access_log: bool,
}

impl Config {
    /// Whether fault flags apply to this instance (see `--faulty-version`).
    pub fn faults_enabled(&self) -> bool {
        match &self.faulty_version {
            Some(v) => v == &self.version,
            None => true,
        }
    }

    /// Rejects values a human could mistype, with the flag name in the message.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.error_rate) || self.error_rate.is_nan() {
            anyhow::bail!(
                "--error-rate must be between 0.0 and 1.0 (got {})",
                self.error_rate
            );
        }
        if let Some(secs) = self.crash_after {
            if !(secs.is_finite() && secs >= 0.0) {
                anyhow::bail!(
                    "--crash-after must be a non-negative number of seconds (got {secs})"
                );
            }
        }
        Ok(())
    }
}
