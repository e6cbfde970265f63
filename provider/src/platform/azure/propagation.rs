//! Whether Front Door's locations serve a routing change: each location (one
//! anycast name on Azure; every URL the host map lists for the endpoint
//! elsewhere) is asked `{probe_path}`, and the version it answers (the JSON
//! `version` field, else the `x-app-version` header) is compared with what
//! the routing should serve. A location counts once it answered the expected
//! version [`STREAK`] times in a row (one answer per poll): an edge still
//! mixing old and new configurations breaks the streak.
//!
//! A canary with a share of untagged traffic serves either version by
//! design: a location counts once it has served the canary's version (with
//! the tenant header of a listed tenant when there is one, which the tenant
//! rule must route to the canary every time).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::http::{Http, Reply};
use crate::platform::Propagation;

/// Consecutive matching answers a location needs.
pub const STREAK: u32 = 3;

/// Bound on one probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every location should answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// This version, every time.
    Version(String),
    /// The canary's version at least once (with the header, when given, every time).
    Canary {
        /// The canary's version.
        version: String,
        /// A listed tenant's header, which must always reach the canary.
        tenant: Option<(String, String)>,
    },
}

/// Probes and the streak of each location, per routing revision.
#[derive(Default)]
pub struct Prober {
    http: Http,
    streaks: Mutex<HashMap<String, Vec<u32>>>,
}

impl Prober {
    /// A prober over `http` (which trusts the CA the gates trust).
    pub fn new(http: Http) -> Self {
        Prober {
            http,
            streaks: Mutex::new(HashMap::new()),
        }
    }

    /// One poll of every location of `locations` (base URLs), for the change
    /// `key` (environment and revision): how many have converged.
    pub async fn poll(
        &self,
        key: &str,
        host: &str,
        locations: &[String],
        probe_path: &str,
        expected: &Expected,
    ) -> Propagation {
        let mut answers = Vec::with_capacity(locations.len());
        for base in locations {
            let url = format!("{base}{probe_path}");
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if base.starts_with("http://") {
                // A mapped edge: say which endpoint is meant, as DNS would have.
                headers.push(("host", host));
            }
            if let Expected::Canary {
                tenant: Some((name, value)),
                ..
            } = expected
            {
                headers.push((name.as_str(), value.as_str()));
            }
            let reply = self
                .http
                .request_with_headers("GET", &url, &headers, PROBE_TIMEOUT)
                .await;
            answers.push(reply.ok().and_then(|r| served_version(&r)));
        }
        let mut streaks = self.streaks.lock().unwrap_or_else(|e| e.into_inner());
        let streak = streaks
            .entry(key.to_string())
            .or_insert_with(|| vec![0; locations.len()]);
        streak.resize(locations.len(), 0);
        for (s, answer) in streak.iter_mut().zip(&answers) {
            *s = next_streak(*s, answer.as_deref(), expected);
        }
        let converged = streak.iter().filter(|s| **s >= STREAK).count() as u32;
        let total = locations.len() as u32;
        if converged == total {
            Propagation::Complete
        } else {
            Propagation::Pending {
                converged,
                locations: total,
            }
        }
    }
}

fn next_streak(streak: u32, answer: Option<&str>, expected: &Expected) -> u32 {
    match expected {
        Expected::Version(v) => {
            if answer == Some(v.as_str()) {
                streak + 1
            } else {
                0
            }
        }
        Expected::Canary {
            version,
            tenant: Some(_),
        } => {
            if answer == Some(version.as_str()) {
                streak + 1
            } else {
                0
            }
        }
        // Untagged answers are either version by design: once the canary
        // answered, the location serves the split.
        Expected::Canary {
            version,
            tenant: None,
        } => {
            if streak >= STREAK || answer == Some(version.as_str()) {
                STREAK
            } else {
                0
            }
        }
    }
}

/// The version an answer reports: the JSON body's `version`, else `x-app-version`.
pub fn served_version(reply: &Reply) -> Option<String> {
    if !(200..300).contains(&reply.status) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| {
            v.get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .or_else(|| {
            reply
                .headers
                .get("x-app-version")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_needs_consecutive_matches_and_a_canary_one_sighting() {
        let v = Expected::Version("2".into());
        let mut s = 0;
        for (answer, want) in [
            (Some("2"), 1),
            (Some("1"), 0),
            (Some("2"), 1),
            (Some("2"), 2),
            (None, 0),
        ] {
            s = next_streak(s, answer, &v);
            assert_eq!(s, want);
        }
        let c = Expected::Canary {
            version: "2".into(),
            tenant: None,
        };
        assert_eq!(next_streak(0, Some("1"), &c), 0);
        assert_eq!(next_streak(0, Some("2"), &c), STREAK);
        assert_eq!(next_streak(STREAK, Some("1"), &c), STREAK);
    }

    #[test]
    fn version_from_json_then_header_and_errors_count_as_none() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-app-version", "3.1".parse().expect("value"));
        let reply = |status, body: &str| Reply {
            status,
            body: body.into(),
            headers: headers.clone(),
        };
        assert_eq!(
            served_version(&reply(200, r#"{"version":"3.2"}"#)).as_deref(),
            Some("3.2")
        );
        assert_eq!(served_version(&reply(200, "ok")).as_deref(), Some("3.1"));
        assert_eq!(served_version(&reply(502, r#"{"version":"3.2"}"#)), None);
    }
}
