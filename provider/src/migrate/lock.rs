//! The migration lock. On PostgreSQL it is Flyway's own session advisory
//! lock, so a Flyway run and this provider exclude each other; SQLite
//! serialises writers itself (see `runner`).

use std::time::{Duration, Instant};

use super::database::{database_message, Db};
use super::history::ResolvedTable;

/// Flyway's lock number base: the ASCII bytes of "Flyway".
///
/// Source: Flyway's `PostgreSQLAdvisoryLockTemplate`
/// (flyway-database/flyway-database-postgresql/src/main/java/org/flywaydb/database/postgresql/PostgreSQLAdvisoryLockTemplate.java):
/// `LOCK_MAGIC_NUM = (0x46L << 40) + (0x6CL << 32) + (0x79L << 24) + (0x77 << 16) + (0x61 << 8) + 0x79`
/// and `lockNum = LOCK_MAGIC_NUM + discriminator`, where `PostgreSQLConnection.lock`
/// passes `table.toString().hashCode()`: Java's `String.hashCode` of the
/// quoted table name, e.g. `"public"."flyway_schema_history"`.
const LOCK_MAGIC_NUM: i64 =
    (0x46 << 40) + (0x6C << 32) + (0x79 << 24) + (0x77 << 16) + (0x61 << 8) + 0x79;

/// Java's `String.hashCode`: `h = 31 * h + c` over UTF-16 code units, wrapping.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The advisory lock key Flyway takes for this history table.
pub fn flyway_lock_key(table: &ResolvedTable) -> i64 {
    LOCK_MAGIC_NUM + i64::from(java_string_hash(&table.quoted()))
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else held it for the whole wait.
    #[error(
        "timed out after {waited:?} waiting for the migration lock on {table} (PostgreSQL advisory lock {key}, Flyway's): held by {holder}. \
         Another migration run (this provider or Flyway) is using this database: wait for it to finish, or raise lock_timeout"
    )]
    Timeout {
        /// The history table.
        table: String,
        /// The key.
        key: i64,
        /// How long we waited.
        waited: Duration,
        /// Who holds it, as far as pg_stat_activity tells.
        holder: String,
    },
    /// The database failed the lock query.
    #[error("taking the migration lock on {table}: {message}")]
    Query {
        /// The history table.
        table: String,
        /// The database's message.
        message: String,
    },
}

/// A held lock; release it with [`MigrationLock::release`] (closing the
/// session releases it too).
#[derive(Debug)]
pub struct MigrationLock {
    key: Option<i64>,
}

impl MigrationLock {
    /// Takes the lock, retrying until `timeout`.
    pub async fn acquire(
        db: &mut Db,
        table: &ResolvedTable,
        timeout: Duration,
    ) -> Result<MigrationLock, LockError> {
        let Db::Postgres(conn) = db else {
            return Ok(MigrationLock { key: None });
        };
        let key = flyway_lock_key(table);
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| LockError::Query {
                    table: table.quoted(),
                    message: database_message(&e),
                })?;
            if got {
                return Ok(MigrationLock { key: Some(key) });
            }
            let waited = started.elapsed();
            if waited >= timeout {
                let holder = holder(conn, key).await;
                return Err(LockError::Timeout {
                    table: table.quoted(),
                    key,
                    waited: round(waited),
                    holder,
                });
            }
            tokio::time::sleep(pause.min(timeout.saturating_sub(waited))).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// Releases the lock.
    pub async fn release(self, db: &mut Db) {
        if let (Some(key), Db::Postgres(conn)) = (self.key, db) {
            if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(conn)
                .await
            {
                tracing::warn!(error = %database_message(&e), "releasing the migration lock failed; it ends with the session");
            }
        }
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64 / 100 * 100)
}

/// pid, application_name, user, client address and connection time of a session.
type SessionRow = (
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Who holds advisory lock `key`: a bigint key is split into classid (high
/// 32 bits) and objid (low 32 bits) in pg_locks.
async fn holder(conn: &mut sqlx::PgConnection, key: i64) -> String {
    let row: Result<Option<SessionRow>, _> = sqlx::query_as(
        "SELECT a.pid, a.application_name, a.usename::text, a.client_addr::text, a.backend_start::text \
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid::int8 = $1 AND l.objid::int8 = $2 LIMIT 1",
    )
    .bind(key >> 32)
    .bind(key & 0xFFFF_FFFF)
    .fetch_optional(conn)
    .await;
    match row {
        Ok(Some((pid, app, user, client, since))) => {
            let mut parts = vec![format!("pid {pid}")];
            if let Some(app) = app.filter(|a| !a.is_empty()) {
                parts.push(format!("application {app:?}"));
            }
            if let Some(user) = user {
                parts.push(format!("user {user}"));
            }
            if let Some(client) = client {
                parts.push(format!("client {client}"));
            }
            if let Some(since) = since {
                parts.push(format!("connected since {since}"));
            }
            parts.join(", ")
        }
        _ => "another session".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_number_spells_flyway() {
        assert_eq!(LOCK_MAGIC_NUM, 0x466C_7977_6179);
        assert_eq!(LOCK_MAGIC_NUM.to_be_bytes()[2..], *b"Flyway");
    }

    #[test]
    fn java_hash_matches_java() {
        // Values of "".hashCode(), "a".hashCode() and "hello".hashCode() in Java.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Overflow wraps like Java's int arithmetic.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn default_table_key() {
        let t = ResolvedTable {
            schema: "public".into(),
            name: "flyway_schema_history".into(),
        };
        // Computed with Java 17: (0x46L << 40) + … + "\"public\".\"flyway_schema_history\"".hashCode().
        assert_eq!(flyway_lock_key(&t), 77_433_833_903_597);
    }
}
