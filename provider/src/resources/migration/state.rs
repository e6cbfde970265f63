//! The computed attributes, built the same way from a plan's prediction and
//! from the history table, so plans converge.

use tfplugin::Value;

use crate::migrate::source::Migration;
use crate::migrate::status::AppliedEntry;

/// One `pending` entry.
pub fn pending_value(m: &Migration) -> Value {
    Value::object([
        ("version", Value::from(m.version().map(ToString::to_string))),
        ("description", Value::from(m.description.as_str())),
        ("script", Value::from(m.script.as_str())),
        ("class", Value::from(m.analysis.class.as_str())),
        ("requires", Value::from(m.requires.clone())),
        (
            "reasons",
            Value::List(
                m.analysis
                    .reasons
                    .iter()
                    .map(|r| Value::from(r.located(&m.script)))
                    .collect(),
            ),
        ),
    ])
}

/// The `pending` list.
pub fn pending_list<'a>(migrations: impl IntoIterator<Item = &'a Migration>) -> Value {
    Value::List(migrations.into_iter().map(pending_value).collect())
}

/// The `applied` list.
pub fn applied_list(entries: &[AppliedEntry]) -> Value {
    Value::List(
        entries
            .iter()
            .map(|e| {
                Value::object([
                    ("version", Value::from(e.version.clone())),
                    ("description", Value::from(e.description.as_str())),
                    ("script", Value::from(e.script.as_str())),
                    (
                        "checksum",
                        e.checksum.map_or(Value::Null, |c| Value::int(i64::from(c))),
                    ),
                    (
                        "class",
                        Value::from(e.class.map(|c| c.as_str().to_string())),
                    ),
                ])
            })
            .collect(),
    )
}
