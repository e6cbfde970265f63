//! Migrations against a real PostgreSQL (a throwaway server, or
//! BLUEGREEN_TEST_DATABASE_URL): applying, failing cleanly, locking like
//! Flyway, detecting edited files, non-transactional statements, and a
//! history table Flyway reads.

mod support;

use std::path::Path;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use terraform_provider_bluegreen::migrate::checksum::flyway_checksum;
use terraform_provider_bluegreen::migrate::lock::LockError;
use terraform_provider_bluegreen::migrate::{
    migrate, DatabaseUrl, HistoryTable, MigrateError, MigrationSet, Problem, Session, Status,
    Version,
};

const LOCK: Duration = Duration::from_secs(30);

struct Fixture {
    dir: tempfile::TempDir,
    url: DatabaseUrl,
    raw: String,
}

async fn fixture(label: &str, files: &[(&str, &str)]) -> Fixture {
    let raw = support::postgres::fresh_database(label).await;
    let dir = tempfile::tempdir().expect("temp dir");
    support::write_files(dir.path(), files);
    Fixture {
        dir,
        url: DatabaseUrl::parse(&raw).expect("url"),
        raw,
    }
}

impl Fixture {
    fn set(&self) -> MigrationSet {
        MigrationSet::load(self.dir.path()).expect("valid migrations")
    }
    fn write(&self, files: &[(&str, &str)]) {
        support::write_files(self.dir.path(), files);
    }
    async fn migrate(&self) -> Result<Vec<String>, MigrateError> {
        migrate(&self.url, &table(), &self.set(), None, LOCK).await
    }
    async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.raw).await.expect("connect")
    }
    async fn scalar_i64(&self, sql: &str) -> i64 {
        let mut c = self.conn().await;
        let v: i64 = sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.close().await;
        v
    }
    async fn strings(&self, sql: &str) -> Vec<String> {
        let mut c = self.conn().await;
        let v: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.close().await;
        v
    }
    async fn status_pending(&self) -> (Vec<String>, Vec<Problem>) {
        let set = self.set();
        let mut s = Session::open(&self.url, &table(), LOCK)
            .await
            .expect("open");
        let rows = s.history().await.expect("history");
        s.close().await;
        let status = Status::new(&set, &rows);
        (
            status.pending.iter().map(|m| m.script.clone()).collect(),
            status.problems.clone(),
        )
    }
    /// Tables, columns and indexes of the public schema, for before/after comparisons.
    async fn schema_snapshot(&self) -> Vec<String> {
        self.strings(
            "SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'public' \
             UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        )
        .await
    }
}

fn table() -> HistoryTable {
    HistoryTable::parse("flyway_schema_history").expect("table")
}

#[tokio::test]
async fn apply_then_nothing_is_pending_and_history_is_flyways() {
    let f = fixture(
        "apply",
        &[
            (
                "V1__create_customers.sql",
                "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n",
            ),
            (
                "V1.1__add_nickname.sql",
                "ALTER TABLE customers ADD COLUMN nickname text;\n",
            ),
            (
                "R__customer_names.sql",
                "CREATE OR REPLACE VIEW customer_names AS SELECT name FROM customers;\n",
            ),
        ],
    )
    .await;
    let applied = f.migrate().await.expect("migrate");
    assert_eq!(
        applied,
        [
            "V1__create_customers.sql",
            "V1.1__add_nickname.sql",
            "R__customer_names.sql"
        ]
    );
    let (pending, problems) = f.status_pending().await;
    assert!(
        pending.is_empty() && problems.is_empty(),
        "{pending:?} {problems:?}"
    );
    assert!(f.migrate().await.expect("second run").is_empty());

    let rows = f
        .strings(
            "SELECT concat_ws('|', installed_rank, coalesce(version, '-'), description, type, script, checksum, installed_by, execution_time >= 0, success, installed_on IS NOT NULL) \
             FROM flyway_schema_history ORDER BY installed_rank",
        )
        .await;
    let sum = |s: &str| flyway_checksum(s.as_bytes());
    assert_eq!(
        rows,
        [
            format!(
                "1|1|create customers|SQL|V1__create_customers.sql|{}|postgres|t|t|t",
                sum("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n")
            ),
            format!(
                "2|1.1|add nickname|SQL|V1.1__add_nickname.sql|{}|postgres|t|t|t",
                sum("ALTER TABLE customers ADD COLUMN nickname text;\n")
            ),
            format!(
                "3|-|customer names|SQL|R__customer_names.sql|{}|postgres|t|t|t",
                sum("CREATE OR REPLACE VIEW customer_names AS SELECT name FROM customers;\n")
            ),
        ]
    );

    // A new file is pending; an edited repeatable is pending again.
    f.write(&[
        (
            "V2__add_email.sql",
            "ALTER TABLE customers ADD COLUMN email text;\n",
        ),
        (
            "R__customer_names.sql",
            "CREATE OR REPLACE VIEW customer_names AS SELECT name, nickname FROM customers;\n",
        ),
    ]);
    let (pending, problems) = f.status_pending().await;
    assert_eq!(pending, ["V2__add_email.sql", "R__customer_names.sql"]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        f.migrate().await.expect("migrate"),
        ["V2__add_email.sql", "R__customer_names.sql"]
    );
    assert_eq!(
        f.scalar_i64("SELECT count(*) FROM flyway_schema_history")
            .await,
        5
    );
}

#[tokio::test]
async fn history_table_has_flyways_columns_constraint_and_index() {
    let f = fixture("columns", &[("V1__t.sql", "CREATE TABLE t (id bigint);")]).await;
    f.migrate().await.expect("migrate");
    let columns = f
        .strings(
            "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || ' ' || is_nullable \
             FROM information_schema.columns WHERE table_name = 'flyway_schema_history' ORDER BY ordinal_position",
        )
        .await;
    assert_eq!(
        columns,
        [
            "installed_rank integer NO",
            "version character varying(50) YES",
            "description character varying(200) NO",
            "type character varying(20) NO",
            "script character varying(1000) NO",
            "checksum integer YES",
            "installed_by character varying(100) NO",
            "installed_on timestamp without time zone NO",
            "execution_time integer NO",
            "success boolean NO",
        ]
    );
    let indexes = f.strings("SELECT indexname::text FROM pg_indexes WHERE tablename = 'flyway_schema_history' ORDER BY 1").await;
    assert_eq!(
        indexes,
        ["flyway_schema_history_pk", "flyway_schema_history_s_idx"]
    );
}

#[tokio::test]
async fn a_failing_migration_leaves_schema_and_history_as_before() {
    let f = fixture(
        "failing",
        &[("V1__base.sql", "CREATE TABLE base (id bigint);\n")],
    )
    .await;
    f.migrate().await.expect("base");
    let schema_before = f.schema_snapshot().await;
    let history_before = f
        .strings(
            "SELECT concat_ws('|', installed_rank, version, checksum) FROM flyway_schema_history",
        )
        .await;
    f.write(&[(
        "V2__broken.sql",
        "-- creates a table, then trips\nCREATE TABLE half_done (id bigint);\nALTER TABLE base ADD COLUMN extra text;\n\nINSERT INTO base (id)\n  SELECT missing_column FROM base;\n",
    )]);
    let err = f.migrate().await.expect_err("must fail");
    let MigrateError::Statement {
        script,
        line,
        message,
        committed,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(script, "V2__broken.sql");
    assert_eq!(
        *line, 6,
        "PostgreSQL's error position points at the line: {err}"
    );
    assert!(
        message.contains("missing_column") && message.contains("does not exist"),
        "{message}"
    );
    assert!(committed.is_none(), "one transaction: nothing remains");
    assert_eq!(f.schema_snapshot().await, schema_before);
    assert_eq!(
        f.strings(
            "SELECT concat_ws('|', installed_rank, version, checksum) FROM flyway_schema_history"
        )
        .await,
        history_before
    );
    let (pending, _) = f.status_pending().await;
    assert_eq!(pending, ["V2__broken.sql"]);
}

#[tokio::test]
async fn concurrent_applies_apply_every_migration_exactly_once() {
    let f = fixture(
        "concurrent",
        &[
            (
                "V1__counter.sql",
                "CREATE TABLE runs (migration text NOT NULL);\n",
            ),
            (
                "V2__slow.sql",
                "INSERT INTO runs VALUES ('V2');\nSELECT pg_sleep(0.5);\n",
            ),
            ("V3__more.sql", "INSERT INTO runs VALUES ('V3');\n"),
        ],
    )
    .await;
    let (set, t) = (f.set(), table());
    let (a, b) = tokio::join!(
        migrate(&f.url, &t, &set, None, LOCK),
        migrate(&f.url, &t, &set, None, LOCK)
    );
    let (a, b) = (a.expect("first run"), b.expect("second run"));
    // One run did all the work; the other waited for the lock and found nothing to do.
    let mut all = [a.clone(), b.clone()].concat();
    all.sort();
    assert_eq!(
        all,
        ["V1__counter.sql", "V2__slow.sql", "V3__more.sql"],
        "a={a:?} b={b:?}"
    );
    assert!(a.is_empty() || b.is_empty(), "a={a:?} b={b:?}");
    assert_eq!(
        f.strings("SELECT migration FROM runs ORDER BY 1").await,
        ["V2", "V3"]
    );
    assert_eq!(
        f.scalar_i64("SELECT count(*) FROM flyway_schema_history")
            .await,
        3
    );
    assert_eq!(
        f.scalar_i64("SELECT count(DISTINCT version) FROM flyway_schema_history")
            .await,
        3
    );
}

#[tokio::test]
async fn a_held_lock_makes_the_other_run_fail_with_who_holds_it() {
    let f = fixture("locked", &[("V1__t.sql", "CREATE TABLE t (id bigint);\n")]).await;
    let mut holder = Session::open(&f.url, &table(), LOCK).await.expect("open");
    holder.lock(LOCK).await.expect("first lock");
    let err = migrate(&f.url, &table(), &f.set(), None, Duration::from_millis(400))
        .await
        .expect_err("must time out");
    let MigrateError::Lock(LockError::Timeout { holder: who, .. }) = &err else {
        panic!("{err}")
    };
    assert!(
        who.contains("pid") && who.contains("terraform-provider-bluegreen"),
        "{who}"
    );
    let text = err.to_string();
    assert!(
        text.contains("lock_timeout") && text.contains("flyway_schema_history"),
        "{text}"
    );
    holder.close().await;
    assert_eq!(f.migrate().await.expect("after release"), ["V1__t.sql"]);
}

#[tokio::test]
async fn flyways_own_lock_excludes_us() {
    let f = fixture(
        "flyway_lock",
        &[("V1__t.sql", "CREATE TABLE t (id bigint);\n")],
    )
    .await;
    // What Flyway runs for "public"."flyway_schema_history" (its LOCK_MAGIC_NUM
    // plus the table name's Java hashCode).
    let mut flyway = f.conn().await;
    sqlx::query("SELECT pg_advisory_lock(77433833903597)")
        .execute(&mut flyway)
        .await
        .expect("flyway's lock");
    let err = migrate(&f.url, &table(), &f.set(), None, Duration::from_millis(300))
        .await
        .expect_err("excluded");
    assert!(
        matches!(
            err,
            MigrateError::Lock(LockError::Timeout {
                key: 77_433_833_903_597,
                ..
            })
        ),
        "{err}"
    );
    let _ = flyway.close().await;
    assert_eq!(f.migrate().await.expect("after Flyway"), ["V1__t.sql"]);
}

#[tokio::test]
async fn editing_an_applied_file_names_the_file_and_both_checksums() {
    let original = "CREATE TABLE t (id bigint);\n";
    let f = fixture("edited", &[("V1__create_t.sql", original)]).await;
    f.migrate().await.expect("migrate");
    let edited = "CREATE TABLE t (id bigint, extra text);\n";
    f.write(&[("V1__create_t.sql", edited)]);
    let (_, problems) = f.status_pending().await;
    let (old, new) = (
        flyway_checksum(original.as_bytes()),
        flyway_checksum(edited.as_bytes()),
    );
    assert_eq!(
        problems,
        [Problem::ChecksumMismatch {
            script: "V1__create_t.sql".into(),
            applied: old,
            file: new
        }]
    );
    let err = f.migrate().await.expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("V1__create_t.sql")
            && text.contains(&old.to_string())
            && text.contains(&new.to_string()),
        "{text}"
    );
    assert!(text.contains("flyway repair"), "says how to fix: {text}");
    // Line endings alone are no edit (Flyway's checksum ignores them).
    f.write(&[("V1__create_t.sql", "CREATE TABLE t (id bigint);\r\n")]);
    assert!(f.status_pending().await.1.is_empty());
}

#[tokio::test]
async fn create_index_concurrently_migrations_apply() {
    let f = fixture(
        "concurrently",
        &[
            ("V1__orders.sql", "CREATE TABLE orders (id bigint, customer_id bigint);\nINSERT INTO orders SELECT g, g % 10 FROM generate_series(1, 1000) g;\n"),
            (
                "V2__index.sql",
                "CREATE INDEX CONCURRENTLY idx_orders_customer ON orders (customer_id);\nALTER TABLE orders ADD COLUMN note text;\n",
            ),
            ("V3__only_concurrently.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_id ON orders (id);\n"),
        ],
    )
    .await;
    assert_eq!(
        f.migrate().await.expect("migrate"),
        [
            "V1__orders.sql",
            "V2__index.sql",
            "V3__only_concurrently.sql"
        ]
    );
    assert_eq!(
        f.scalar_i64("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('idx_orders_customer', 'idx_orders_id') AND i.indisvalid").await,
        2
    );
    assert_eq!(f.scalar_i64("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'").await, 1);

    // A concurrent unique index over duplicates fails: no history row, the file and the database's message.
    f.write(&[(
        "V4__unique.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY idx_orders_customer_unique ON orders (customer_id);\n",
    )]);
    let err = f.migrate().await.expect_err("duplicates");
    let MigrateError::Statement {
        script,
        line,
        message,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((script.as_str(), *line), ("V4__unique.sql", 1));
    assert!(
        message.contains("could not create unique index"),
        "{message}"
    );
    assert_eq!(
        f.scalar_i64("SELECT count(*) FROM flyway_schema_history")
            .await,
        3
    );
}

#[tokio::test]
async fn alter_type_add_value_runs_outside_the_transaction() {
    let f = fixture(
        "enum",
        &[
            (
                "V1__mood.sql",
                "CREATE TYPE mood AS ENUM ('happy');\nCREATE TABLE people (m mood);\n",
            ),
            (
                "V2__meh.sql",
                "ALTER TYPE mood ADD VALUE 'meh';\nINSERT INTO people VALUES ('meh');\n",
            ),
        ],
    )
    .await;
    assert_eq!(f.migrate().await.expect("migrate").len(), 2);
    assert_eq!(
        f.scalar_i64("SELECT count(*) FROM people WHERE m = 'meh'")
            .await,
        1
    );
}

#[tokio::test]
async fn target_version_stops_there() {
    let f = fixture(
        "target",
        &[
            ("V1__a.sql", "CREATE TABLE a (id int);"),
            ("V1.10__b.sql", "CREATE TABLE b (id int);"),
            ("V1.9__c.sql", "CREATE TABLE c (id int);"),
        ],
    )
    .await;
    let target = Version::parse("1.9").unwrap();
    let applied = migrate(&f.url, &table(), &f.set(), Some(&target), LOCK)
        .await
        .expect("migrate");
    assert_eq!(applied, ["V1__a.sql", "V1.9__c.sql"]);
    assert_eq!(f.status_pending().await.0, ["V1.10__b.sql"]);
}

#[tokio::test]
async fn flyway_written_history_with_a_baseline_and_a_failure_is_understood() {
    let f = fixture(
        "flyway_history",
        &[
            ("V1__old.sql", "SELECT 1;"),
            ("V2__new.sql", "CREATE TABLE n (id int);"),
        ],
    )
    .await;
    // A history as Flyway writes it: a baseline at 1, then a failed V2.
    let mut c = f.conn().await;
    for sql in [
        "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL)",
        "INSERT INTO flyway_schema_history VALUES (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'flyway', now(), 0, true)",
    ] {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut c).await.expect(sql);
    }
    let (pending, problems) = f.status_pending().await;
    assert_eq!(pending, ["V2__new.sql"], "V1 is below the baseline");
    assert!(problems.is_empty(), "{problems:?}");
    sqlx::raw_sql("INSERT INTO flyway_schema_history VALUES (2, '2', 'new', 'SQL', 'V2__new.sql', 1, 'flyway', now(), 3, false)").execute(&mut c).await.expect("failed row");
    let _ = c.close().await;
    let (_, problems) = f.status_pending().await;
    assert!(
        matches!(&problems[..], [Problem::Failed { script, .. }] if script == "V2__new.sql"),
        "{problems:?}"
    );
    let err = f.migrate().await.expect_err("refused");
    assert!(err.to_string().contains("delete the failed row"), "{err}");
}

#[tokio::test]
async fn a_deleted_applied_file_is_missing() {
    let f = fixture(
        "missing",
        &[("V1__a.sql", "SELECT 1;"), ("V2__b.sql", "SELECT 2;")],
    )
    .await;
    f.migrate().await.expect("migrate");
    std::fs::remove_file(f.dir.path().join("V1__a.sql")).expect("delete");
    let (_, problems) = f.status_pending().await;
    assert!(
        matches!(&problems[..], [Problem::Missing { script, future: false, .. }] if script == "V1__a.sql"),
        "{problems:?}"
    );
    std::fs::remove_file(f.dir.path().join("V2__b.sql")).expect("delete");
    let (_, problems) = f.status_pending().await;
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { future: true, .. })),
        "{problems:?}"
    );
}

#[tokio::test]
async fn wrong_password_never_shows_the_password() {
    let raw = support::postgres::fresh_database("password").await;
    // Trust auth accepts any password, so use a port nothing listens on.
    let url = DatabaseUrl::parse("postgres://app:Sup3rS3cret@127.0.0.1:1/app").unwrap();
    let err = migrate(&url, &table(), &MigrationSet::default(), None, LOCK)
        .await
        .expect_err("no server");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("Sup3rS3cret"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    let _ = Path::new(&raw);
}
