//! Migrations against SQLite, the embedded default: the same history,
//! clean failures, and exactly-once application under concurrent runs.

mod support;

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, SqliteConnection};
use terraform_provider_bluegreen::migrate::checksum::flyway_checksum;
use terraform_provider_bluegreen::migrate::{
    migrate, DatabaseUrl, HistoryTable, MigrateError, MigrationSet, Problem, Session, Status,
};

const LOCK: Duration = Duration::from_secs(30);

struct Fixture {
    dir: tempfile::TempDir,
    db: tempfile::TempDir,
}

fn fixture(files: &[(&str, &str)]) -> Fixture {
    let f = Fixture {
        dir: tempfile::tempdir().unwrap(),
        db: tempfile::tempdir().unwrap(),
    };
    support::write_files(f.dir.path(), files);
    f
}

fn table() -> HistoryTable {
    HistoryTable::parse("flyway_schema_history").unwrap()
}

impl Fixture {
    fn raw(&self) -> String {
        format!("sqlite://{}", self.db.path().join("app.db").display())
    }
    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.raw()).unwrap()
    }
    fn set(&self) -> MigrationSet {
        MigrationSet::load(self.dir.path()).expect("valid migrations")
    }
    async fn migrate(&self) -> Result<Vec<String>, MigrateError> {
        migrate(&self.url(), &table(), &self.set(), None, LOCK).await
    }
    async fn strings(&self, sql: &str) -> Vec<String> {
        let mut c = SqliteConnection::connect(&self.raw())
            .await
            .expect("connect");
        let v: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.close().await;
        v
    }
    async fn status(&self) -> (Vec<String>, Vec<Problem>) {
        let set = self.set();
        let mut s = Session::open(&self.url(), &table(), LOCK)
            .await
            .expect("open");
        let rows = s.history().await.expect("history");
        s.close().await;
        let st = Status::new(&set, &rows);
        (
            st.pending.iter().map(|m| m.script.clone()).collect(),
            st.problems.clone(),
        )
    }
}

#[tokio::test]
async fn apply_then_nothing_is_pending() {
    let f = fixture(&[
        ("V1__create.sql", "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"),
        ("V2__add.sql", "ALTER TABLE customers ADD COLUMN nickname TEXT;\nINSERT INTO customers (name) VALUES ('a;b');\n"),
    ]);
    assert_eq!(
        f.migrate().await.expect("migrate"),
        ["V1__create.sql", "V2__add.sql"]
    );
    assert!(f.migrate().await.expect("again").is_empty());
    let (pending, problems) = f.status().await;
    assert!(pending.is_empty() && problems.is_empty());
    let rows = f
        .strings("SELECT installed_rank || '|' || version || '|' || description || '|' || type || '|' || script || '|' || checksum || '|' || success FROM flyway_schema_history ORDER BY installed_rank")
        .await;
    let v1 =
        flyway_checksum(b"CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n");
    assert_eq!(rows[0], format!("1|1|create|SQL|V1__create.sql|{v1}|1"));
    assert_eq!(f.strings("SELECT name FROM customers").await, ["a;b"]);
    support::write_files(
        f.dir.path(),
        &[("V3__more.sql", "CREATE TABLE more (id INTEGER);")],
    );
    assert_eq!(f.status().await.0, ["V3__more.sql"]);
}

#[tokio::test]
async fn a_failing_migration_leaves_schema_and_history_as_before() {
    let f = fixture(&[("V1__base.sql", "CREATE TABLE base (id INTEGER);\n")]);
    f.migrate().await.expect("base");
    let schema = "SELECT type || ' ' || name FROM sqlite_master ORDER BY name";
    let (schema_before, history_before) = (
        f.strings(schema).await,
        f.strings("SELECT script FROM flyway_schema_history").await,
    );
    support::write_files(f.dir.path(), &[("V2__broken.sql", "CREATE TABLE half (id INTEGER);\nINSERT INTO base VALUES (1);\nINSERT INTO nowhere VALUES (1);\n")]);
    let err = f.migrate().await.expect_err("fails");
    let MigrateError::Statement {
        script,
        line,
        message,
        committed,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((script.as_str(), *line), ("V2__broken.sql", 3));
    assert!(message.contains("no such table: nowhere"), "{message}");
    assert!(committed.is_none());
    assert_eq!(f.strings(schema).await, schema_before);
    assert_eq!(
        f.strings("SELECT script FROM flyway_schema_history").await,
        history_before
    );
    assert!(f
        .strings("SELECT CAST(id AS TEXT) FROM base")
        .await
        .is_empty());
}

#[tokio::test]
async fn concurrent_applies_apply_every_migration_exactly_once() {
    let files: Vec<(String, String)> = (1..=8)
        .map(|i| {
            (
                format!("V{i}__step_{i}.sql"),
                if i == 1 {
                    "CREATE TABLE runs (v INTEGER);".to_string()
                } else {
                    format!("INSERT INTO runs VALUES ({i});")
                },
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let f = fixture(&refs);
    // The database file exists before both start, as it would in production.
    f.migrate().await.ok();
    std::fs::remove_file(f.db.path().join("app.db")).ok();
    let (url, set, t) = (f.url(), f.set(), table());
    let (a, b, c) = tokio::join!(
        migrate(&url, &t, &set, None, LOCK),
        migrate(&url, &t, &set, None, LOCK),
        migrate(&url, &t, &set, None, LOCK)
    );
    let mut all = [a.expect("a"), b.expect("b"), c.expect("c")].concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 8);
    assert_eq!(
        f.strings("SELECT CAST(count(*) AS TEXT) FROM flyway_schema_history")
            .await,
        ["8"]
    );
    assert_eq!(
        f.strings(
            "SELECT CAST(count(*) AS TEXT) || '/' || CAST(count(DISTINCT v) AS TEXT) FROM runs"
        )
        .await,
        ["7/7"]
    );
}

#[tokio::test]
async fn editing_an_applied_file_names_both_checksums() {
    let f = fixture(&[("V1__t.sql", "CREATE TABLE t (id INTEGER);\n")]);
    f.migrate().await.expect("migrate");
    support::write_files(
        f.dir.path(),
        &[("V1__t.sql", "CREATE TABLE t (id INTEGER, x TEXT);\n")],
    );
    let err = f.migrate().await.expect_err("refused");
    let text = err.to_string();
    let (old, new) = (
        flyway_checksum(b"CREATE TABLE t (id INTEGER);\n"),
        flyway_checksum(b"CREATE TABLE t (id INTEGER, x TEXT);\n"),
    );
    assert!(
        text.contains("V1__t.sql")
            && text.contains(&old.to_string())
            && text.contains(&new.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn history_table_columns_match_flyways_sqlite_table() {
    let f = fixture(&[("V1__t.sql", "CREATE TABLE t (id INTEGER);")]);
    f.migrate().await.expect("migrate");
    let cols = f.strings("SELECT name || ' ' || type || ' ' || \"notnull\" FROM pragma_table_info('flyway_schema_history') ORDER BY cid").await;
    assert_eq!(
        cols,
        [
            "installed_rank INT 1",
            "version VARCHAR(50) 0",
            "description VARCHAR(200) 1",
            "type VARCHAR(20) 1",
            "script VARCHAR(1000) 1",
            "checksum INT 0",
            "installed_by VARCHAR(100) 1",
            "installed_on TEXT 1",
            "execution_time INT 1",
            "success BOOLEAN 1",
        ]
    );
}
