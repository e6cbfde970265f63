//! Lock-safety warnings from squawk's linter (a maintained rule set, rather
//! than our own copy of it).

use squawk_linter::{Linter, Rule};
use squawk_syntax::{Parse, SourceFile};

use super::Finding;
use crate::migrate::sql::LineIndex;

/// squawk rules about style rather than locks or compatibility.
const STYLE_RULES: &[Rule] = &[
    Rule::PreferBigintOverInt,
    Rule::PreferBigintOverSmallint,
    Rule::PreferIdentity,
    Rule::PreferTextField,
    Rule::PreferTimestampTz,
    Rule::PreferRobustStmts,
    Rule::BanCharField,
];

/// squawk's default rules, less the style ones, over one migration.
pub(super) fn warnings(parse: &Parse<SourceFile>, text: &str, lines: &LineIndex) -> Vec<Finding> {
    let mut linter = Linter::with_rules(&[], STYLE_RULES);
    // Statements that cannot run in a transaction run outside one (see
    // `sql::Placement`), so squawk must not assume a surrounding transaction.
    linter.settings.assume_in_transaction = false;
    linter
        .lint(parse, text)
        .into_iter()
        .map(|v| {
            let message = match &v.help {
                Some(help) => {
                    let stop = if v.message.ends_with('.') { "" } else { "." };
                    format!("{}{stop} {help}", v.message)
                }
                None => v.message.clone(),
            };
            Finding {
                line: lines.line(usize::from(v.text_range.start())),
                rule: v.code.to_string(),
                message,
            }
        })
        .collect()
}
