//! Reading a `bluegreen_migration` configuration, with a diagnostic at the
//! attribute path for each problem.

use std::path::PathBuf;
use std::time::Duration;

use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics, Value};

use super::schema::DEFAULT_LOCK_TIMEOUT;
use crate::migrate::history::DEFAULT_TABLE;
use crate::migrate::{DatabaseUrl, HistoryTable, Version};

/// A configuration read for plan and apply. `None` where the value is not
/// known yet (it depends on a resource not created).
#[derive(Debug, Clone)]
pub struct MigrationConfig {
    /// The database.
    pub database_url: Option<DatabaseUrl>,
    /// The migrations folder.
    pub source_dir: Option<PathBuf>,
    /// The history table.
    pub history_table: Option<HistoryTable>,
    /// The environment name; `Some(None)` when unset, `None` when unknown.
    pub environment: Option<Option<String>>,
    /// The last version to apply; `Some(None)` for all, `None` when unknown.
    pub target_version: Option<Option<Version>>,
    /// Apply breaking migrations regardless of traffic.
    pub allow_breaking: bool,
    /// Wait for the migration lock this long.
    pub lock_timeout: Duration,
}

impl MigrationConfig {
    /// Whether plan can read the database and the folder.
    pub fn is_known(&self) -> bool {
        self.database_url.is_some()
            && self.source_dir.is_some()
            && self.history_table.is_some()
            && self.target_version.is_some()
    }
}

/// Static checks that hold with unknown values too (validate and plan).
pub fn validate(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let _ = read(config, &mut diags);
    diags
}

fn known_str(v: &Value) -> Option<Option<&str>> {
    if v.is_unknown() || !v.is_wholly_known() {
        None
    } else {
        Some(v.as_str())
    }
}

/// Reads the configuration; problems go to `diags`.
pub fn read(config: &Value, diags: &mut Diagnostics) -> MigrationConfig {
    let database_url = match known_str(config.get("database_url")) {
        Some(Some(raw)) => match DatabaseUrl::parse(raw) {
            Ok(u) => Some(u),
            Err(e) => {
                diags.error_at(
                    AttributePath::attr("database_url"),
                    "Invalid database_url",
                    e.to_string(),
                );
                None
            }
        },
        _ => None,
    };
    let source_dir = match known_str(config.get("source_dir")) {
        Some(Some(dir)) if dir.trim().is_empty() => {
            diags.error_at(
                AttributePath::attr("source_dir"),
                "Invalid source_dir",
                "Give the folder holding the migration files, e.g. \"${path.module}/migrations\".",
            );
            None
        }
        Some(Some(dir)) => Some(PathBuf::from(dir)),
        _ => None,
    };
    let history_table = match known_str(config.get("history_table")) {
        Some(name) => match HistoryTable::parse(name.unwrap_or(DEFAULT_TABLE)) {
            Ok(t) => Some(t),
            Err(e) => {
                diags.error_at(
                    AttributePath::attr("history_table"),
                    "Invalid history_table",
                    e.to_string(),
                );
                None
            }
        },
        None => None,
    };
    let environment = known_str(config.get("environment")).map(|e| e.map(str::to_string));
    let target_version = match known_str(config.get("target_version")) {
        Some(Some(v)) => match Version::parse(v) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                diags.error_at(
                    AttributePath::attr("target_version"),
                    "Invalid target_version",
                    format!("{e}."),
                );
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    let allow_breaking = config.get("allow_breaking").as_bool().unwrap_or(false);
    let lock_timeout = match config.get("lock_timeout").as_str() {
        None => DEFAULT_LOCK_TIMEOUT,
        Some(s) => match parse_duration(s) {
            Ok(d) => d,
            Err(e) => {
                diags.error_at(
                    AttributePath::attr("lock_timeout"),
                    "Invalid lock_timeout",
                    format!("{e}. Use a duration such as \"30s\" or \"5m\"."),
                );
                DEFAULT_LOCK_TIMEOUT
            }
        },
    };
    MigrationConfig {
        database_url,
        source_dir,
        history_table,
        environment,
        target_version,
        allow_breaking,
        lock_timeout,
    }
}
