//! The provider's `notification` blocks, read and checked: each problem at
//! its attribute path with the fix, and never the URL or the routing key in
//! a message (both are secrets: a Slack or Teams URL is its own credential).

use std::collections::BTreeSet;
use std::time::Duration;

use tfplugin::model::Field;
use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics};

use super::event::{EventKind, Severity};

/// PagerDuty's Events API v2 endpoint, the `url` of a `pagerduty` block by default.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// How long one notification may take, retry included, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `timeout` accepted: a release waits for its alerts at most this long.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams workflow / incoming webhook (Adaptive Card).
    Teams,
    /// PagerDuty Events API v2.
    PagerDuty,
    /// The event as plain JSON.
    Webhook,
}

impl Format {
    /// Its name in `format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Slack => "slack",
            Format::Teams => "teams",
            Format::PagerDuty => "pagerduty",
            Format::Webhook => "webhook",
        }
    }

    fn parse(name: &str) -> Option<Format> {
        [
            Format::Slack,
            Format::Teams,
            Format::PagerDuty,
            Format::Webhook,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}

/// One `notification` block, resolved.
#[derive(Clone, PartialEq)]
pub struct Notification {
    /// Its position among the blocks (diagnostics say `notification[0]`).
    pub index: usize,
    /// Payload shape.
    pub format: Format,
    /// Where to POST (sensitive).
    pub url: String,
    /// PagerDuty integration key (sensitive).
    pub routing_key: Option<String>,
    /// Events sent.
    pub events: BTreeSet<EventKind>,
    /// Events below this are not sent.
    pub min_severity: Severity,
    /// Time one event may take, retry included.
    pub timeout: Duration,
}

impl std::fmt::Debug for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // url and routing_key are secrets: never in a log line.
        f.debug_struct("Notification")
            .field("name", &self.name())
            .field("events", &self.events)
            .field("min_severity", &self.min_severity)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Notification {
    /// `notification[0] (slack)`: how diagnostics name it, without the URL.
    pub fn name(&self) -> String {
        format!("notification[{}] ({})", self.index, self.format.as_str())
    }

    /// Whether `kind` goes to this receiver. A PagerDuty resolve (succeeded)
    /// passes `min_severity`: it closes the incident a trigger opened.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
            && (kind.severity() >= self.min_severity
                || (self.format == Format::PagerDuty && kind == EventKind::Succeeded))
    }
}

tfplugin::model! {
    /// A `notification` block as Terraform sends it.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct NotificationModel {
        /// `url` (sensitive).
        pub url: Field<String>,
        /// `format`.
        pub format: Field<String>,
        /// `routing_key` (sensitive).
        pub routing_key: Field<String>,
        /// `events`.
        pub events: Field<Vec<Field<String>>>,
        /// `min_severity`.
        pub min_severity: Field<String>,
        /// `timeout`.
        pub timeout: Field<String>,
    }
}

/// The blocks, resolved; problems go to `diags` at their paths. A value not
/// known yet (validate) is checked once it is known; until then the block
/// is left out.
pub fn resolve(
    blocks: &Field<Vec<Field<NotificationModel>>>,
    diags: &mut Diagnostics,
) -> Vec<Notification> {
    let Some(blocks) = blocks.known() else {
        return Vec::new();
    };
    blocks
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.known().and_then(|b| resolve_one(i, b, diags)))
        .collect()
}

fn resolve_one(
    index: usize,
    block: &NotificationModel,
    diags: &mut Diagnostics,
) -> Option<Notification> {
    let path = |attr: &str| {
        AttributePath::attr("notification")
            .then_index(index as i64)
            .then_attr(attr)
    };
    let errors_before = diags.0.iter().filter(|d| d.is_error()).count();
    let format = match block.format.known() {
        Some(name) => match Format::parse(name) {
            Some(f) => Some(f),
            None => {
                diags.error_at(
                    path("format"),
                    "Unknown notification format",
                    format!("{name:?} is not a format. Use \"slack\", \"teams\", \"pagerduty\" or \"webhook\"."),
                );
                None
            }
        },
        None => None,
    };
    let url = match (block.url.known(), format) {
        (Some(url), _) => {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.parse::<hyper::Uri>().is_err()
            {
                // The value is a secret: say what is wrong, not what it is.
                diags.error_at(
                    path("url"),
                    "Invalid notification URL",
                    "url is not an https:// (or http://) URL. Paste the webhook URL the service gave you, e.g. from var.slack_webhook_url.",
                );
            }
            Some(url.clone())
        }
        (None, Some(Format::PagerDuty)) => Some(PAGERDUTY_EVENTS_URL.to_string()),
        (None, Some(f)) if block.url.is_null() => {
            diags.error_at(
                path("url"),
                "Missing notification URL",
                format!(
                    "A {} notification needs url: the {}. Only pagerduty has a default ({PAGERDUTY_EVENTS_URL}).",
                    f.as_str(),
                    match f {
                        Format::Slack => "Slack incoming-webhook URL (https://hooks.slack.com/services/…)",
                        Format::Teams => "Teams workflow or incoming-webhook URL",
                        _ => "URL that receives the event as JSON",
                    }
                ),
            );
            None
        }
        _ => None,
    };
    let routing_key = block.routing_key.known().cloned();
    match (format, &block.routing_key) {
        (Some(Format::PagerDuty), Field::Null) => diags.error_at(
            path("routing_key"),
            "PagerDuty notification without routing_key",
            "Set routing_key to the integration key of a PagerDuty service's Events API v2 integration (Service → Integrations → Events API V2), e.g. routing_key = var.pagerduty_routing_key.",
        ),
        (Some(f), Field::Known(_)) if f != Format::PagerDuty => diags.error_at(
            path("routing_key"),
            "routing_key is for PagerDuty only",
            format!("A {} notification sends no routing key: remove routing_key, or set format = \"pagerduty\".", f.as_str()),
        ),
        _ => {}
    }
    let events = match block.events.known() {
        None if block.events.is_null() => EventKind::ALL.into_iter().collect(),
        None => BTreeSet::new(),
        Some(names) => {
            let mut set = BTreeSet::new();
            for name in names.iter().filter_map(Field::known) {
                match EventKind::parse(name) {
                    Some(k) => {
                        set.insert(k);
                    }
                    None => diags.error_at(
                        path("events"),
                        "Unknown notification event",
                        format!(
                            "{name:?} is not an event. Use any of {}; leave events out for all of them.",
                            EventKind::ALL.map(|k| format!("\"{}\"", k.as_str())).join(", ")
                        ),
                    ),
                }
            }
            set
        }
    };
    let min_severity = match block.min_severity.known() {
        None => Severity::Info,
        Some(name) => Severity::parse(name).unwrap_or_else(|| {
            diags.error_at(
                path("min_severity"),
                "Unknown severity",
                format!("{name:?} is not a severity. Use \"info\" (every event), \"warning\" (warnings, rollbacks, failures) or \"critical\" (rollbacks and failures)."),
            );
            Severity::Info
        }),
    };
    let timeout = match block.timeout.known() {
        None => DEFAULT_TIMEOUT,
        Some(text) => match parse_duration(text) {
            Ok(d) if !d.is_zero() && d <= MAX_TIMEOUT => d,
            Ok(_) => {
                diags.error_at(
                    path("timeout"),
                    "Notification timeout out of range",
                    format!("{text:?} is not between 1ms and 60s. A release waits for its alerts at most this long; e.g. \"5s\"."),
                );
                DEFAULT_TIMEOUT
            }
            Err(e) => {
                diags.error_at(
                    path("timeout"),
                    "Invalid notification timeout",
                    format!("{e}. Use a duration such as \"5s\" or \"1500ms\"."),
                );
                DEFAULT_TIMEOUT
            }
        },
    };
    let errors_after = diags.0.iter().filter(|d| d.is_error()).count();
    let unknown = [
        &block.url,
        &block.format,
        &block.routing_key,
        &block.min_severity,
        &block.timeout,
    ]
    .iter()
    .any(|f| f.is_unknown())
        || block.events.is_unknown();
    if errors_after > errors_before || unknown {
        return None;
    }
    Some(Notification {
        index,
        format: format?,
        url: url?,
        routing_key,
        events,
        min_severity,
        timeout,
    })
}
