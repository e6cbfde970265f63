//! Logs in go-hclog's JSON format on stderr, the format Terraform (through
//! go-plugin) parses from provider processes, so `TF_LOG=INFO terraform apply`
//! shows our lines with their levels.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// The level Terraform asks for: `TF_LOG_PROVIDER`, else `TF_LOG`; warnings otherwise.
pub fn level_from_env() -> LevelFilter {
    let raw = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .unwrap_or_default();
    parse_level(&raw)
}

/// Maps Terraform's log level names to a filter (`JSON` means trace, as in Terraform).
pub fn parse_level(raw: &str) -> LevelFilter {
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

/// Libraries whose own tracing (frame-by-frame HTTP/2, TLS) would drown the
/// provider's lines in `TF_LOG=trace` output: they log warnings and errors only.
const QUIET_LIBRARIES: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "tonic",
    "rustls",
    "axum",
    "sqlx",
    "reqwest",
];

/// The filter for a level: ours at `level`, chatty libraries at warn at most.
pub fn filter_for(level: LevelFilter) -> Targets {
    let quiet = level.min(LevelFilter::WARN);
    QUIET_LIBRARIES
        .iter()
        .fold(Targets::new().with_default(level), |t, lib| {
            t.with_target(*lib, quiet)
        })
}

/// Installs the hclog JSON logger as the global subscriber. Safe to call twice.
pub fn init(module: &'static str) {
    let layer = HclogLayer { module }.with_filter(filter_for(level_from_env()));
    let _ = tracing::subscriber::set_global_default(Registry::default().with(layer));
}

/// A tracing layer writing one hclog JSON object per line to stderr.
pub struct HclogLayer {
    module: &'static str,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        let line = format_line(
            *event.metadata().level(),
            self.module,
            &fields.message,
            fields.fields,
            SystemTime::now(),
        );
        // A failed write to stderr has nowhere else to be reported.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

#[derive(Default)]
struct FieldCollector {
    message: String,
    fields: Map<String, Json>,
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields
                .insert(field.name().to_string(), Json::String(text));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields
                .insert(field.name().to_string(), Json::String(value.to_string()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().to_string(), value.into());
    }
}

/// One hclog JSON line (without the newline).
pub fn format_line(
    level: Level,
    module: &str,
    message: &str,
    fields: Map<String, Json>,
    at: SystemTime,
) -> String {
    let mut obj = Map::new();
    obj.insert("@level".into(), hclog_level(level).into());
    obj.insert("@message".into(), message.into());
    obj.insert("@module".into(), module.into());
    obj.insert("@timestamp".into(), hclog_timestamp(at).into());
    for (k, v) in fields {
        // Keys starting with '@' are hclog's own; never let a field shadow them.
        if !k.starts_with('@') {
            obj.insert(k, v);
        }
    }
    Json::Object(obj).to_string()
}

fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `2006-01-02T15:04:05.000000Z`: hclog's layout, exactly six fractional digits, UTC.
pub fn hclog_timestamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    // Saturates at year 9999, the last year `time` represents.
    let since = time::Duration::try_from(since).unwrap_or(time::Duration::MAX);
    let t = OffsetDateTime::UNIX_EPOCH.saturating_add(since);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamp_has_six_fractional_digits() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(hclog_timestamp(at), "2023-11-14T22:13:20.123456Z");
        let at = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day 2000
        assert_eq!(hclog_timestamp(at), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn line_is_hclog_json() {
        let mut fields = Map::new();
        fields.insert("tf_rpc".into(), "PlanResourceChange".into());
        fields.insert("@level".into(), "spoof".into());
        let line = format_line(Level::INFO, "provider", "planned", fields, UNIX_EPOCH);
        let v: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "info");
        assert_eq!(v["@message"], "planned");
        assert_eq!(v["@module"], "provider");
        assert_eq!(v["@timestamp"], "1970-01-01T00:00:00.000000Z");
        assert_eq!(v["tf_rpc"], "PlanResourceChange");
    }

    #[test]
    fn libraries_stay_quiet_at_trace() {
        let filter = filter_for(LevelFilter::TRACE);
        assert!(!filter.would_enable("h2::proto", &Level::TRACE));
        assert!(filter.would_enable("h2::proto", &Level::WARN));
        assert!(filter.would_enable("terraform_provider_bluegreen::rollout", &Level::TRACE));
    }

    #[test]
    fn levels_follow_terraform_names() {
        assert_eq!(parse_level("trace"), LevelFilter::TRACE);
        assert_eq!(parse_level("JSON"), LevelFilter::TRACE);
        assert_eq!(parse_level("INFO"), LevelFilter::INFO);
        assert_eq!(parse_level(""), LevelFilter::WARN);
    }
}
