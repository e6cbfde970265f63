//! A value whose shape does not match its model.

use crate::diag::Diagnostic;
use crate::value::{AttributePath, Value};

/// A value of the wrong kind at `path`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}expected {expected}, found {found}", at(path))]
pub struct ModelError {
    /// Where the value sits.
    pub path: AttributePath,
    /// What the model reads there, e.g. "a string".
    pub expected: &'static str,
    /// What the value was, e.g. "null" or "an unknown value".
    pub found: &'static str,
}

fn at(path: &AttributePath) -> String {
    if path.0.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl ModelError {
    /// `value` at `path` is not `expected`.
    pub fn new(path: &AttributePath, expected: &'static str, value: &Value) -> Self {
        Self {
            path: path.clone(),
            expected,
            found: kind(value),
        }
    }
}

impl From<ModelError> for Diagnostic {
    fn from(e: ModelError) -> Diagnostic {
        // Terraform checks values against the schema before the provider
        // sees them, so this is a provider bug or a state from elsewhere.
        let d = Diagnostic::error(
            "Unexpected value",
            format!(
                "{e}. The value does not match the schema: if the state was edited by hand, restore it; otherwise report this provider bug."
            ),
        );
        if e.path.0.is_empty() {
            d
        } else {
            d.at(e.path)
        }
    }
}

/// "a string", "null", …: a value's kind as an error message says it (the
/// codec's wording, so both kinds of error read alike).
pub(crate) fn kind(value: &Value) -> &'static str {
    crate::value::kind(value.inner())
}
