//! Admin requests refused for want of a valid token are audited, at most once per
//! interval: someone probing the port (or a client with a stale token) leaves a trace
//! without flooding the log.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::Daemon;
use crate::api::{AuditAction, AuditEntry, Outcome};

/// At most one audit entry per interval; refusals in between are counted in the next.
const AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Counts refusals between two audit entries.
#[derive(Debug, Default)]
pub(super) struct RefusalLimiter {
    last_entry: Option<Instant>,
    unreported: u64,
}

impl RefusalLimiter {
    /// Counts one refusal; returns how many to report now (this one included), or
    /// `None` while an entry was written less than [`AUDIT_EVERY`] ago.
    fn note(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        if self
            .last_entry
            .is_some_and(|t| now.duration_since(t) < AUDIT_EVERY)
        {
            return None;
        }
        self.last_entry = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

/// A request the admin API refused for want of a valid token.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// Who sent it, when known.
    pub peer: Option<SocketAddr>,
    /// `GET`, `PUT`…
    pub method: &'a str,
    /// Request path (never the query, which may carry a token).
    pub path: &'a str,
    /// `missing` or `wrong` bearer token.
    pub reason: &'a str,
}

impl Daemon {
    /// Audits a refused request, rate-limited to one entry per minute.
    pub fn audit_refused(&self, refusal: &Refusal<'_>) {
        let count = {
            let mut limiter = self
                .inner
                .refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            limiter.note(Instant::now())
        };
        let Some(count) = count else { return };
        let peer = refusal
            .peer
            .map_or_else(|| "an unknown peer".to_owned(), |p| p.to_string());
        let mut message = format!(
            "refused {} {} from {peer}: {} bearer token",
            refusal.method, refusal.path, refusal.reason
        );
        if count > 1 {
            message.push_str(&format!(
                " ({count} requests refused since the previous entry; at most one entry per {} s)",
                AUDIT_EVERY.as_secs()
            ));
        }
        // The environment the request aimed at, so `audit --environment` shows it too.
        let environment = refusal
            .path
            .strip_prefix("/v1/environments/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        self.audit(AuditEntry {
            time: String::new(),
            actor: format!("unauthenticated {peer}"),
            environment,
            action: AuditAction::Unauthorized,
            from_version: None,
            to_version: None,
            from_color: None,
            to_color: None,
            revision: None,
            outcome: Outcome::Refused,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_interval_counting_the_refusals_in_between() {
        let mut limiter = RefusalLimiter::default();
        let start = Instant::now();
        assert_eq!(limiter.note(start), Some(1));
        for i in 1..=9 {
            assert_eq!(limiter.note(start + Duration::from_secs(i)), None);
        }
        assert_eq!(limiter.note(start + AUDIT_EVERY), Some(10));
        assert_eq!(limiter.note(start + AUDIT_EVERY), None);
    }
}
