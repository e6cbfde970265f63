//! PostgreSQL for the migration tests: the shared test server (crate
//! `bluegreen-test-postgres`: the one CI names, or a throwaway one), used through sqlx.

use bluegreen_test_postgres::server;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// A URL of a new, empty database on the test server, for one test.
pub async fn fresh_database(label: &str) -> String {
    let server = server();
    let name = server.new_database_name(label);
    let mut admin = PgConnection::connect(server.admin_url())
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    let _ = admin.close().await;
    server.database_url(&name)
}
