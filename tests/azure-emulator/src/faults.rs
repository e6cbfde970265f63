//! Fault scripts: the next N requests whose method and path match answer with a
//! scripted error, or are accepted and then fail as an operation.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// What a matching request gets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// An immediate error answer.
    Respond {
        /// HTTP status (429, 500, 503, ...).
        status: u16,
        /// `Retry-After` seconds, if any.
        retry_after: Option<u64>,
        /// ARM error code.
        code: String,
        /// ARM error message.
        message: String,
    },
    /// The write is accepted, and its long-running operation ends `Failed`.
    LroFailed {
        /// ARM error code in the operation's error.
        code: String,
        /// ARM error message.
        message: String,
    },
}

/// An active fault script.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// Id for deleting it.
    pub id: u64,
    /// HTTP method to match (any when None), upper case.
    pub method: Option<String>,
    /// Regex (case-insensitive) matched against the request path.
    #[serde(serialize_with = "serialize_regex")]
    pub path: Regex,
    /// How many more requests it applies to.
    pub remaining: u32,
    /// What those requests get.
    pub action: FaultAction,
}

fn serialize_regex<S: serde::Serializer>(re: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(re.as_str())
}

/// A fault script as the admin API receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method to match; any when absent.
    pub method: Option<String>,
    /// Regex for the path; any path when absent.
    pub path: Option<String>,
    /// Number of requests it applies to (default 1).
    pub count: Option<u32>,
    /// Status to answer with (429, 500, 503, ...).
    pub status: Option<u16>,
    /// `Retry-After` seconds on that answer.
    pub retry_after: Option<u64>,
    /// ARM error code (defaults by status).
    pub code: Option<String>,
    /// ARM error message.
    pub message: Option<String>,
    /// Accept the write but end its operation Failed with this code and message.
    pub lro_failed: Option<LroFailure>,
}

/// Code and message of a scripted operation failure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LroFailure {
    /// ARM error code.
    pub code: String,
    /// ARM error message.
    pub message: Option<String>,
}

/// Why a fault script was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// Neither or both of `status` and `lro_failed`.
    #[error(
        "a fault needs exactly one of \"status\" (e.g. 429) or \"lro_failed\" ({{\"code\": ...}})"
    )]
    Action,
    /// Status outside 400..=599.
    #[error("\"status\" must be an HTTP error status (400-599), got {0}")]
    Status(u16),
    /// The path regex does not compile.
    #[error("\"path\" is not a valid regex: {0}")]
    Regex(#[from] regex::Error),
}

impl FaultSpec {
    /// Validates the spec into an active fault with `id`.
    pub fn into_fault(self, id: u64) -> Result<Fault, FaultError> {
        let action = match (self.status, self.lro_failed) {
            (Some(status), None) => {
                if !(400..=599).contains(&status) {
                    return Err(FaultError::Status(status));
                }
                let code = self
                    .code
                    .unwrap_or_else(|| default_code(status).to_string());
                let message = self
                    .message
                    .unwrap_or_else(|| format!("Scripted fault: {code} ({status})."));
                FaultAction::Respond {
                    status,
                    retry_after: self.retry_after,
                    code,
                    message,
                }
            }
            (None, Some(failure)) => FaultAction::LroFailed {
                message: failure
                    .message
                    .unwrap_or_else(|| format!("Scripted operation failure: {}.", failure.code)),
                code: failure.code,
            },
            _ => return Err(FaultError::Action),
        };
        let path = RegexBuilder::new(self.path.as_deref().unwrap_or(""))
            .case_insensitive(true)
            .build()?;
        Ok(Fault {
            id,
            method: self.method.map(|m| m.to_ascii_uppercase()),
            path,
            remaining: self.count.unwrap_or(1),
            action,
        })
    }
}

/// ARM's usual code for a status.
fn default_code(status: u16) -> &'static str {
    match status {
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        408 => "RequestTimeout",
        _ => "ScriptedFault",
    }
}

/// Finds the first active fault for `method` and `path`, uses one of its
/// count (dropping it when spent) and returns its action. `lro_failed` faults
/// only match writes, since only writes start operations.
pub fn take(faults: &mut Vec<Fault>, method: &str, path: &str) -> Option<FaultAction> {
    let is_write = matches!(method, "PUT" | "PATCH" | "POST" | "DELETE");
    let index = faults.iter().position(|f| {
        f.remaining > 0
            && f.method.as_deref().is_none_or(|m| m == method)
            && f.path.is_match(path)
            && (is_write || matches!(f.action, FaultAction::Respond { .. }))
    })?;
    let fault = &mut faults[index];
    fault.remaining -= 1;
    let action = fault.action.clone();
    if fault.remaining == 0 {
        faults.remove(index);
    }
    Some(action)
}
