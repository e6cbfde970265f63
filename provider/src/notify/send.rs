//! Delivery: every receiver of an event at once, each bounded by its own
//! `timeout` (one retry included), so that alerts never hold a release up by
//! more than the longest timeout; what failed comes back as words for a
//! warning diagnostic, naming the block, never its URL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::Http;

use super::config::Notification;
use super::event::ReleaseEvent;
use super::payload;

/// Pause before the retry of a failed attempt: long enough for a blip.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The provider's receivers and the client that reaches them.
#[derive(Clone, Default)]
pub struct Notifier {
    notifications: Arc<Vec<Notification>>,
    http: Http,
}

/// An alert that did not arrive.
#[derive(Debug, Clone, PartialEq)]
pub struct Undelivered {
    /// `notification[0] (slack)`.
    pub notification: String,
    /// The event it carried (`rolled_back`).
    pub event: String,
    /// What happened, e.g. "answered HTTP 500 twice".
    pub problem: String,
}

impl Notifier {
    /// A notifier for the provider's `notification` blocks.
    pub fn new(notifications: Vec<Notification>, http: Http) -> Self {
        Self {
            notifications: Arc::new(notifications),
            http,
        }
    }

    /// Whether any receiver is configured.
    pub fn is_empty(&self) -> bool {
        self.notifications.is_empty()
    }

    /// The longest a [`Notifier::send`] can take.
    pub fn longest_timeout(&self) -> Duration {
        self.notifications
            .iter()
            .map(|n| n.timeout)
            .max()
            .unwrap_or_default()
    }

    /// Sends `event` to every receiver that wants it, concurrently; returns
    /// those that failed.
    pub async fn send(&self, event: &ReleaseEvent) -> Vec<Undelivered> {
        let sends = self
            .notifications
            .iter()
            .filter(|n| n.wants(event.event))
            .filter_map(|n| payload::body(n, event).map(|body| (n, body)))
            .map(|(n, body)| async move {
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                deliver(&self.http, n, bytes).await.err().map(|problem| {
                    tracing::warn!(notification = %n.name(), event = event.event.as_str(), "alert not delivered: {problem}");
                    Undelivered {
                        notification: n.name(),
                        event: event.event.as_str().to_string(),
                        problem,
                    }
                })
            });
        futures_util::future::join_all(sends)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Whether an attempt's failure is worth one more try: no answer, or the
/// service's own trouble (5xx, 429). A 4xx says the request is wrong.
fn retryable(result: &Result<u16, String>) -> bool {
    match result {
        Ok(status) => *status >= 500 || *status == 429,
        Err(_) => true,
    }
}

/// POSTs `body` to `n`'s URL: a first attempt with half the timeout, a retry
/// with what is left. `Err` says what went wrong, without the URL.
async fn deliver(http: &Http, n: &Notification, body: Vec<u8>) -> Result<(), String> {
    let deadline = Instant::now() + n.timeout;
    let mut attempts = 0;
    let mut problems: Vec<String> = Vec::new();
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let budget = if attempts == 1 { left / 2 } else { left };
        let result = if budget.is_zero() {
            Err("no time left".to_string())
        } else {
            http.post_json(&n.url, body.clone(), budget)
                .await
                .map(|reply| {
                    if (200..300).contains(&reply.status) {
                        return (reply.status, String::new());
                    }
                    (reply.status, excerpt(&reply.body))
                })
                .map_err(|e| scrub(&e, &n.url))
        };
        let status = result.as_ref().map(|(s, _)| *s).map_err(Clone::clone);
        match &result {
            Ok((s, _)) if (200..300).contains(s) => return Ok(()),
            Ok((s, text)) if text.is_empty() => problems.push(format!("answered HTTP {s}")),
            Ok((s, text)) => problems.push(format!("answered HTTP {s} ({text})")),
            Err(e) => problems.push(e.clone()),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if attempts >= 2 || !retryable(&status) || left <= RETRY_PAUSE {
            break;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    let timeout = tfplugin::timeouts::format_duration(n.timeout);
    Err(match problems.as_slice() {
        [one] => format!("{one} (1 attempt within timeout = {timeout})"),
        [a, b] if a == b => format!("{a}, twice (2 attempts within timeout = {timeout})"),
        many => format!(
            "{} ({} attempts within timeout = {timeout})",
            many.join(", then "),
            many.len()
        ),
    })
}

/// The start of a refusal's body (Slack says `invalid_token`, PagerDuty why
/// the event is invalid), on one line.
fn excerpt(body: &str) -> String {
    let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

/// The client's error with the URL taken out: it is a credential.
fn scrub(error: &str, url: &str) -> String {
    error.replace(url, "<url>")
}
