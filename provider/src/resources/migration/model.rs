//! Reading a `bluegreen_migration` configuration, with a diagnostic at the
//! attribute path for each problem.

use std::path::PathBuf;
use std::time::Duration;

use tfplugin::model::{decode, Field};
use tfplugin::timeouts::parse_duration;
use tfplugin::{AttributePath, Diagnostics, Number, Value};

use super::schema::DEFAULT_LOCK_TIMEOUT;
use crate::migrate::history::DEFAULT_TABLE;
use crate::migrate::{DatabaseUrl, HistoryTable, Version};

tfplugin::model! {
    /// A migration resource as configured, planned or stored: every attribute
    /// of the schema, so that it round-trips.
    #[derive(Debug, Clone, Default)]
    pub struct MigrationModel {
        /// The database without credentials, and the table.
        pub id: Field<String>,
        /// PostgreSQL URL (sensitive).
        pub database_url: Field<String>,
        /// The migrations folder.
        pub source_dir: Field<String>,
        /// The history table.
        pub history_table: Field<String>,
        /// The environment whose colours gate breaking migrations.
        pub environment: Field<String>,
        /// The last version to apply.
        pub target_version: Field<String>,
        /// Apply breaking migrations regardless of traffic.
        pub allow_breaking: Field<bool>,
        /// Wait for the migration lock this long.
        pub lock_timeout: Field<String>,
        /// The highest applied version.
        pub applied_version: Field<String>,
        /// Migrations not applied (yet).
        pub pending: Field<Vec<PendingModel>>,
        /// Migrations in the history table.
        pub applied: Field<Vec<AppliedModel>>,
    }
}

tfplugin::model! {
    /// One `pending` entry.
    #[derive(Debug, Clone, Default)]
    pub struct PendingModel {
        /// Its version (null for a repeatable migration).
        pub version: Field<String>,
        /// From the file name.
        pub description: Field<String>,
        /// The file name.
        pub script: Field<String>,
        /// expand, contract or unknown.
        pub class: Field<String>,
        /// The version the traffic must run first.
        pub requires: Field<String>,
        /// Why it has its class.
        pub reasons: Field<Vec<Field<String>>>,
    }
}

tfplugin::model! {
    /// One `applied` entry.
    #[derive(Debug, Clone, Default)]
    pub struct AppliedModel {
        /// Its version (null for a repeatable migration).
        pub version: Field<String>,
        /// From the file name.
        pub description: Field<String>,
        /// The file name.
        pub script: Field<String>,
        /// Flyway's checksum.
        pub checksum: Field<Number>,
        /// expand, contract or unknown, when known.
        pub class: Field<String>,
    }
}

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
    match decode::<MigrationModel>(config) {
        Ok(config) => {
            let _ = read(&config, &mut diags);
        }
        Err(d) => diags.push(d),
    }
    diags
}

/// `None` when unknown, `Some(None)` when null.
fn known_str(v: &Field<String>) -> Option<Option<&str>> {
    match v {
        Field::Unknown => None,
        Field::Null => Some(None),
        Field::Known(s) => Some(Some(s)),
    }
}

/// Reads the configuration; problems go to `diags`.
pub fn read(config: &MigrationModel, diags: &mut Diagnostics) -> MigrationConfig {
    let database_url = match known_str(&config.database_url) {
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
    let source_dir = match known_str(&config.source_dir) {
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
    let history_table = match known_str(&config.history_table) {
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
    let environment = known_str(&config.environment).map(|e| e.map(str::to_string));
    let target_version = match known_str(&config.target_version) {
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
    let allow_breaking = config.allow_breaking.known().copied().unwrap_or(false);
    let lock_timeout = match config.lock_timeout.as_deref() {
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

#[cfg(test)]
mod tests {
    use tfplugin::model::{coverage, IntoValue, Model};
    use tfplugin::Type;

    use super::*;
    use crate::resources::migration::schema;

    fn sorted(names: &[&'static str]) -> Vec<&'static str> {
        let mut names = names.to_vec();
        names.sort_unstable();
        names
    }

    fn object_names(ty: &Type) -> Vec<&str> {
        ty.object_attrs()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_models_cover_the_schema() {
        assert_eq!(
            coverage::<MigrationModel>(&schema::schema().block),
            (vec![], vec![])
        );
        assert_eq!(
            sorted(PendingModel::ATTRIBUTES),
            object_names(&schema::pending_type())
        );
        assert_eq!(
            sorted(AppliedModel::ATTRIBUTES),
            object_names(&schema::applied_type())
        );
    }

    #[test]
    fn a_state_round_trips() {
        let state = Value::object([
            ("id", Value::from("postgres://db/app#flyway_schema_history")),
            ("database_url", Value::from("postgres://u:secret@db/app")),
            ("source_dir", Value::from("./migrations")),
            ("history_table", Value::from("flyway_schema_history")),
            ("environment", Value::Null),
            ("target_version", Value::from("1.3.0")),
            ("allow_breaking", Value::Bool(false)),
            ("lock_timeout", Value::from("60s")),
            ("applied_version", Value::from("1.2.0")),
            (
                "pending",
                Value::List(vec![Value::object([
                    ("version", Value::from("1.3.0")),
                    ("description", Value::from("add prefs")),
                    ("script", Value::from("V1.3.0__add_prefs.sql")),
                    ("class", Value::from("contract")),
                    ("requires", Value::Null),
                    ("reasons", Value::List(vec![Value::from("drops a column")])),
                ])]),
            ),
            (
                "applied",
                Value::List(vec![Value::object([
                    ("version", Value::from("1.2.0")),
                    ("description", Value::from("init")),
                    ("script", Value::from("V1.2.0__init.sql")),
                    ("checksum", Value::int(-1_234_567)),
                    ("class", Value::Null),
                ])]),
            ),
        ]);
        let model: MigrationModel = tfplugin::model::decode(&state).unwrap();
        assert_eq!(model.into_value(), state);
    }

    #[test]
    fn unknown_values_wait_for_apply() {
        let config = MigrationModel {
            database_url: Field::Unknown,
            source_dir: Field::Known("./m".into()),
            history_table: Field::Null,
            target_version: Field::Null,
            ..MigrationModel::default()
        };
        let mut diags = Diagnostics::new();
        let cfg = read(&config, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(cfg.database_url.is_none());
        assert!(!cfg.is_known());
        assert_eq!(cfg.target_version, Some(None));
        assert_eq!(cfg.environment, Some(None));
        assert_eq!(
            cfg.history_table,
            Some(HistoryTable::parse(DEFAULT_TABLE).unwrap())
        );
    }
}
