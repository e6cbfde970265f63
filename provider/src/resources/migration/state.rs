//! The computed attributes, built the same way from a plan's prediction and
//! from the history table, so plans converge.

use tfplugin::model::Field;
use tfplugin::Number;

use super::model::{AppliedModel, PendingModel};
use crate::migrate::source::Migration;
use crate::migrate::status::AppliedEntry;

/// One `pending` entry.
pub fn pending_value(m: &Migration) -> PendingModel {
    PendingModel {
        version: Field::from_option(m.version().map(ToString::to_string)),
        description: Field::Known(m.description.clone()),
        script: Field::Known(m.script.clone()),
        class: Field::Known(m.analysis.class.as_str().to_string()),
        requires: Field::from_option(m.requires.clone()),
        reasons: Field::Known(
            m.analysis
                .reasons
                .iter()
                .map(|r| Field::Known(r.located(&m.script)))
                .collect(),
        ),
    }
}

/// The `pending` list.
pub fn pending_list<'a>(migrations: impl IntoIterator<Item = &'a Migration>) -> Vec<PendingModel> {
    migrations.into_iter().map(pending_value).collect()
}

/// The `applied` list.
pub fn applied_list(entries: &[AppliedEntry]) -> Vec<AppliedModel> {
    entries
        .iter()
        .map(|e| AppliedModel {
            version: Field::from_option(e.version.clone()),
            description: Field::Known(e.description.clone()),
            script: Field::Known(e.script.clone()),
            checksum: Field::from_option(e.checksum.map(|c| Number::Int(i64::from(c)))),
            class: Field::from_option(e.class.map(|c| c.as_str().to_string())),
        })
        .collect()
}
