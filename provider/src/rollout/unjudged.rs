//! A post-switch watch that ended with too little traffic to judge: fewer
//! than `min_requests` requests (none included), or no figures from the
//! platform at all. The new version stays live, since nothing showed it is
//! bad, but it did not pass either: that is said in the watch's step, in the
//! release's outcome message, as a `warning` alert and as a warning
//! diagnostic on the apply, so that nobody takes an unwatched release for a
//! healthy one.

use std::time::Duration;

use super::attempt::Attempt;
use super::clock::format_duration;
use super::PostSwitch;
use crate::notify::sink;
use crate::platform::{Color, Metrics};

/// "s" unless there is one ("1 request", "3 requests").
pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What the watch saw, when it is too little to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct Unjudged {
    /// Requests the new colour answered during the watch; `None`: the
    /// platform reported no figures.
    pub requests: Option<u64>,
    /// The rule it fell short of.
    pub min_requests: u64,
    /// The watch's window.
    pub window: Duration,
    /// The colour watched.
    pub color: Color,
    /// The version on it.
    pub version: String,
}

impl Unjudged {
    /// The watch's verdict from its last figures: `None` when they are
    /// enough to judge (the thresholds were applied to them).
    pub fn from_watch(
        m: Option<&Metrics>,
        rules: &PostSwitch,
        color: Color,
        version: &str,
    ) -> Option<Unjudged> {
        let requests = m.map(|m| m.requests);
        if requests.is_some_and(|n| n >= rules.min_requests) {
            return None;
        }
        Some(Unjudged {
            requests,
            min_requests: rules.min_requests,
            window: rules.window,
            color,
            version: version.to_string(),
        })
    }

    /// "the watch saw 3 requests on green in 10s, fewer than min_requests = 20".
    fn seen(&self) -> String {
        let window = format_duration(self.window);
        match self.requests {
            Some(n) => format!(
                "the watch saw {n} request{} on {} in {window}, fewer than min_requests = {}",
                plural(n),
                self.color,
                self.min_requests
            ),
            None => format!(
                "the platform reported no figures for {} during the {window} watch",
                self.color
            ),
        }
    }

    /// The watch's last step.
    pub fn step(&self) -> String {
        format!(
            "watch ended: {}; {} was not judged by its traffic (no rollback, no pass)",
            self.seen(),
            self.version
        )
    }

    /// What the outcome message adds.
    pub fn note(&self) -> String {
        format!("not judged by its traffic: {}", self.seen())
    }

    /// The diagnostic's and the alert's text: what happened and what to do.
    pub fn reason(&self) -> String {
        format!(
            "post_switch: {}; {} was not judged by its traffic. It stays live: it was not rolled back, and it did not pass either. Check its error rate and latency yourself now (bluegreen-local status, or the platform's metrics); to have releases judged, send traffic during the watch, lengthen post_switch.window, or lower post_switch.min_requests",
            self.seen(),
            self.version
        )
    }

    /// The alert's one line.
    pub fn headline(&self, environment: &str) -> String {
        let what = match self.requests {
            Some(n) => format!(
                "{n} request{} in the {} watch (min_requests {})",
                plural(n),
                format_duration(self.window),
                self.min_requests
            ),
            None => format!(
                "no figures from the platform in the {} watch",
                format_duration(self.window)
            ),
        };
        format!(
            "{environment}: {} is live but was not judged: {what}",
            self.version
        )
    }

    /// Says so: the watch's step, a `warning` alert and a warning diagnostic.
    pub async fn report(&self, attempt: &mut Attempt<'_>) {
        attempt.step(self.step()).await;
        sink::unjudged(&self.headline(&attempt.environment.name), &self.reason());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(requests: u64) -> Metrics {
        Metrics {
            requests,
            errors: 0,
            error_rate: 0.0,
            latency: None,
        }
    }

    fn rules() -> PostSwitch {
        PostSwitch {
            window: Duration::from_secs(10),
            ..PostSwitch::default()
        }
    }

    #[test]
    fn fewer_than_min_requests_is_not_judged_and_says_what_to_do() {
        assert_eq!(
            Unjudged::from_watch(Some(&m(20)), &rules(), Color::Green, "1.3.0"),
            None
        );
        let u = Unjudged::from_watch(Some(&m(3)), &rules(), Color::Green, "1.3.0").unwrap();
        assert_eq!(
            u.reason(),
            "post_switch: the watch saw 3 requests on green in 10s, fewer than min_requests = 20; 1.3.0 was not judged by its traffic. It stays live: it was not rolled back, and it did not pass either. Check its error rate and latency yourself now (bluegreen-local status, or the platform's metrics); to have releases judged, send traffic during the watch, lengthen post_switch.window, or lower post_switch.min_requests"
        );
        assert_eq!(
            u.headline("shop"),
            "shop: 1.3.0 is live but was not judged: 3 requests in the 10s watch (min_requests 20)"
        );
        let none = Unjudged::from_watch(Some(&m(0)), &rules(), Color::Green, "1.3.0").unwrap();
        assert!(none.step().starts_with(
            "watch ended: the watch saw 0 requests on green in 10s, fewer than min_requests = 20;"
        ));
        let blind = Unjudged::from_watch(None, &rules(), Color::Green, "1.3.0").unwrap();
        assert_eq!(
            blind.note(),
            "not judged by its traffic: the platform reported no figures for green during the 10s watch"
        );
        // min_requests = 0: any watch is judged, even one that saw nothing.
        let zero = PostSwitch {
            min_requests: 0,
            ..rules()
        };
        assert_eq!(
            Unjudged::from_watch(Some(&m(0)), &zero, Color::Green, "1.3.0"),
            None
        );
    }
}
