//! Applying migrations: one connection, Flyway's lock, each migration in its
//! own transaction (statements PostgreSQL refuses in one run on their own),
//! and a history row only for a migration that succeeded.

use std::time::{Duration, Instant};

use super::database::{database_message, error_position, DatabaseError, DatabaseUrl, Db, Dialect};
use super::history::{
    current_user, HistoryError, HistoryRow, HistoryTable, NewRow, ResolvedTable, TYPE_SQL,
};
use super::lock::{LockError, MigrationLock};
use super::naming::Version;
use super::source::{Migration, MigrationSet};
use super::sql::{Placement, Statement};
use super::status::{Problem, Status};

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why migrating stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// No connection.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The history table could not be read or written.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The lock was not taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The folder and the history disagree (edited, missing, failed… migrations).
    #[error("{}", problems.iter().map(|p| format!("{}: {}", p.summary(), p.detail())).collect::<Vec<_>>().join("\n"))]
    Validation {
        /// What is wrong, each with its fix.
        problems: Vec<Problem>,
    },
    /// A statement failed.
    #[error("{script}:{line}: {message}{}", committed.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Statement {
        /// The migration file.
        script: String,
        /// The 1-based line of the failing statement (or of the error in it).
        line: usize,
        /// The database's message.
        message: String,
        /// What was committed before the failure, when the migration could not
        /// run in one transaction; `None` means nothing of it remains.
        committed: Option<String>,
    },
}

/// The outcome of applying one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It ran; took this long.
    Ran(Duration),
    /// Another run applied it while we waited for the database (SQLite).
    AlreadyApplied,
}

/// A connection to the database whose history is being migrated.
pub struct Session {
    db: Db,
    url: DatabaseUrl,
    table: ResolvedTable,
    lock: Option<MigrationLock>,
    installed_by: String,
}

impl Session {
    /// Connects and finds the history table's schema. `lock_timeout` also
    /// bounds how long SQLite waits for another writer.
    pub async fn open(
        url: &DatabaseUrl,
        table: &HistoryTable,
        lock_timeout: Duration,
    ) -> Result<Session, MigrateError> {
        let mut db = Db::connect(url, lock_timeout, CONNECT_TIMEOUT).await?;
        let resolved = match table.resolve(&mut db).await {
            Ok(t) => t,
            Err(e) => {
                db.close().await;
                return Err(e.into());
            }
        };
        let installed_by = current_user(&mut db).await;
        Ok(Session {
            db,
            url: url.clone(),
            table: resolved,
            lock: None,
            installed_by,
        })
    }

    /// The history table, schema-qualified.
    pub fn table(&self) -> &ResolvedTable {
        &self.table
    }

    /// The connection (tests use it to look at the schema).
    pub fn db(&mut self) -> &mut Db {
        &mut self.db
    }

    /// Every history row (none when the table does not exist yet).
    pub async fn history(&mut self) -> Result<Vec<HistoryRow>, MigrateError> {
        Ok(self.table.read(&mut self.db).await?)
    }

    /// Takes Flyway's migration lock and creates the history table if needed.
    pub async fn lock(&mut self, timeout: Duration) -> Result<(), MigrateError> {
        if self.lock.is_none() {
            self.lock = Some(MigrationLock::acquire(&mut self.db, &self.table, timeout).await?);
        }
        self.table.create_if_missing(&mut self.db).await?;
        Ok(())
    }

    /// Releases the lock and closes the connection.
    pub async fn close(mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release(&mut self.db).await;
        }
        self.db.close().await;
    }

    /// Applies one migration and records it. Call [`Session::lock`] first.
    pub async fn apply(&mut self, m: &Migration) -> Result<Applied, MigrateError> {
        let started = Instant::now();
        let statements = &m.analysis.statements;
        let own_transactions = statements
            .iter()
            .any(|s| s.placement == Placement::TransactionControl);
        let outside = statements.iter().find_map(|s| match s.placement {
            Placement::OutsideTransaction(what) => Some(what),
            _ => None,
        });
        let outcome = if own_transactions {
            self.apply_autocommit(m, started).await
        } else if let Some(what) = outside {
            self.apply_in_groups(m, what, started).await
        } else {
            self.apply_in_one_transaction(m, started).await
        };
        if self.db.dialect() == Dialect::Postgres {
            // Settings a migration made (SET search_path, SET ROLE…) must not
            // leak into the next one; Flyway restores the session the same way.
            let _ = self.db.execute("RESET ALL").await;
        }
        outcome
    }

    fn begin(&self) -> &'static str {
        match self.db.dialect() {
            // Take SQLite's write lock up front: a second runner waits here
            // (busy_timeout) instead of failing halfway.
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    async fn already_applied(&mut self, m: &Migration) -> Result<bool, MigrateError> {
        // PostgreSQL runs hold Flyway's lock across the whole run; SQLite has
        // no such lock, so check again under the write lock.
        if self.db.dialect() != Dialect::Sqlite {
            return Ok(false);
        }
        let rows = self.table.read(&mut self.db).await?;
        Ok(rows.iter().any(|r| {
            r.success
                && r.kind == TYPE_SQL
                && match m.version() {
                    Some(v) => {
                        r.version
                            .as_deref()
                            .and_then(|x| super::naming::Version::parse(x).ok())
                            .as_ref()
                            == Some(v)
                    }
                    None => {
                        r.version.is_none()
                            && r.description == m.description
                            && r.checksum == Some(m.checksum)
                    }
                }
        }))
    }

    async fn record(&mut self, m: &Migration, started: Instant) -> Result<(), MigrateError> {
        let version = m.version().map(ToString::to_string);
        let row = NewRow {
            version: version.as_deref(),
            description: &m.description,
            kind: TYPE_SQL,
            script: &m.script,
            checksum: Some(m.checksum),
            installed_by: &self.installed_by,
            execution_time: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
            success: true,
        };
        Ok(self.table.insert(&mut self.db, &row).await?)
    }

    async fn run(&mut self, m: &Migration, s: &Statement) -> Result<(), MigrateError> {
        self.db
            .execute(&s.text)
            .await
            .map_err(|e| statement_error(&self.url, m, s, &e, None))
    }

    async fn apply_in_one_transaction(
        &mut self,
        m: &Migration,
        started: Instant,
    ) -> Result<Applied, MigrateError> {
        let begin = self.begin();
        self.db
            .execute(begin)
            .await
            .map_err(|e| connection_error(&self.url, m, &e))?;
        let result = async {
            if self.already_applied(m).await? {
                return Ok(Applied::AlreadyApplied);
            }
            for s in &m.analysis.statements {
                self.run(m, s).await?;
            }
            self.record(m, started).await?;
            Ok(Applied::Ran(started.elapsed()))
        }
        .await;
        match result {
            Ok(Applied::Ran(d)) => {
                self.db
                    .execute("COMMIT")
                    .await
                    .map_err(|e| connection_error(&self.url, m, &e))?;
                Ok(Applied::Ran(d))
            }
            other => {
                let _ = self.db.execute("ROLLBACK").await;
                other
            }
        }
    }

    /// Statements PostgreSQL refuses in a transaction run on their own; the
    /// others run in transactions between them, the last of which records the
    /// migration.
    async fn apply_in_groups(
        &mut self,
        m: &Migration,
        what: &'static str,
        started: Instant,
    ) -> Result<Applied, MigrateError> {
        let statements = &m.analysis.statements;
        let mut committed_until: Option<usize> = None;
        let mut i = 0;
        let mut recorded = false;
        while i < statements.len() {
            let s = &statements[i];
            let partial = committed_until.map(|line| {
                format!("the statements before line {line} were committed, because {what} cannot run inside the migration's transaction: check the database, make the migration safe to re-run, and apply again")
            });
            if let Placement::OutsideTransaction(_) = s.placement {
                self.db
                    .execute(&s.text)
                    .await
                    .map_err(|e| statement_error(&self.url, m, s, &e, partial.clone()))?;
                i += 1;
            } else {
                let end = statements[i..]
                    .iter()
                    .position(|s| s.placement != Placement::InTransaction)
                    .map_or(statements.len(), |p| i + p);
                let last_group = end == statements.len();
                self.db
                    .execute(self.begin())
                    .await
                    .map_err(|e| connection_error(&self.url, m, &e))?;
                let mut failure = None;
                for s in &statements[i..end] {
                    if let Err(e) = self.db.execute(&s.text).await {
                        failure = Some(statement_error(&self.url, m, s, &e, partial.clone()));
                        break;
                    }
                }
                if failure.is_none() && last_group {
                    if let Err(e) = self.record(m, started).await {
                        failure = Some(e);
                    }
                    recorded = true;
                }
                if let Some(e) = failure {
                    let _ = self.db.execute("ROLLBACK").await;
                    return Err(e);
                }
                self.db
                    .execute("COMMIT")
                    .await
                    .map_err(|e| connection_error(&self.url, m, &e))?;
                i = end;
            }
            committed_until = statements.get(i).map(|s| s.line);
        }
        if !recorded {
            self.record(m, started).await?;
        }
        Ok(Applied::Ran(started.elapsed()))
    }

    /// A migration with its own BEGIN/COMMIT runs as written; it is recorded
    /// once all of it succeeded.
    async fn apply_autocommit(
        &mut self,
        m: &Migration,
        started: Instant,
    ) -> Result<Applied, MigrateError> {
        for s in &m.analysis.statements {
            if let Err(e) = self.db.execute(&s.text).await {
                // Leave no transaction of the file's open on our connection.
                let _ = self.db.execute("ROLLBACK").await;
                let note = "the migration manages its own transactions, so what it committed before this statement remains: check the database, make the migration safe to re-run, and apply again";
                return Err(statement_error(&self.url, m, s, &e, Some(note.to_string())));
            }
        }
        self.record(m, started).await?;
        Ok(Applied::Ran(started.elapsed()))
    }
}

fn statement_error(
    url: &DatabaseUrl,
    m: &Migration,
    s: &Statement,
    e: &sqlx::Error,
    committed: Option<String>,
) -> MigrateError {
    // PostgreSQL's position counts characters from the statement's start.
    let line = match error_position(e) {
        Some(pos) => {
            s.line
                + s.text
                    .chars()
                    .take(pos.saturating_sub(1))
                    .filter(|&c| c == '\n')
                    .count()
        }
        None => s.line,
    };
    MigrateError::Statement {
        script: m.script.clone(),
        line,
        message: url.scrub(&database_message(e)),
        committed,
    }
}

fn connection_error(url: &DatabaseUrl, m: &Migration, e: &sqlx::Error) -> MigrateError {
    MigrateError::Statement {
        script: m.script.clone(),
        line: 1,
        message: url.scrub(&database_message(e)),
        committed: None,
    }
}

/// Migrates a database to `target` (all pending migrations when `None`):
/// lock, compare, apply, unlock. Returns the scripts applied. The resource
/// does the same in steps, with its gate between comparing and applying.
pub async fn migrate(
    url: &DatabaseUrl,
    table: &HistoryTable,
    set: &MigrationSet,
    target: Option<&Version>,
    lock_timeout: Duration,
) -> Result<Vec<String>, MigrateError> {
    let mut session = Session::open(url, table, lock_timeout).await?;
    let result = async {
        session.lock(lock_timeout).await?;
        let rows = session.history().await?;
        let status = Status::new(set, &rows);
        if !status.problems.is_empty() {
            return Err(MigrateError::Validation { problems: status.problems.clone() });
        }
        let mut applied = Vec::new();
        for m in status.to_apply(target) {
            if let Applied::Ran(took) = session.apply(m).await? {
                tracing::info!(script = %m.script, millis = took.as_millis() as u64, "migration applied");
                applied.push(m.script.clone());
            }
        }
        Ok(applied)
    }
    .await;
    session.close().await;
    result
}
