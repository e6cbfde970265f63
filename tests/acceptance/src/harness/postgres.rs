//! PostgreSQL for acceptance tests: the shared test server (crate
//! `bluegreen-test-postgres`: the one CI names, or a throwaway one), used through
//! `psql`. Every test gets a fresh database ([`fresh_database`]).

use std::process::{Command, Stdio};

use bluegreen_test_postgres::{client_binary, INSTALL_HINT};
pub use bluegreen_test_postgres::{server, with_database, TestPostgres, BIN_ENV, URL_ENV};

/// A URL of a new, empty database on the test server, for one test.
pub fn fresh_database(label: &str) -> String {
    let server = server();
    let name = server.new_database_name(label);
    psql(server.admin_url(), &format!("CREATE DATABASE \"{name}\""));
    server.database_url(&name)
}

/// Runs `sql` on `url` with `psql` (unaligned, tuples only, stop on error);
/// returns stdout. Panics with psql's message when it fails.
pub fn psql(url: &str, sql: &str) -> String {
    match try_psql(url, sql) {
        Ok(out) => out,
        Err(e) => panic!("psql {sql:?}: {e}"),
    }
}

/// [`psql`] that returns the error instead of panicking.
pub fn try_psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(client_binary("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}. {INSTALL_HINT}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
