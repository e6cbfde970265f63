//! Expand/contract classification of migrations.
//!
//! A migration is `expand` when the release still serving traffic keeps
//! working after it runs (new tables, nullable columns, indexes),
//! `contract` when it breaks that release (drops, renames, type changes, new
//! constraints on existing rows), and `unknown` when its effect cannot be read
//! from the SQL (`DO` blocks, dynamic SQL, text the parser cannot read).
//! `unknown` is treated as breaking.
//!
//! Lock-safety findings (missing `CONCURRENTLY`, `NOT VALID`, `lock_timeout`…)
//! come from squawk's linter as warnings: they do not change the class.

mod lint;
mod rules;

pub use rules::RULES;

use std::fmt;

use serde::Serialize;

use super::sql::{self, LineIndex, Statement};

/// How a migration affects the release that is still serving traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Safe while the previous release serves.
    Expand,
    /// Its effect cannot be read from the SQL; treated as breaking.
    Unknown,
    /// Breaks the previous release.
    Contract,
}

impl Class {
    /// `expand`, `contract` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Expand => "expand",
            Class::Unknown => "unknown",
            Class::Contract => "contract",
        }
    }
    /// Contract and unknown migrations are gated on the colours' versions.
    pub fn is_breaking(self) -> bool {
        self != Class::Expand
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classification reason or a lint warning, at a line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line in the migration file.
    pub line: usize,
    /// Rule name, e.g. `set-not-null` or squawk's `require-concurrent-index-creation`.
    pub rule: String,
    /// What the statement does and why it matters.
    pub message: String,
}

impl Finding {
    /// `file:line: rule: message`, the form plans and the CLI show.
    pub fn located(&self, file: &str) -> String {
        format!("{file}:{}: {}: {}", self.line, self.rule, self.message)
    }
}

/// Everything read from one migration's SQL.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The worst class of any statement (contract over unknown over expand).
    pub class: Class,
    /// Why the migration is contract or unknown (empty for expand).
    pub reasons: Vec<Finding>,
    /// Lock-safety warnings from squawk's linter.
    pub warnings: Vec<Finding>,
    /// The statements, split for execution.
    pub statements: Vec<Statement>,
}

/// Parses, splits, classifies and lints one migration.
pub fn analyze(text: &str) -> Analysis {
    let parse = sql::parse(text);
    let lines = LineIndex::new(text);
    // `Parse::errors` validates the whole tree each time: once per file.
    let errors = parse.errors();
    let statements = sql::split_with_errors(&parse, &errors, text, &lines);
    let mut reasons = Vec::new();
    let mut class = Class::Expand;
    let root = parse.syntax_node();
    for node in root.children() {
        for hit in rules::classify(&node) {
            class = class.max(hit.class);
            reasons.push(Finding {
                line: lines.line(hit.offset),
                rule: hit.rule.to_string(),
                message: hit.message,
            });
        }
    }
    // One parse error per statement is enough to say why it is unknown.
    for statement in statements.iter().filter(|s| s.has_errors) {
        let end = statement.start + statement.text.len();
        if let Some(e) = errors.iter().find(|e| {
            let at = usize::from(e.range().start());
            at >= statement.start && at <= end
        }) {
            class = class.max(Class::Unknown);
            reasons.push(Finding {
                line: lines.line(usize::from(e.range().start())),
                rule: "parse-error".into(),
                message: format!(
                    "the PostgreSQL parser cannot read this statement ({}), so its effect is unknown",
                    e.message()
                ),
            });
        }
    }
    reasons.sort_by_key(|r| r.line);
    let warnings = lint::warnings(&parse, text, &lines);
    Analysis {
        class,
        reasons,
        warnings,
        statements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_story_classes() {
        let v130 = analyze(
            "-- Safe for Blue-Green: Blue ignores new column, Green uses it\nALTER TABLE customers\nADD COLUMN preferences JSONB DEFAULT '{}';\n\nCREATE INDEX idx_customers_preferences\nON customers USING gin(preferences);\n",
        );
        assert_eq!(v130.class, Class::Expand, "{:?}", v130.reasons);
        assert!(
            v130.warnings
                .iter()
                .any(|w| w.rule == "require-concurrent-index-creation"),
            "{:?}",
            v130.warnings
        );
        let v131 = analyze("-- bluegreen:requires 1.3.0\nALTER TABLE customers\nALTER COLUMN preferences SET NOT NULL;\n");
        assert_eq!(v131.class, Class::Contract);
        assert_eq!(v131.reasons.len(), 1);
        assert_eq!(v131.reasons[0].rule, "set-not-null");
        assert_eq!(v131.reasons[0].line, 3);
    }

    #[test]
    fn unparsable_is_unknown() {
        let a = analyze("CREATE TABLE ok (id bigint);\nTHIS IS NOT SQL;\n");
        assert_eq!(a.class, Class::Unknown);
        assert_eq!(a.reasons[0].rule, "parse-error");
        assert_eq!(a.reasons[0].line, 2);
    }

    #[test]
    fn contract_outranks_unknown() {
        let a = analyze("DO $$ BEGIN END $$;\nDROP TABLE legacy;\n");
        assert_eq!(a.class, Class::Contract);
        assert_eq!(a.reasons.len(), 2);
    }
}
