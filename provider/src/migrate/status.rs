//! Comparing the folder with the history table: what is applied, what is
//! pending, and what Flyway's `validate` would reject (changed, missing,
//! failed or out-of-order migrations), each with the fix.

use std::collections::BTreeMap;

use super::classify::Class;
use super::history::{abbreviate, HistoryRow, TYPE_BASELINE, TYPE_DELETE, TYPE_SQL};
use super::naming::Version;
use super::source::{Kind, Migration, MigrationSet};

/// A migration the history records as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedEntry {
    /// Version (none for repeatables).
    pub version: Option<String>,
    /// Description as recorded.
    pub description: String,
    /// Script as recorded.
    pub script: String,
    /// Checksum as recorded.
    pub checksum: Option<i32>,
    /// The class of the file, when the file is there.
    pub class: Option<Class>,
}

/// Something Flyway's validation would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An applied file was edited.
    ChecksumMismatch {
        /// The file.
        script: String,
        /// Checksum in the history table.
        applied: i32,
        /// Checksum of the file now.
        file: i32,
    },
    /// An applied file was renamed to another description.
    DescriptionMismatch {
        /// The file.
        script: String,
        /// Description in the history table.
        applied: String,
        /// Description from the file name now.
        file: String,
    },
    /// An applied migration has no file.
    Missing {
        /// What it was (`V1.2.0` or the repeatable's script).
        label: String,
        /// Its script as recorded.
        script: String,
        /// Newer than every file: the folder is behind the database.
        future: bool,
    },
    /// The history records a failed run.
    Failed {
        /// What failed.
        label: String,
        /// Its script.
        script: String,
        /// When.
        installed_on: String,
    },
    /// A new file older than the newest applied version.
    OutOfOrder {
        /// The file.
        script: String,
        /// Its version.
        version: String,
        /// The newest applied version.
        applied_version: String,
    },
}

impl Problem {
    /// The file the problem is about.
    pub fn script(&self) -> &str {
        match self {
            Problem::ChecksumMismatch { script, .. }
            | Problem::DescriptionMismatch { script, .. }
            | Problem::Missing { script, .. }
            | Problem::Failed { script, .. }
            | Problem::OutOfOrder { script, .. } => script,
        }
    }

    /// A one-line summary for a diagnostic.
    pub fn summary(&self) -> String {
        match self {
            Problem::ChecksumMismatch { script, .. } => {
                format!("Applied migration {script} was modified")
            }
            Problem::DescriptionMismatch { script, .. } => {
                format!("Applied migration {script} was renamed")
            }
            Problem::Missing { label, .. } => format!("Applied migration {label} has no file"),
            Problem::Failed { label, .. } => format!("Migration {label} failed earlier"),
            Problem::OutOfOrder { script, .. } => {
                format!("Migration {script} is older than the database")
            }
        }
    }

    /// What happened and how to fix it.
    pub fn detail(&self) -> String {
        match self {
            Problem::ChecksumMismatch { script, applied, file } => format!(
                "{script} was applied with checksum {applied}, but the file now has checksum {file}. \
                 Applied migrations must not change: restore the file as it was applied (e.g. from version control) \
                 and put the change in a new migration. If the edit is harmless (whitespace, comments), record the new \
                 checksum with `flyway repair` or `UPDATE <history_table> SET checksum = {file} WHERE script = '{script}'`."
            ),
            Problem::DescriptionMismatch { script, applied, file } => format!(
                "{script} was applied as {applied:?}, but its file name now reads {file:?}. Rename the file back, \
                 or record the new description with `flyway repair`."
            ),
            Problem::Missing { label, script, future: false } => format!(
                "The history table records {label} ({script}) as applied, but source_dir has no such file. Restore the file, \
                 or, if it was removed on purpose, mark it deleted with `flyway repair`."
            ),
            Problem::Missing { label, script, future: true } => format!(
                "The history table records {label} ({script}), newer than every file in source_dir: a newer release \
                 migrated this database. Point source_dir at that release's migrations, or run this release's plan \
                 against a database at its own version."
            ),
            Problem::Failed { label, script, installed_on } => format!(
                "The history table records a failed run of {label} ({script}) at {installed_on}. Its statements may be \
                 partly applied: check the database and undo or finish them by hand, then delete the failed row \
                 (`flyway repair` does this) and apply again."
            ),
            Problem::OutOfOrder { script, version, applied_version } => format!(
                "{script} (version {version}) was never applied, but the database is already at {applied_version}. \
                 Flyway refuses out-of-order migrations: rename it with a version above {applied_version}."
            ),
        }
    }
}

/// The folder compared with the history.
#[derive(Debug, Clone)]
pub struct Status<'a> {
    /// What the history records, versioned by version then repeatables by description.
    pub applied: Vec<AppliedEntry>,
    /// Files not applied yet (or repeatables changed since), in apply order.
    pub pending: Vec<&'a Migration>,
    /// Problems to fix before migrating.
    pub problems: Vec<Problem>,
    /// The highest applied version (baseline included).
    pub applied_version: Option<Version>,
}

impl<'a> Status<'a> {
    /// Compares `set` with the history `rows`.
    pub fn new(set: &'a MigrationSet, rows: &[HistoryRow]) -> Status<'a> {
        let mut problems = Vec::new();
        // Latest row per version / per repeatable description; a `DELETE`
        // row (flyway repair) cancels what came before it.
        let mut versioned: BTreeMap<String, (Version, &HistoryRow)> = BTreeMap::new();
        let mut repeatable: BTreeMap<String, &HistoryRow> = BTreeMap::new();
        let mut failed: Vec<&HistoryRow> = Vec::new();
        let mut baseline: Option<Version> = None;
        for row in rows {
            let version = row.version.as_deref().and_then(|v| Version::parse(v).ok());
            if row.kind == TYPE_DELETE {
                match &version {
                    Some(v) => {
                        versioned.remove(v.as_str());
                    }
                    None => {
                        repeatable.remove(&row.description);
                    }
                }
                continue;
            }
            if row.kind == TYPE_BASELINE {
                baseline = version.clone();
            }
            if !row.success {
                failed.push(row);
                continue;
            }
            match version {
                Some(v) => {
                    failed.retain(|f| {
                        f.version
                            .as_deref()
                            .and_then(|x| Version::parse(x).ok())
                            .as_ref()
                            != Some(&v)
                    });
                    versioned.insert(v.as_str().to_string(), (v, row));
                }
                None if row.kind == TYPE_SQL => {
                    failed.retain(|f| f.version.is_some() || f.description != row.description);
                    repeatable.insert(row.description.clone(), row);
                }
                None => {}
            }
        }
        for row in failed {
            problems.push(Problem::Failed {
                label: row
                    .version
                    .as_ref()
                    .map_or_else(|| row.script.clone(), |v| format!("V{v}")),
                script: row.script.clone(),
                installed_on: row.installed_on.clone(),
            });
        }

        let max_file = set.versioned.last().and_then(Migration::version);
        let mut applied = Vec::new();
        let mut applied_version: Option<Version> = None;
        let mut sorted: Vec<&(Version, &HistoryRow)> = versioned.values().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (v, row) in sorted {
            applied_version =
                Some(applied_version.map_or_else(|| v.clone(), |a: Version| a.max(v.clone())));
            let file = set.versioned(v);
            if let Some(file) = file {
                check_file(file, row, &mut problems);
            } else if row.kind == TYPE_SQL && baseline.as_ref().is_none_or(|b| v > b) {
                problems.push(Problem::Missing {
                    label: format!("V{v}"),
                    script: row.script.clone(),
                    future: max_file.is_none_or(|m| v > m),
                });
            }
            applied.push(entry(row, file));
        }
        for (description, row) in &repeatable {
            let file = set.repeatable(description);
            if file.is_none() {
                problems.push(Problem::Missing {
                    label: row.script.clone(),
                    script: row.script.clone(),
                    future: false,
                });
            }
            applied.push(entry(row, file));
        }

        let mut pending = Vec::new();
        for m in &set.versioned {
            let Some(v) = m.version() else { continue };
            if versioned.contains_key(v.as_str()) || baseline.as_ref().is_some_and(|b| v <= b) {
                continue;
            }
            match &applied_version {
                Some(top) if v < top => problems.push(Problem::OutOfOrder {
                    script: m.script.clone(),
                    version: v.to_string(),
                    applied_version: top.to_string(),
                }),
                _ => pending.push(m),
            }
        }
        for m in &set.repeatable {
            let current = repeatable.get(&m.description).and_then(|r| r.checksum);
            if current != Some(m.checksum) {
                pending.push(m);
            }
        }
        Status {
            applied,
            pending,
            problems,
            applied_version,
        }
    }

    /// The pending migrations an apply with `target` runs: versioned ones up
    /// to and including the target, then the changed repeatables.
    pub fn to_apply(&self, target: Option<&Version>) -> Vec<&'a Migration> {
        self.pending
            .iter()
            .copied()
            .filter(|m| match (m.version(), target) {
                (Some(v), Some(t)) => v <= t,
                _ => true,
            })
            .collect()
    }

    /// The history as it will read once `migrations` are applied.
    pub fn applied_after(&self, migrations: &[&Migration]) -> Vec<AppliedEntry> {
        let mut out = self.applied.clone();
        for m in migrations {
            let new = AppliedEntry {
                version: m.version().map(ToString::to_string),
                description: abbreviate(&m.description, 200),
                script: m.script.clone(),
                checksum: Some(m.checksum),
                class: Some(m.analysis.class),
            };
            match &m.kind {
                Kind::Versioned(_) => out.push(new),
                Kind::Repeatable => {
                    out.retain(|e| e.version.is_some() || e.description != new.description);
                    out.push(new);
                }
            }
        }
        sort_entries(&mut out);
        out
    }

    /// The highest version once `migrations` are applied.
    pub fn applied_version_after(&self, migrations: &[&Migration]) -> Option<String> {
        migrations
            .iter()
            .filter_map(|m| m.version())
            .chain(self.applied_version.iter())
            .max()
            .map(ToString::to_string)
    }
}

fn check_file(file: &Migration, row: &HistoryRow, problems: &mut Vec<Problem>) {
    if let Some(applied) = row.checksum {
        if applied != file.checksum {
            problems.push(Problem::ChecksumMismatch {
                script: file.script.clone(),
                applied,
                file: file.checksum,
            });
        }
    }
    let expected = abbreviate(&file.description, 200);
    if row.kind == TYPE_SQL && row.description != expected {
        problems.push(Problem::DescriptionMismatch {
            script: file.script.clone(),
            applied: row.description.clone(),
            file: expected,
        });
    }
}

fn entry(row: &HistoryRow, file: Option<&Migration>) -> AppliedEntry {
    AppliedEntry {
        version: row
            .version
            .as_deref()
            .map(|v| Version::parse(v).map_or_else(|_| v.to_string(), |v| v.to_string())),
        description: row.description.clone(),
        script: row.script.clone(),
        checksum: row.checksum,
        class: file.map(|f| f.analysis.class),
    }
}

/// Versioned entries by version, then repeatables by description: the same
/// order whether read from the history or predicted by a plan.
fn sort_entries(entries: &mut [AppliedEntry]) {
    entries.sort_by(|a, b| match (&a.version, &b.version) {
        (Some(x), Some(y)) => match (Version::parse(x), Version::parse(y)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        },
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.description.cmp(&b.description),
    });
}
