//! Acceptance tests of `bluegreen_migration` (issue 4) on the real Terraform
//! CLIs, against a real PostgreSQL (see `harness::postgres`: the server
//! `BLUEGREEN_TEST_DATABASE_URL` names, else a throwaway one) with a fresh
//! database per test and CLI, and for the seed story a real `bluegreen-local`
//! daemon with the demo application as the colours.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod basics;
mod concurrent;
mod seed_story;

use std::path::{Path, PathBuf};

use bluegreen_acceptance::harness::output::{expect_match, first_error, unwrapped};
use bluegreen_acceptance::harness::postgres::{self, psql};
pub use bluegreen_acceptance::harness::provider::bluegreen;
use bluegreen_acceptance::harness::{Output, Terraform, Workspace};

/// The resource every test manages.
pub const ADDRESS: &str = "bluegreen_migration.db";

/// A fresh database for `test` on `tf`; panics (never skips) without PostgreSQL.
pub fn fresh_db(test: &str, tf: &Terraform) -> String {
    postgres::fresh_database(&format!("{test}_{}", tf.version_string()))
}

/// A folder of migration files inside the work directory.
pub struct SqlDir {
    /// Absolute path.
    pub path: PathBuf,
}

impl SqlDir {
    /// `<workdir>/sql`, created empty.
    pub fn new(ws: &Workspace) -> SqlDir {
        let path = ws.dir().join("sql");
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the sql folder");
        SqlDir { path }
    }
    /// Writes (or overwrites) one migration file.
    pub fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.path.join(name), text).expect("write a migration file");
        self
    }
    /// Copies every file of `from`.
    pub fn copy_from(&self, from: &Path) -> &Self {
        for entry in std::fs::read_dir(from)
            .expect("read the example folder")
            .flatten()
        {
            std::fs::copy(entry.path(), self.path.join(entry.file_name())).expect("copy");
        }
        self
    }
    /// The path as HCL wants it.
    pub fn hcl(&self) -> String {
        self.path.display().to_string()
    }
}

/// A fresh database for `db` and a work directory for `test` with an empty SQL
/// directory: the start of every migration case.
pub fn migration_workspace(test: &str, db: &str, tf: &Terraform) -> (String, Workspace, SqlDir) {
    let url = fresh_db(db, tf);
    let ws = Workspace::new(test, tf, &bluegreen());
    let sql = SqlDir::new(&ws);
    (url, ws, sql)
}

/// A whole configuration: provider without platform settings, then a
/// `bluegreen_migration.db` with `extra` lines.
pub fn migration_config(url: &str, dir: &SqlDir, extra: &str) -> String {
    format!(
        "{}\nprovider \"bluegreen\" {{}}\n\n{}",
        bluegreen().required_providers_block(),
        migration_block(url, dir, extra)
    )
}

/// The `bluegreen_migration.db` block.
pub fn migration_block(url: &str, dir: &SqlDir, extra: &str) -> String {
    format!(
        "resource \"bluegreen_migration\" \"db\" {{\n  database_url = \"{url}\"\n  source_dir   = \"{}\"\n{extra}}}\n",
        dir.hcl()
    )
}

/// `version|script|checksum|success` of every history row, by rank.
pub fn history(url: &str) -> Vec<String> {
    psql(
        url,
        "SELECT coalesce(version, '') || '|' || script || '|' || coalesce(checksum::text, '') || '|' || success \
         FROM flyway_schema_history ORDER BY installed_rank",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Every column of the public schema: `table.column type nullable`, and
/// every index: what a failed migration must leave as it was.
pub fn schema(url: &str) -> String {
    psql(
        url,
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
           SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS x \
             FROM information_schema.columns WHERE table_schema = 'public' \
           UNION ALL SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
         ) s",
    )
}

/// Flyway's checksum of a migration file: CRC32 over each line's UTF-8 bytes
/// without line terminators (and without a BOM), as a signed 32-bit integer.
pub fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc: u32 = 0xFFFF_FFFF;
    for line in text.lines() {
        for &b in line.as_bytes() {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    (crc ^ 0xFFFF_FFFF) as i32
}

/// `plan -detailed-exitcode` must exit `code`.
pub fn plan_exits(ws: &Workspace, code: i32, context: &str) -> Output {
    let plan = ws.plan();
    if plan.code != Some(code) {
        ws.fail(
            Some(&plan),
            &format!(
                "{context}: plan -detailed-exitcode exited {:?}, expected {code}",
                plan.code
            ),
        );
    }
    plan
}
