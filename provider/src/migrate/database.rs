//! Database URLs (with their secrets kept out of every message) and the one
//! connection a migration run uses: PostgreSQL first class, SQLite as the
//! embedded default.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

/// What the connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// SQLite (`sqlite://path`).
    Sqlite,
}

/// Why a database URL is unusable or a connection failed. Messages never
/// contain the password.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// Not a URL this provider can connect to.
    #[error(
        "database_url must start with postgres://, postgresql:// or sqlite:// (got {scheme:?})"
    )]
    Scheme {
        /// What it started with instead.
        scheme: String,
    },
    /// The URL is malformed.
    #[error("database_url {url} is not valid: {message}")]
    Invalid {
        /// The redacted URL.
        url: String,
        /// The driver's complaint, scrubbed.
        message: String,
    },
    /// The server did not accept the connection.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The redacted URL.
        url: String,
        /// The driver's error, scrubbed.
        message: String,
    },
}

/// A database URL. `Debug` and `Display` show it with the password masked.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
    secrets: Vec<String>,
}

/// What replaces secrets in messages.
const MASK: &str = "***";

impl DatabaseUrl {
    /// Parses and classifies a URL.
    pub fn parse(raw: &str) -> Result<DatabaseUrl, DatabaseError> {
        let raw = raw.trim();
        let lower = raw.to_ascii_lowercase();
        let dialect = if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Dialect::Postgres
        } else if lower.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            let scheme = raw
                .split("://")
                .next()
                .filter(|s| s.len() < raw.len())
                .unwrap_or("")
                .to_string();
            return Err(DatabaseError::Scheme { scheme });
        };
        let mut secrets = Vec::new();
        if let Some(pw) = userinfo_password(raw) {
            secrets.push(pw.to_string());
            let decoded = percent_decode(pw);
            if decoded != pw {
                secrets.push(decoded);
            }
        }
        for (key, value) in query_pairs(raw) {
            if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword") {
                secrets.push(value.to_string());
            }
        }
        secrets.retain(|s| !s.is_empty());
        Ok(DatabaseUrl {
            raw: raw.to_string(),
            dialect,
            secrets,
        })
    }

    /// PostgreSQL or SQLite.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL as given, for the driver only: never log or show it.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with passwords replaced by `***`.
    pub fn redacted(&self) -> String {
        self.scrub(&self.raw)
    }

    /// `text` with every secret of this URL replaced by `***`: driver errors
    /// may echo parts of the URL.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so a secret containing another is masked whole.
        let mut secrets = self.secrets.clone();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in &secrets {
            out = out.replace(s.as_str(), MASK);
        }
        out
    }

    /// A stable identity without secrets: scheme, host, port and database
    /// (or the SQLite path), for the resource id.
    pub fn identity(&self) -> String {
        let without_query = self.raw.split('?').next().unwrap_or(&self.raw);
        match without_query.split_once("://") {
            Some((scheme, rest)) => {
                let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                format!("{}://{}", scheme.to_ascii_lowercase(), host_and_path)
            }
            None => without_query.to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The password of `scheme://user:password@host/…`, if any.
fn userinfo_password(raw: &str) -> Option<&str> {
    let rest = raw.split_once("://")?.1;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, pw)| pw)
}

fn query_pairs(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    raw.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The application name PostgreSQL shows in `pg_stat_activity`, so whoever
/// waits on our lock can see who holds it.
pub const APPLICATION_NAME: &str = "terraform-provider-bluegreen";

/// One open connection.
pub enum Db {
    /// A PostgreSQL session.
    Postgres(PgConnection),
    /// A SQLite database file.
    Sqlite(SqliteConnection),
}

impl Db {
    /// Connects. `busy_timeout` bounds how long SQLite waits for another
    /// writer; `connect_timeout` bounds the whole connection attempt.
    pub async fn connect(
        url: &DatabaseUrl,
        busy_timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Db, DatabaseError> {
        let invalid = |e: sqlx::Error| DatabaseError::Invalid {
            url: url.redacted(),
            message: url.scrub(&e.to_string()),
        };
        let failed = |message: String| DatabaseError::Connect {
            url: url.redacted(),
            message: url.scrub(&message),
        };
        let attempt = async {
            match url.dialect() {
                Dialect::Postgres => {
                    let opts = PgConnectOptions::from_str(url.expose())
                        .map_err(invalid)?
                        .application_name(APPLICATION_NAME)
                        // Migration statements run once: caching them only holds server memory.
                        .statement_cache_capacity(0)
                        .disable_statement_logging();
                    PgConnection::connect_with(&opts)
                        .await
                        .map(Db::Postgres)
                        .map_err(|e| failed(e.to_string()))
                }
                Dialect::Sqlite => {
                    let opts = SqliteConnectOptions::from_str(url.expose())
                        .map_err(invalid)?
                        .create_if_missing(true)
                        .busy_timeout(busy_timeout)
                        .disable_statement_logging();
                    SqliteConnection::connect_with(&opts)
                        .await
                        .map(Db::Sqlite)
                        .map_err(|e| failed(e.to_string()))
                }
            }
        };
        match tokio::time::timeout(connect_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(failed(format!(
                "no answer within {}s",
                connect_timeout.as_secs()
            ))),
        }
    }

    /// PostgreSQL or SQLite.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs SQL text as written (the simple query protocol on PostgreSQL), so
    /// any statement a migration may hold is accepted.
    pub async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let q = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        match self {
            Db::Postgres(c) => q.execute(c).await.map(drop),
            Db::Sqlite(c) => q.execute(c).await.map(drop),
        }
    }

    /// Closes the connection politely (PostgreSQL releases session locks too).
    pub async fn close(self) {
        let _ = match self {
            Db::Postgres(c) => c.close().await,
            Db::Sqlite(c) => c.close().await,
        };
    }
}

/// The database's own message for an error, with PostgreSQL's detail and
/// hint when it gives them.
pub fn database_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let mut msg = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    msg.push_str(&format!(" (DETAIL: {detail})"));
                }
                if let Some(hint) = pg.hint() {
                    msg.push_str(&format!(" (HINT: {hint})"));
                }
                msg.push_str(&format!(" [SQLSTATE {}]", pg.code()));
            }
            msg
        }
        other => other.to_string(),
    }
}

/// The 1-based character position PostgreSQL reports inside the statement.
pub fn error_position(e: &sqlx::Error) -> Option<usize> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    match pg.position()? {
        sqlx::postgres::PgErrorPosition::Original(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let url = DatabaseUrl::parse(
            "postgres://app:s3cr%40t@db.example:5432/app?sslmode=require&password=other",
        )
        .unwrap();
        assert_eq!(url.dialect(), Dialect::Postgres);
        let shown = url.redacted();
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!shown.contains("other"), "{shown}");
        assert_eq!(
            url.scrub("failed for s3cr@t and s3cr%40t"),
            "failed for *** and ***"
        );
        assert_eq!(url.identity(), "postgres://db.example:5432/app");
        assert!(!format!("{url:?}").contains("s3cr"));
    }

    #[test]
    fn schemes() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://state.db").unwrap().dialect(),
            Dialect::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://localhost/db")
                .unwrap()
                .dialect(),
            Dialect::Postgres
        );
        let err = DatabaseUrl::parse("mysql://root:pw@localhost/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"mysql\"") && !err.contains("pw"), "{err}");
    }
}
