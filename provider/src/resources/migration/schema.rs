//! The `bluegreen_migration` schema (names fixed by DESIGN §3).

use std::time::Duration;

use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::Type;

use crate::migrate::history::DEFAULT_TABLE;

/// Default `lock_timeout`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `lock_timeout` as configured.
pub const DEFAULT_LOCK_TIMEOUT_TEXT: &str = "60s";

/// Type of one `pending` entry.
pub fn pending_type() -> Type {
    Type::object([
        ("version", Type::String),
        ("description", Type::String),
        ("script", Type::String),
        ("class", Type::String),
        ("requires", Type::String),
        ("reasons", Type::list(Type::String)),
    ])
}

/// Type of one `applied` entry.
pub fn applied_type() -> Type {
    Type::object([
        ("version", Type::String),
        ("description", Type::String),
        ("script", Type::String),
        ("checksum", Type::Number),
        ("class", Type::String),
    ])
}

/// The resource schema.
pub fn schema() -> Schema {
    let block = Block::new()
        .description(
            "Versioned SQL migrations applied with the release, **Flyway-compatible**: the same file names \
             (`V1.3.0__add_customer_preferences.sql`, `R__refresh_views.sql`), the same history table and checksums, and \
             Flyway's PostgreSQL advisory lock, so Flyway and this provider read each other's history and never migrate \
             at the same time.\n\n\
             Every pending migration is classified at plan time as `expand` (safe while the previous release serves), \
             `contract` (breaks it: drops, renames, type changes, new NOT NULL or constraints on existing rows) or \
             `unknown` (its effect cannot be read from the SQL: `DO` blocks, dynamic SQL, unparsable text; treated as \
             breaking). `terraform plan` lists the pending migrations with their class and reasons, and **fails** for a \
             contract or unknown migration while any colour of `environment` that can receive traffic (live, canary, or \
             kept for rollback) runs a version older than the migration's `-- bluegreen:requires <version>` header \
             (default: the live version), unless `allow_breaking = true`.\n\n\
             Apply runs the pending migrations in version order, each in its own transaction (statements PostgreSQL \
             refuses in one, such as `CREATE INDEX CONCURRENTLY`, run on their own), and records each in the history \
             table only when it succeeded. An applied file that was edited, deleted or that failed earlier is a plan \
             error that says how to fix it. Destroying the resource never touches the database.",
        )
        .attr(Attribute::string("id").computed().description(
            "The database (without credentials) and history table, e.g. `postgres://db.internal:5432/app#flyway_schema_history`.",
        ))
        .attr(Attribute::string("database_url").required().sensitive().description(
            "Where to migrate: `postgres://user:password@host:5432/db?sslmode=require` (PostgreSQL, first class) or \
             `sqlite://path/to/file.db` (SQLite, the embedded default; the file is created if missing). Sensitive: never \
             shown in plans or logs, and masked in every message.",
        ))
        .attr(Attribute::string("source_dir").required().description(
            "Folder of migration files, read recursively like Flyway. Files: `V<version>__<description>.sql` (versions \
             split on `.` or `_` and compared as numbers, so `1.10` follows `1.9`; `1.3` and `1.3.0` are the same \
             version) and `R__<description>.sql` (repeatable, re-applied after the versioned ones whenever they change). \
             Any other `.sql` file is an error. Relative paths are relative to the working directory: use \
             `\"${path.module}/migrations\"`.",
        ))
        .attr(Attribute::string("history_table").default(DEFAULT_TABLE).description(
            "The history table, Flyway's columns and checksums: `flyway_schema_history` by default. Qualify it \
             (`app.flyway_schema_history`) to use another schema than the connection's current one. Flyway's advisory \
             lock key is derived from this name, as Flyway derives it.",
        ))
        .attr(Attribute::string("environment").optional().description(
            "The `bluegreen_environment` (by name) whose colours serve this database. Breaking migrations are gated on \
             the versions its colours run. Without it, every contract or unknown migration needs `allow_breaking`.",
        ))
        .attr(Attribute::string("target_version").optional().description(
            "Apply versioned migrations up to and including this version only (e.g. `1.3.0`); later ones stay pending. \
             Default: all of them.",
        ))
        .attr(Attribute::bool("allow_breaking").default(false).description(
            "Apply contract and unknown migrations even while older versions can receive traffic. For databases no \
             running release depends on, or a deliberate breaking change.",
        ))
        .attr(Attribute::string("lock_timeout").default(DEFAULT_LOCK_TIMEOUT_TEXT).description(
            "How long to wait for the migration lock (Flyway's advisory lock on PostgreSQL, the write lock on SQLite) \
             while another run (this provider or Flyway) migrates the same database, e.g. `30s` or `5m`. The apply fails \
             with who holds the lock when it runs out. Statements' own lock waits are governed by `SET lock_timeout` in \
             the migration (see the `require-lock-timeout` warning).",
        ))
        .attr(Attribute::string("applied_version").computed().description(
            "The highest applied version once this apply is done (known at plan time); null when none is applied.",
        ))
        .attr(Attribute::new("pending", Type::list(pending_type())).computed().description(
            "Migrations in `source_dir` not applied (yet): each with `version` (null for repeatables), `description`, \
             `script`, `class` (`expand`, `contract` or `unknown`), `requires` (the `-- bluegreen:requires` version, if \
             any) and `reasons` (`file:line: rule: message` for contract and unknown). Known at plan time: the plan shows \
             the migrations this apply runs leaving this list, and those above `target_version` staying in it.",
        ))
        .attr(Attribute::new("applied", Type::list(applied_type())).computed().description(
            "The history table's applied migrations, versioned by version then repeatables: `version`, `description`, \
             `script`, `checksum` (Flyway's) and `class` (of the file, when it is there). Known at plan time.",
        ));
    Schema::new(block)
}
