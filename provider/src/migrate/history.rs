//! The history table, column for column and value for value what Flyway
//! writes (`flyway_schema_history` by default), so Flyway and this provider
//! read each other's history.

use sqlx::{AssertSqlSafe, Row};

use super::database::{database_message, Db, Dialect};

/// Flyway's default history table name.
pub const DEFAULT_TABLE: &str = "flyway_schema_history";

/// `type` of a SQL migration row.
pub const TYPE_SQL: &str = "SQL";
/// `type` of the row `flyway baseline` writes.
pub const TYPE_BASELINE: &str = "BASELINE";
/// `type` of the row `flyway repair` writes to mark a missing migration deleted.
pub const TYPE_DELETE: &str = "DELETE";

/// Why the history cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A name that is not a plain identifier.
    #[error("history_table {0:?} must be a table name, optionally schema-qualified (letters, digits, `_` and `$`, e.g. \"flyway_schema_history\" or \"app.flyway_schema_history\")")]
    InvalidName(String),
    /// PostgreSQL has no schema to put the table in.
    #[error("the connection has no current schema (search_path is empty); qualify history_table with a schema, e.g. \"public.{0}\"")]
    NoSchema(String),
    /// The database refused a query.
    #[error("{action} {table}: {message}")]
    Query {
        /// What was being done.
        action: &'static str,
        /// The table.
        table: String,
        /// The database's message.
        message: String,
    },
}

/// A history table name as configured: `name` or `schema.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    schema: Option<String>,
    name: String,
}

fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && s.len() <= 63
}

impl HistoryTable {
    /// Parses `name` or `schema.name`.
    pub fn parse(s: &str) -> Result<HistoryTable, HistoryError> {
        let (schema, name) = match s.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, s.to_string()),
        };
        if !valid_identifier(&name) || schema.as_deref().is_some_and(|s| !valid_identifier(s)) {
            return Err(HistoryError::InvalidName(s.to_string()));
        }
        Ok(HistoryTable { schema, name })
    }

    /// Finds the schema Flyway would use: the one given, else the
    /// connection's current schema (PostgreSQL) or `main` (SQLite).
    pub async fn resolve(&self, db: &mut Db) -> Result<ResolvedTable, HistoryError> {
        let schema = match (&self.schema, db.dialect()) {
            (Some(s), _) => s.clone(),
            (None, Dialect::Sqlite) => "main".to_string(),
            (None, Dialect::Postgres) => {
                let Db::Postgres(c) = db else {
                    unreachable!("dialect is postgres")
                };
                let current: Option<String> = sqlx::query_scalar("SELECT current_schema()")
                    .fetch_one(c)
                    .await
                    .map_err(|e| HistoryError::Query {
                        action: "finding the current schema for",
                        table: self.name.clone(),
                        message: database_message(&e),
                    })?;
                current.ok_or_else(|| HistoryError::NoSchema(self.name.clone()))?
            }
        };
        Ok(ResolvedTable {
            schema,
            name: self.name.clone(),
        })
    }
}

/// A history table in a known schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTable {
    /// Its schema (`main` on SQLite).
    pub schema: String,
    /// Its name.
    pub name: String,
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

impl ResolvedTable {
    /// `"schema"."name"`: how Flyway prints the table, which its PostgreSQL
    /// advisory lock key hashes.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }

    /// The SQL Flyway runs to create the table.
    fn create_sql(&self, dialect: Dialect) -> Vec<String> {
        let t = self.quoted();
        match dialect {
            Dialect::Postgres => vec![
                format!(
                    "CREATE TABLE {t} (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INTEGER,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)"
                ),
                format!("ALTER TABLE {t} ADD CONSTRAINT {} PRIMARY KEY (\"installed_rank\")", quote(&format!("{}_pk", self.name))),
                format!("CREATE INDEX {} ON {t} (\"success\")", quote(&format!("{}_s_idx", self.name))),
            ],
            Dialect::Sqlite => vec![
                format!(
                    "CREATE TABLE {t} (\n    \"installed_rank\" INT NOT NULL PRIMARY KEY,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INT,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),\n    \"execution_time\" INT NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)"
                ),
                // SQLite qualifies the index name, never the table it indexes.
                format!(
                    "CREATE INDEX {}.{} ON {} (\"success\")",
                    quote(&self.schema),
                    quote(&format!("{}_s_idx", self.name)),
                    quote(&self.name)
                ),
            ],
        }
    }

    fn query_error(&self, action: &'static str, e: &sqlx::Error) -> HistoryError {
        HistoryError::Query {
            action,
            table: self.quoted(),
            message: database_message(e),
        }
    }

    /// Whether the table exists.
    pub async fn exists(&self, db: &mut Db) -> Result<bool, HistoryError> {
        let result = match db {
            Db::Postgres(c) => sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))",
            )
            .bind(&self.schema)
            .bind(&self.name)
            .fetch_one(c)
            .await,
            Db::Sqlite(c) => sqlx::query_scalar::<_, bool>(AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM {}.sqlite_master WHERE type = 'table' AND name = ?)",
                quote(&self.schema)
            )))
            .bind(&self.name)
            .fetch_one(c)
            .await,
        };
        result.map_err(|e| self.query_error("checking for", &e))
    }

    /// Creates the table the way Flyway does, unless it exists.
    pub async fn create_if_missing(&self, db: &mut Db) -> Result<(), HistoryError> {
        if self.exists(db).await? {
            return Ok(());
        }
        let dialect = db.dialect();
        // SQLite has no advisory lock: take its write lock, then look again,
        // so two first runs do not both create the table.
        let begin = if dialect == Dialect::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        db.execute(begin)
            .await
            .map_err(|e| self.query_error("creating", &e))?;
        let created = async {
            if self.exists(db).await? {
                return Ok(());
            }
            for sql in self.create_sql(dialect) {
                db.execute(&sql)
                    .await
                    .map_err(|e| self.query_error("creating", &e))?;
            }
            Ok(())
        }
        .await;
        match created {
            Ok(()) => db
                .execute("COMMIT")
                .await
                .map_err(|e| self.query_error("creating", &e)),
            Err(e) => {
                let _ = db.execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    /// Every row, by installed_rank; empty when the table does not exist.
    pub async fn read(&self, db: &mut Db) -> Result<Vec<HistoryRow>, HistoryError> {
        if !self.exists(db).await? {
            return Ok(Vec::new());
        }
        let t = self.quoted();
        // Casts make tables created by other Flyway versions read the same.
        macro_rules! rows {
            ($conn:expr, $sql:expr) => {{
                let rows = sqlx::query(AssertSqlSafe($sql))
                    .fetch_all($conn)
                    .await
                    .map_err(|e| self.query_error("reading", &e))?;
                rows.iter()
                    .map(|r| -> Result<HistoryRow, sqlx::Error> {
                        Ok(HistoryRow {
                            installed_rank: r.try_get::<i64, _>(0)?,
                            version: r.try_get(1)?,
                            description: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                            kind: r.try_get(3)?,
                            script: r.try_get(4)?,
                            checksum: r.try_get::<Option<i64>, _>(5)?.map(|c| c as i32),
                            installed_by: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                            installed_on: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                            execution_time: r.try_get::<Option<i64>, _>(8)?.unwrap_or_default(),
                            success: r.try_get::<i64, _>(9)? != 0,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.query_error("reading", &e))?
            }};
        }
        let rows = match db {
            Db::Postgres(c) => rows!(
                c,
                format!("SELECT installed_rank::int8, version, description, type, script, checksum::int8, installed_by, installed_on::text, execution_time::int8, (CASE WHEN success THEN 1 ELSE 0 END)::int8 FROM {t} ORDER BY installed_rank")
            ),
            Db::Sqlite(c) => rows!(
                c,
                format!("SELECT CAST(installed_rank AS INTEGER), version, description, type, script, CAST(checksum AS INTEGER), installed_by, CAST(installed_on AS TEXT), CAST(execution_time AS INTEGER), CAST(success AS INTEGER) FROM {t} ORDER BY installed_rank")
            ),
        };
        Ok(rows)
    }

    /// Appends a row with the next installed_rank, inside the caller's
    /// transaction when there is one.
    pub async fn insert(&self, db: &mut Db, row: &NewRow<'_>) -> Result<(), HistoryError> {
        let t = self.quoted();
        let description = abbreviate(row.description, 200);
        let script = abbreviate_start(row.script, 1000);
        let installed_by = abbreviate(row.installed_by, 100);
        let result = match db {
            Db::Postgres(c) => sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {t} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
                 SELECT COALESCE(MAX(installed_rank), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8 FROM {t}"
            )))
            .bind(row.version)
            .bind(&description)
            .bind(row.kind)
            .bind(&script)
            .bind(row.checksum)
            .bind(&installed_by)
            .bind(row.execution_time)
            .bind(row.success)
            .execute(c)
            .await
            .map(drop),
            Db::Sqlite(c) => sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {t} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
                 SELECT COALESCE(MAX(installed_rank), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? FROM {t}"
            )))
            .bind(row.version)
            .bind(&description)
            .bind(row.kind)
            .bind(&script)
            .bind(row.checksum)
            .bind(&installed_by)
            .bind(row.execution_time)
            // Flyway writes SQLite booleans as 1/0.
            .bind(i32::from(row.success))
            .execute(c)
            .await
            .map(drop),
        };
        result.map_err(|e| self.query_error("writing to", &e))
    }
}

/// Flyway shortens long descriptions to fit the column: first part and `...`.
pub fn abbreviate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max - 3).collect::<String>() + "..."
}

/// Flyway shortens long script paths keeping their end: `...` and last part.
fn abbreviate_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    "...".to_string() + &s.chars().skip(n - (max - 3)).collect::<String>()
}

/// The user Flyway records in `installed_by`: PostgreSQL's `current_user`,
/// and an empty string on SQLite (which has no users).
pub async fn current_user(db: &mut Db) -> String {
    match db {
        Db::Postgres(c) => sqlx::query_scalar::<_, String>("SELECT current_user::text")
            .fetch_one(c)
            .await
            .unwrap_or_default(),
        Db::Sqlite(_) => String::new(),
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Order of application.
    pub installed_rank: i64,
    /// Version (null for repeatables and Flyway's marker rows).
    pub version: Option<String>,
    /// Description.
    pub description: String,
    /// `SQL`, `BASELINE`, `DELETE`, `SCHEMA`, `JDBC`…
    pub kind: String,
    /// Script path relative to the folder.
    pub script: String,
    /// Flyway checksum (null for marker rows).
    pub checksum: Option<i32>,
    /// Database user that applied it.
    pub installed_by: String,
    /// When, as the database prints it.
    pub installed_on: String,
    /// Milliseconds it took.
    pub execution_time: i64,
    /// False when it failed (possible only for non-transactional runs).
    pub success: bool,
}

/// A row to write.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// Version, none for repeatables.
    pub version: Option<&'a str>,
    /// Description.
    pub description: &'a str,
    /// `SQL`.
    pub kind: &'a str,
    /// Script path.
    pub script: &'a str,
    /// Flyway checksum.
    pub checksum: Option<i32>,
    /// Database user.
    pub installed_by: &'a str,
    /// Milliseconds.
    pub execution_time: i32,
    /// Whether it succeeded.
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert!(HistoryTable::parse("flyway_schema_history").is_ok());
        assert!(HistoryTable::parse("app.flyway_schema_history").is_ok());
        for bad in ["", "a.b.c", "drop table x", "x\"y", "1abc", "a."] {
            assert!(HistoryTable::parse(bad).is_err(), "{bad}");
        }
        let t = ResolvedTable {
            schema: "public".into(),
            name: "flyway_schema_history".into(),
        };
        assert_eq!(t.quoted(), "\"public\".\"flyway_schema_history\"");
    }

    #[test]
    fn abbreviations_follow_flyway() {
        assert_eq!(abbreviate("short", 200), "short");
        let long = "x".repeat(250);
        assert_eq!(abbreviate(&long, 200).len(), 200);
        assert!(abbreviate(&long, 200).ends_with("..."));
        assert!(abbreviate_start(&long, 100).starts_with("..."));
    }
}
