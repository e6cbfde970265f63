//! Each receiver's body for an event, in the shape its service documents:
//! - Slack incoming webhook: `text` (the notification's fallback) and Block Kit
//!   `blocks` (header, section with fields, context)
//!   <https://api.slack.com/messaging/webhooks>;
//! - Teams: a `message` with one Adaptive Card attachment
//!   (`application/vnd.microsoft.card.adaptive`), what Workflows and incoming
//!   webhooks accept <https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>;
//! - PagerDuty Events API v2: `trigger` for warning, rolled_back and failed,
//!   `resolve` for succeeded (none after a warning in the same release),
//!   `dedup_key` the release
//!   <https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>;
//! - webhook: the event itself as JSON.

use serde_json::{json, Value as Json};

use super::config::{Format, Notification};
use super::event::{EventKind, ReleaseEvent, Severity};

/// PagerDuty caps `payload.summary` at 1024 characters.
const PAGERDUTY_SUMMARY_MAX: usize = 1024;
/// Slack caps a header's plain text at 150 characters.
const SLACK_HEADER_MAX: usize = 150;
/// Slack caps a section's text at 3000 characters.
const SLACK_TEXT_MAX: usize = 3000;

/// The body `notification` sends for `event`; `None` when its service has
/// nothing to do with it (PagerDuty opens incidents, it does not log progress).
pub fn body(notification: &Notification, event: &ReleaseEvent) -> Option<Json> {
    match notification.format {
        Format::Slack => Some(slack(event)),
        Format::Teams => Some(teams(event)),
        Format::PagerDuty => {
            // The incident a warning opened is left open only where that
            // warning went: a receiver that filters warnings out still resolves.
            let mut event = event.clone();
            event.after_warning &= notification.wants(EventKind::Warning);
            pagerduty(
                notification.routing_key.as_deref().unwrap_or_default(),
                &event,
            )
        }
        Format::Webhook => Some(webhook(event)),
    }
}

/// The event as JSON, field for field.
pub fn webhook(event: &ReleaseEvent) -> Json {
    serde_json::to_value(event).unwrap_or(Json::Null)
}

/// Label and value pairs every rich format shows, in reading order.
fn facts(event: &ReleaseEvent) -> Vec<(&'static str, String)> {
    let version_color = |v: &Option<String>, c: &Option<String>| match (v, c) {
        (Some(v), Some(c)) => format!("{v} on {c}"),
        (Some(v), None) => v.clone(),
        (None, Some(c)) => format!("nothing on {c}"),
        (None, None) => "nothing".into(),
    };
    let mut out = vec![
        ("Environment", event.environment.clone()),
        ("Event", event.event.as_str().to_string()),
        ("Severity", event.severity.as_str().to_string()),
        (
            "From",
            version_color(&event.from_version, &event.from_color),
        ),
        (
            "To",
            version_color(&Some(event.to_version.clone()), &event.to_color),
        ),
    ];
    if let Some(f) = &event.figures {
        out.push((
            "Error rate",
            format!(
                "{:.2}% ({} of {} requests)",
                f.error_rate * 100.0,
                f.errors,
                f.requests
            ),
        ));
        if let (Some(s), Some(ms)) = (&f.latency_statistic, f.latency_ms) {
            let base = f
                .baseline_latency_ms
                .map_or("no baseline".into(), |b| format!("baseline {b:.1} ms"));
            out.push(("Latency", format!("{s} {ms:.1} ms ({base})")));
        }
    }
    out
}

fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => ":large_blue_circle:",
        Severity::Warning => ":warning:",
        Severity::Critical => ":rotating_light:",
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A Slack incoming-webhook message: `text` is what notifications show,
/// `blocks` what the channel shows.
pub fn slack(event: &ReleaseEvent) -> Json {
    let fields: Vec<Json> = facts(event)
        .into_iter()
        .map(|(label, value)| json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")}))
        .collect();
    json!({
        "text": format!("{} {}", emoji(event.severity), event.summary),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(&event.summary, SLACK_HEADER_MAX), "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(&event.reason, SLACK_TEXT_MAX)}, "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("bluegreen · release `{}` · {}", event.release, event.timestamp)}]}
        ]
    })
}

/// A Teams message carrying one Adaptive Card: a title coloured by severity,
/// the reason, and a fact set.
pub fn teams(event: &ReleaseEvent) -> Json {
    let color = match event.severity {
        Severity::Info => "Accent",
        Severity::Warning => "Warning",
        Severity::Critical => "Attention",
    };
    let facts: Vec<Json> = facts(event)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": event.summary, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
                    {"type": "TextBlock", "text": event.reason, "wrap": true},
                    {"type": "FactSet", "facts": facts},
                    {"type": "TextBlock", "text": format!("release {} · {}", event.release, event.timestamp), "isSubtle": true, "size": "Small", "wrap": true}
                ]
            }
        }]
    })
}

/// A PagerDuty Events API v2 event: a trigger for what needs a person, a
/// resolve when the release succeeds without a warning (after one, the
/// incident is left for a person to resolve: a release that was not judged,
/// or ran hot, is not all clear); progress (started, switched) is not sent.
pub fn pagerduty(routing_key: &str, event: &ReleaseEvent) -> Option<Json> {
    let action = match event.event {
        EventKind::Warning | EventKind::RolledBack | EventKind::Failed => "trigger",
        EventKind::Succeeded if event.after_warning => return None,
        EventKind::Succeeded => "resolve",
        EventKind::Started | EventKind::Switched => return None,
    };
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": event.release,
        "client": "terraform-provider-bluegreen",
    });
    if action == "trigger" {
        let mut details = serde_json::Map::new();
        for (label, value) in facts(event) {
            details.insert(label.to_lowercase().replace(' ', "_"), Json::String(value));
        }
        details.insert("reason".into(), Json::String(event.reason.clone()));
        body["payload"] = json!({
            "summary": cut(&event.summary, PAGERDUTY_SUMMARY_MAX),
            "source": format!("bluegreen/{}", event.environment),
            "severity": event.severity.as_str(),
            "timestamp": event.timestamp,
            "component": event.environment,
            "group": "bluegreen",
            "class": event.event.as_str(),
            "custom_details": details,
        });
    }
    Some(body)
}
