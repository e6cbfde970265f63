//! Refused operations in the audit log: every admin operation runs inside one
//! wrapper, so a refusal leaves the same trace whichever operation it was.

use std::future::Future;

use super::super::{Daemon, DaemonError};
use crate::api::{AuditAction, AuditEntry, Color, Outcome};

/// Who asked: the request's `actor`, or `api` when it named none.
pub(super) fn actor(a: &Option<String>) -> String {
    a.as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("api")
        .to_owned()
}

/// An operation as the audit log names it should it be refused.
pub(super) struct Attempt<'a> {
    environment: &'a str,
    action: AuditAction,
    actor: String,
    color: Option<Color>,
    version: Option<String>,
}

impl<'a> Attempt<'a> {
    /// `actor`'s attempt at `action` on `environment`.
    pub(super) fn new(environment: &'a str, action: AuditAction, actor: String) -> Self {
        Self {
            environment,
            action,
            actor,
            color: None,
            version: None,
        }
    }

    /// The colour the operation aimed at.
    pub(super) fn color(mut self, color: Option<Color>) -> Self {
        self.color = color;
        self
    }

    /// The version the operation would have brought.
    pub(super) fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// This attempt's audit entry, refused with `err`.
    pub(super) fn refused(self, err: &DaemonError) -> AuditEntry {
        self.entry(Outcome::Refused, err.to_string())
    }

    /// This attempt's audit entry once it succeeded, saying what it did.
    pub(super) fn succeeded(self, message: String) -> AuditEntry {
        self.entry(Outcome::Ok, message)
    }

    fn entry(self, outcome: Outcome, message: String) -> AuditEntry {
        AuditEntry {
            time: String::new(),
            actor: self.actor,
            environment: self.environment.to_owned(),
            action: self.action,
            from_version: None,
            to_version: self.version,
            from_color: None,
            to_color: self.color,
            revision: None,
            outcome,
            message,
        }
    }
}

impl Daemon {
    /// Runs `op`, auditing its refusal when it fails; an environment that does not
    /// exist is the exception: there is nothing to attach the entry to.
    pub(super) async fn audited<T>(
        &self,
        attempt: Attempt<'_>,
        op: impl Future<Output = Result<T, DaemonError>>,
    ) -> Result<T, DaemonError> {
        let result = op.await;
        if let Err(err) = &result {
            if !matches!(err, DaemonError::NotFound(_)) {
                self.audit(attempt.refused(err));
            }
        }
        result
    }
}
