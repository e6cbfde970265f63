//! `bench-migrations-check`: `terraform-provider-bluegreen migrations check DIR --format json`
//! against the `squawk` CLI (PyPI `squawk-cli`) on the same files, in statements per second.
//!
//! Corpora, each in its own temporary folder of Flyway-named files:
//! - a synthetic one, generated here from a fixed seed: ≥ 10,000 statements of varied
//!   PostgreSQL migration DDL and DML over a few hundred files;
//! - a real project's migrations, vendored unmodified in `bench/corpus/harbor/` (Harbor's
//!   `make/migrations/postgresql/*.up.sql`), renamed `V<n>__<original name>.sql` in the
//!   project's own order;
//! - a one-statement file, which shows what each tool costs before reading any SQL.
//!
//! Statements are counted the way our checker sees them: `MigrationSet::load` (squawk's
//! parser, split at top-level `;`), in-process. Both tools' outputs are checked before
//! anything is timed (our report covers every file; squawk checked every file and reports
//! violations), and every measured run's exit status is checked again. Measured runs are
//! interleaved, alternating which tool goes first, after unmeasured warm-up runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use bluegreen_bench::cpu::waited_children_cpu_seconds;
use bluegreen_bench::machine;
use bluegreen_bench::process::command;
use bluegreen_bench::stats::{median_of, summarize};
use bluegreen_bench::table::{ms, ratio, Table};
use bluegreen_bench::tools::{system_tool, workspace_bin};
use clap::Parser;
use terraform_provider_bluegreen::migrate::classify::analyze;
use terraform_provider_bluegreen::migrate::{sql, MigrationSet};

/// How to get the squawk version this benchmark was written against.
const SQUAWK_HINT: &str = "install it with `python3 -m venv /tmp/squawk-venv && \
/tmp/squawk-venv/bin/pip install squawk-cli==2.70.0` (found there without --squawk), \
or run `make bench`, which installs it into .tools/squawk-venv";
/// The squawk-cli release the figures in BENCHMARKS.md were measured with.
const SQUAWK_VERSION: &str = "2.70.0";

#[derive(Parser)]
#[command(about = "migrations check vs the squawk CLI: statements per second on the same files")]
struct Args {
    /// The squawk binary (default: `squawk` on PATH, else .tools/squawk-venv/bin/squawk
    /// as `make bench` installs it, else /tmp/squawk-venv/bin/squawk).
    #[arg(long)]
    squawk: Option<PathBuf>,
    /// Our binary (default: terraform-provider-bluegreen next to this benchmark);
    /// repeat it to compare builds side by side.
    #[arg(long = "provider")]
    providers: Vec<PathBuf>,
    /// Statements in the synthetic corpus (at least; files end on whole migrations).
    #[arg(long, default_value_t = 12_000)]
    statements: usize,
    /// Files of the synthetic corpus.
    #[arg(long, default_value_t = 300)]
    files: usize,
    /// Seed of the synthetic corpus (same seed, same files).
    #[arg(long, default_value_t = 20_261_127)]
    seed: u64,
    /// Folder of the real project's migrations, in the project's order by file name.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/harbor/migrations"))]
    real: PathBuf,
    /// Measured rounds on the synthetic corpus; each runs every tool once.
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// Measured rounds on the small corpora (real project, one statement).
    #[arg(long, default_value_t = 40)]
    small_rounds: usize,
    /// Unmeasured runs of each tool per corpus first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Write the synthetic corpus to this folder and exit (to read it or lint it by hand).
    #[arg(long, value_name = "DIR")]
    write_corpus: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// The synthetic corpus
// ---------------------------------------------------------------------------------------

/// SplitMix64: a small, fixed pseudo-random sequence (the corpus must not change between
/// runs or machines, so no OS entropy and no external crate whose stream could change).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Column types a migration uses, with a default and a literal of each.
const TYPES: &[(&str, &str, &str)] = &[
    ("bigint", "0", "42"),
    ("integer", "0", "7"),
    ("smallint", "1", "3"),
    ("text", "''", "'pending review'"),
    ("varchar(255)", "'unknown'", "'ops@example.com'"),
    ("boolean", "false", "true"),
    ("timestamptz", "now()", "'2024-03-01 12:00:00+00'"),
    ("timestamp", "CURRENT_TIMESTAMP", "'2023-11-30 08:15:00'"),
    ("date", "CURRENT_DATE", "'2024-01-31'"),
    ("numeric(12,2)", "0.00", "19.99"),
    (
        "jsonb",
        "'{}'::jsonb",
        "'{\"plan\": \"pro\", \"seats\": 5}'::jsonb",
    ),
    (
        "uuid",
        "gen_random_uuid()",
        "'5b0e2a5c-8d7f-4a0e-9c1e-2f3b4c5d6e7f'",
    ),
    ("text[]", "'{}'::text[]", "ARRAY['a', 'b']"),
    ("bytea", "''::bytea", "'\\x00ff'::bytea"),
];

const NOUNS: &[&str] = &[
    "customers",
    "orders",
    "invoices",
    "payments",
    "shipments",
    "products",
    "accounts",
    "subscriptions",
    "events",
    "audit_log",
    "sessions",
    "api_keys",
    "webhooks",
    "teams",
    "memberships",
    "projects",
    "builds",
    "artifacts",
    "comments",
    "notifications",
];

const COLUMN_WORDS: &[&str] = &[
    "status",
    "amount",
    "currency",
    "email",
    "display_name",
    "external_ref",
    "region",
    "priority",
    "notes",
    "metadata",
    "archived",
    "expires_on",
    "last_seen_at",
    "score",
    "tags",
    "checksum",
    "source",
    "locale",
    "plan",
    "quota",
];

#[derive(Clone)]
struct Column {
    name: String,
    ty: usize,
}

struct TableModel {
    name: String,
    columns: Vec<Column>,
    indexes: Vec<String>,
    constraints: Vec<String>,
}

/// Tables and objects created so far, so later migrations refer to what exists.
struct Generator {
    rng: Rng,
    tables: Vec<TableModel>,
    enums: Vec<String>,
    functions: Vec<String>,
    counter: usize,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed),
            tables: Vec::new(),
            enums: Vec::new(),
            functions: Vec::new(),
            counter: 0,
        }
    }

    fn id(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn column_name(&mut self) -> String {
        let word = *self.rng.pick(COLUMN_WORDS);
        let n = self.id();
        format!("{word}_{n}")
    }

    fn literal(&mut self, ty: usize) -> String {
        let n = self.rng.range(1, 99_999);
        match TYPES[ty].0 {
            "bigint" | "integer" => n.to_string(),
            "smallint" => (n % 300).to_string(),
            "text" | "varchar(255)" => format!("'value {n} it''s'"),
            "numeric(12,2)" => format!("{}.{:02}", n / 100, n % 100),
            _ => TYPES[ty].2.to_owned(),
        }
    }

    /// A table to alter (creates one first when there is none).
    fn table(&mut self, out: &mut Vec<String>) -> usize {
        if self.tables.is_empty() {
            out.push(self.create_table());
        }
        self.rng.below(self.tables.len())
    }

    /// A column of table `t` (adds one when it has none).
    fn column(&mut self, t: usize, out: &mut Vec<String>) -> Column {
        if self.tables[t].columns.is_empty() {
            out.push(self.add_column(t, false));
        }
        let cols = &self.tables[t].columns;
        cols[self.rng.below(cols.len())].clone()
    }

    fn create_table(&mut self) -> String {
        let noun = *self.rng.pick(NOUNS);
        let n = self.id();
        let name = if self.rng.chance(30) {
            format!("app.{noun}_{n}")
        } else {
            format!("{noun}_{n}")
        };
        let short = name.rsplit('.').next().unwrap_or(&name).to_owned();
        let mut lines = vec![if self.rng.chance(50) {
            "    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY".to_owned()
        } else {
            "    id bigserial PRIMARY KEY".to_owned()
        }];
        lines.push("    tenant_id bigint NOT NULL".to_owned());
        let mut columns = vec![Column {
            name: "tenant_id".into(),
            ty: 0,
        }];
        if !self.tables.is_empty() && self.rng.chance(50) {
            let parent = self.rng.below(self.tables.len());
            let action = *self
                .rng
                .pick(&["ON DELETE CASCADE", "ON DELETE SET NULL", ""]);
            let parent_name = self.tables[parent].name.clone();
            lines.push(format!(
                "    parent_id bigint REFERENCES {parent_name} (id) {action}"
            ));
            columns.push(Column {
                name: "parent_id".into(),
                ty: 0,
            });
        }
        for _ in 0..self.rng.range(2, 7) {
            let col = self.column_name();
            let ty = self.rng.below(TYPES.len());
            let mut def = format!("    {col} {}", TYPES[ty].0);
            if self.rng.chance(40) {
                let _ = write!(def, " NOT NULL DEFAULT {}", TYPES[ty].1);
            } else if self.rng.chance(20) {
                let _ = write!(def, " DEFAULT {}", TYPES[ty].1);
            }
            if ty == 9 && self.rng.chance(50) {
                let _ = write!(def, " CHECK ({col} >= 0)");
            }
            lines.push(def);
            columns.push(Column { name: col, ty });
        }
        lines.push("    created_at timestamptz NOT NULL DEFAULT now()".to_owned());
        lines.push("    updated_at timestamptz NOT NULL DEFAULT now()".to_owned());
        let mut constraints = Vec::new();
        if self.rng.chance(40) {
            let c = &columns[columns.len() - 1].name;
            let cname = format!("{short}_tenant_{c}_key");
            lines.push(format!("    CONSTRAINT {cname} UNIQUE (tenant_id, {c})"));
            constraints.push(cname);
        }
        let if_not = if self.rng.chance(50) {
            "IF NOT EXISTS "
        } else {
            ""
        };
        let sql = format!("CREATE TABLE {if_not}{name} (\n{}\n);", lines.join(",\n"));
        self.tables.push(TableModel {
            name,
            columns,
            indexes: Vec::new(),
            constraints,
        });
        sql
    }

    fn add_column(&mut self, t: usize, allow_not_null: bool) -> String {
        let col = self.column_name();
        let ty = self.rng.below(TYPES.len());
        let table = self.tables[t].name.clone();
        let if_not = if self.rng.chance(30) {
            "IF NOT EXISTS "
        } else {
            ""
        };
        let tail = match self.rng.below(4) {
            0 if allow_not_null => format!(" NOT NULL DEFAULT {}", TYPES[ty].1),
            1 => format!(" DEFAULT {}", TYPES[ty].1),
            _ => String::new(),
        };
        self.tables[t].columns.push(Column {
            name: col.clone(),
            ty,
        });
        format!(
            "ALTER TABLE {table} ADD COLUMN {if_not}{col} {}{tail};",
            TYPES[ty].0
        )
    }

    fn create_index(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        let idx = format!("idx_{}_{n}", c.name);
        let concurrently = if self.rng.chance(60) {
            "CONCURRENTLY "
        } else {
            ""
        };
        let if_not = if self.rng.chance(40) {
            "IF NOT EXISTS "
        } else {
            ""
        };
        let unique = if self.rng.chance(15) { "UNIQUE " } else { "" };
        let (using, cols) = match TYPES[c.ty].0 {
            "jsonb" | "text[]" => (" USING gin", format!("({})", c.name)),
            _ if c.name != "tenant_id" && self.rng.chance(40) => {
                ("", format!("(tenant_id, {})", c.name))
            }
            _ if self.rng.chance(20) => ("", format!("(lower({}::text))", c.name)),
            _ => ("", format!("({})", c.name)),
        };
        let filter = if self.rng.chance(25) {
            format!(" WHERE {} IS NOT NULL", c.name)
        } else {
            String::new()
        };
        self.tables[t].indexes.push(idx.clone());
        out.push(format!(
            "CREATE {unique}INDEX {concurrently}{if_not}{idx} ON {table}{using} {cols}{filter};"
        ));
    }

    fn foreign_key(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let p = self.rng.below(self.tables.len());
        let table = self.tables[t].name.clone();
        let parent = self.tables[p].name.clone();
        let col = self.column_name();
        let fk = format!("{}_fkey", col);
        out.push(format!("ALTER TABLE {table} ADD COLUMN {col} bigint;"));
        self.tables[t].columns.push(Column {
            name: col.clone(),
            ty: 0,
        });
        let on_delete = *self
            .rng
            .pick(&["", " ON DELETE CASCADE", " ON DELETE SET NULL"]);
        if self.rng.chance(70) {
            out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {parent} (id){on_delete} NOT VALID;"
            ));
            out.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {fk};"));
        } else {
            out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {parent} (id){on_delete};"
            ));
        }
        self.tables[t].constraints.push(fk);
    }

    fn set_not_null(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        if self.rng.chance(50) {
            // The safe way: a validated CHECK first, so SET NOT NULL needs no scan.
            let chk = format!("{}_not_null", c.name);
            out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {chk} CHECK ({} IS NOT NULL) NOT VALID;",
                c.name
            ));
            out.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {chk};"));
            out.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET NOT NULL;",
                c.name
            ));
            out.push(format!("ALTER TABLE {table} DROP CONSTRAINT {chk};"));
        } else {
            out.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET NOT NULL;",
                c.name
            ));
        }
    }

    fn drop_column(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        self.tables[t].columns.retain(|x| x.name != c.name);
        let if_exists = if self.rng.chance(50) {
            "IF EXISTS "
        } else {
            ""
        };
        out.push(format!(
            "ALTER TABLE {table} DROP COLUMN {if_exists}{};",
            c.name
        ));
    }

    fn rename(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        match self.rng.below(3) {
            0 => {
                let c = self.column(t, out);
                let n = self.id();
                let new = format!("{}_v{n}", c.name);
                for col in &mut self.tables[t].columns {
                    if col.name == c.name {
                        col.name.clone_from(&new);
                    }
                }
                out.push(format!(
                    "ALTER TABLE {table} RENAME COLUMN {} TO {new};",
                    c.name
                ));
            }
            1 => {
                let n = self.id();
                let short = table.rsplit('.').next().unwrap_or(&table);
                let new = format!("{}_r{n}", short.trim_end_matches(char::is_numeric));
                let full = match table.split_once('.') {
                    Some((schema, _)) => format!("{schema}.{new}"),
                    None => new.clone(),
                };
                self.tables[t].name = full;
                out.push(format!("ALTER TABLE {table} RENAME TO {new};"));
            }
            _ => {
                if self.tables[t].indexes.is_empty() {
                    self.create_index(out);
                    return;
                }
                let i = self.rng.below(self.tables[t].indexes.len());
                let old = self.tables[t].indexes[i].clone();
                let new = format!("{old}_renamed");
                self.tables[t].indexes[i].clone_from(&new);
                out.push(format!("ALTER INDEX IF EXISTS {old} RENAME TO {new};"));
            }
        }
    }

    fn alter_type(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let (new_ty, using) = match TYPES[c.ty].0 {
            "integer" | "smallint" => (0, format!(" USING {}::bigint", c.name)),
            "varchar(255)" => (3, String::new()),
            "timestamp" => (6, format!(" USING {} AT TIME ZONE 'UTC'", c.name)),
            "text" => (4, format!(" USING left({}, 255)", c.name)),
            _ => (3, format!(" USING {}::text", c.name)),
        };
        for col in &mut self.tables[t].columns {
            if col.name == c.name {
                col.ty = new_ty;
            }
        }
        out.push(format!(
            "ALTER TABLE {table} ALTER COLUMN {} TYPE {}{using};",
            c.name, TYPES[new_ty].0
        ));
    }

    fn comment(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        if self.rng.chance(40) {
            out.push(format!(
                "COMMENT ON TABLE {table} IS 'Owned by the billing team; see the runbook''s section {}.';",
                self.rng.range(1, 40)
            ));
        } else {
            let c = self.column(t, out);
            out.push(format!(
                "COMMENT ON COLUMN {table}.{} IS 'Set by the importer; NULL until the first sync.';",
                c.name
            ));
        }
    }

    fn insert(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let cols: Vec<Column> = self.tables[t].columns.iter().take(4).cloned().collect();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let mut rows = Vec::new();
        for _ in 0..self.rng.range(1, 8) {
            let vals: Vec<String> = cols.iter().map(|c| self.literal(c.ty)).collect();
            rows.push(format!("    ({})", vals.join(", ")));
        }
        let conflict = match self.rng.below(3) {
            0 => "\nON CONFLICT DO NOTHING".to_owned(),
            1 if names.len() > 1 => format!(
                "\nON CONFLICT (id) DO UPDATE SET {} = EXCLUDED.{}",
                names[1], names[1]
            ),
            _ => String::new(),
        };
        out.push(format!(
            "INSERT INTO {table} ({})\nVALUES\n{}{conflict};",
            names.join(", "),
            rows.join(",\n")
        ));
    }

    fn backfill(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let value = self.literal(c.ty);
        match self.rng.below(3) {
            0 => {
                let lo = self.rng.range(0, 100) * 10_000;
                out.push(format!(
                    "UPDATE {table} SET {c} = {value}, updated_at = now()\nWHERE {c} IS NULL AND id BETWEEN {lo} AND {};",
                    lo + 9_999,
                    c = c.name
                ));
            }
            1 => {
                let p = self.rng.below(self.tables.len());
                let parent = self.tables[p].name.clone();
                out.push(format!(
                    "UPDATE {table} AS t\nSET {c} = s.{c}\nFROM (\n    SELECT id, {value} AS {c}\n    FROM {parent}\n    WHERE created_at > now() - interval '30 days'\n) AS s\nWHERE t.id = s.id AND t.{c} IS DISTINCT FROM s.{c};",
                    c = c.name
                ));
            }
            _ => out.push(format!(
                "WITH batch AS (\n    SELECT id FROM {table} WHERE {c} IS NULL ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED\n)\nUPDATE {table} SET {c} = {value} WHERE id IN (SELECT id FROM batch);",
                c = c.name
            )),
        }
    }

    fn function(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        if self.rng.chance(60) {
            let f = format!("touch_updated_at_{n}");
            out.push(format!(
                "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n    IF NEW IS DISTINCT FROM OLD THEN\n        NEW.updated_at := now();\n    END IF;\n    RETURN NEW;\nEND;\n$$;"
            ));
            out.push(format!(
                "CREATE TRIGGER trg_{f}\n    BEFORE UPDATE ON {table}\n    FOR EACH ROW EXECUTE FUNCTION {f}();"
            ));
            self.functions.push(f);
        } else {
            let f = format!("tenant_total_{n}");
            out.push(format!(
                "CREATE OR REPLACE FUNCTION {f}(p_tenant bigint)\nRETURNS bigint\nLANGUAGE sql STABLE\nAS $fn$\n    SELECT count(*) FROM {table} WHERE tenant_id = p_tenant; -- ';' inside the body\n$fn$;"
            ));
            self.functions.push(f);
        }
    }

    fn timeouts(&mut self, out: &mut Vec<String>) {
        out.push(format!(
            "SET lock_timeout = '{}s';",
            self.rng.pick(&[1, 2, 5, 10])
        ));
        if self.rng.chance(60) {
            out.push(format!(
                "SET statement_timeout = '{}s';",
                self.rng.pick(&[30, 60, 300])
            ));
        }
    }

    fn enum_type(&mut self, out: &mut Vec<String>) {
        if self.enums.is_empty() || self.rng.chance(40) {
            let n = self.id();
            let e = format!("order_state_{n}");
            out.push(format!(
                "CREATE TYPE {e} AS ENUM ('draft', 'open', 'closed');"
            ));
            self.enums.push(e);
        } else {
            let e = self.rng.pick(&self.enums).clone();
            let n = self.id();
            out.push(format!(
                "ALTER TYPE {e} ADD VALUE IF NOT EXISTS 'state_{n}';"
            ));
        }
    }

    fn view(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        if self.rng.chance(70) {
            out.push(format!(
                "CREATE OR REPLACE VIEW recent_{n} AS\nSELECT t.id, t.tenant_id, t.{c}, t.created_at\nFROM {table} AS t\nWHERE t.created_at > now() - interval '7 days'\nORDER BY t.created_at DESC;",
                c = c.name
            ));
        } else {
            out.push(format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS daily_{n} AS\nSELECT tenant_id, date_trunc('day', created_at) AS day, count(*) AS n\nFROM {table}\nGROUP BY 1, 2\nWITH NO DATA;"
            ));
            out.push(format!(
                "CREATE UNIQUE INDEX daily_{n}_key ON daily_{n} (tenant_id, day);"
            ));
            out.push(format!("REFRESH MATERIALIZED VIEW daily_{n};"));
        }
    }

    fn drop_index(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        if self.tables[t].indexes.is_empty() {
            self.create_index(out);
            return;
        }
        let idx = self.tables[t].indexes.remove(0);
        let concurrently = if self.rng.chance(60) {
            "CONCURRENTLY "
        } else {
            ""
        };
        out.push(format!("DROP INDEX {concurrently}IF EXISTS {idx};"));
    }

    fn check_constraint(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        let chk = format!("chk_{n}");
        out.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {chk} CHECK (created_at <= updated_at) NOT VALID;"
        ));
        if self.rng.chance(50) {
            out.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {chk};"));
        }
        self.tables[t].constraints.push(chk);
    }

    fn do_block(&mut self, out: &mut Vec<String>) {
        let n = self.id();
        out.push(format!(
            "DO $$\nBEGIN\n    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting_{n}') THEN\n        CREATE ROLE reporting_{n} NOLOGIN;\n    END IF;\nEND\n$$;"
        ));
    }

    fn grant(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let privs = *self
            .rng
            .pick(&["SELECT", "SELECT, INSERT, UPDATE", "ALL PRIVILEGES"]);
        let role = *self.rng.pick(&["app_rw", "app_ro", "reporting"]);
        out.push(format!("GRANT {privs} ON {table} TO {role};"));
    }

    fn misc_objects(&mut self, out: &mut Vec<String>) {
        let n = self.id();
        match self.rng.below(3) {
            0 => out.push("CREATE EXTENSION IF NOT EXISTS pgcrypto;".into()),
            1 => out.push(format!(
                "CREATE SEQUENCE IF NOT EXISTS invoice_number_{n} START WITH 1000 INCREMENT BY 1;"
            )),
            _ => out.push("CREATE SCHEMA IF NOT EXISTS app;".into()),
        }
    }

    fn delete(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let days = self.rng.pick(&[30, 90, 365]);
        out.push(format!(
            "DELETE FROM {table} WHERE created_at < now() - interval '{days} days';"
        ));
    }

    fn set_default(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        if self.rng.chance(70) {
            out.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET DEFAULT {};",
                c.name, TYPES[c.ty].1
            ));
        } else {
            out.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} DROP DEFAULT;",
                c.name
            ));
        }
    }

    fn drop_table(&mut self, out: &mut Vec<String>) {
        if self.tables.len() < 8 {
            out.push(self.create_table());
            return;
        }
        let t = self.rng.below(self.tables.len());
        let table = self.tables.remove(t).name;
        out.push(format!("DROP TABLE IF EXISTS {table};"));
    }

    fn row_level_security(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        out.push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"));
        out.push(format!(
            "CREATE POLICY tenant_isolation_{n} ON {table}\n    USING (tenant_id = current_setting('app.tenant_id')::bigint);"
        ));
    }

    /// One or a few statements of a kind drawn by weight; returns its name for the
    /// file's description.
    fn statement(&mut self, out: &mut Vec<String>) -> &'static str {
        const KINDS: &[(&str, usize)] = &[
            ("create_table", 8),
            ("add_column", 10),
            ("create_index", 8),
            ("add_foreign_key", 5),
            ("set_not_null", 3),
            ("drop_column", 3),
            ("rename", 2),
            ("alter_type", 2),
            ("comment", 6),
            ("insert", 8),
            ("backfill", 6),
            ("function", 3),
            ("enum", 2),
            ("view", 2),
            ("drop_index", 2),
            ("check_constraint", 2),
            ("do_block", 1),
            ("grant", 2),
            ("objects", 1),
            ("delete", 2),
            ("set_default", 2),
            ("drop_table", 1),
            ("row_level_security", 1),
        ];
        let total: usize = KINDS.iter().map(|k| k.1).sum();
        let mut draw = self.rng.below(total);
        let mut kind = KINDS[0].0;
        for (k, w) in KINDS {
            if draw < *w {
                kind = k;
                break;
            }
            draw -= w;
        }
        match kind {
            "create_table" => out.push(self.create_table()),
            "add_column" => {
                let t = self.table(out);
                out.push(self.add_column(t, true));
            }
            "create_index" => self.create_index(out),
            "add_foreign_key" => self.foreign_key(out),
            "set_not_null" => self.set_not_null(out),
            "drop_column" => self.drop_column(out),
            "rename" => self.rename(out),
            "alter_type" => self.alter_type(out),
            "comment" => self.comment(out),
            "insert" => self.insert(out),
            "backfill" => self.backfill(out),
            "function" => self.function(out),
            "enum" => self.enum_type(out),
            "view" => self.view(out),
            "drop_index" => self.drop_index(out),
            "check_constraint" => self.check_constraint(out),
            "do_block" => self.do_block(out),
            "grant" => self.grant(out),
            "objects" => self.misc_objects(out),
            "delete" => self.delete(out),
            "set_default" => self.set_default(out),
            "drop_table" => self.drop_table(out),
            _ => self.row_level_security(out),
        }
        kind
    }
}

/// The synthetic corpus: (file name, text) in version order, and the number of
/// statements generated.
fn synthetic_corpus(statements: usize, files: usize, seed: u64) -> (Vec<(String, String)>, usize) {
    let mut g = Generator::new(seed);
    let mut out = Vec::new();
    let mut total = 0;
    for i in 0..files {
        let remaining = statements.saturating_sub(total);
        let left = files - i;
        let mean = remaining.div_ceil(left).max(1);
        let budget = g.rng.range(mean.div_ceil(2), mean + mean / 2).max(1);
        let mut stmts = Vec::new();
        if i == 0 {
            stmts.push("CREATE SCHEMA IF NOT EXISTS app;".to_owned());
            stmts.push("CREATE EXTENSION IF NOT EXISTS pgcrypto;".to_owned());
        }
        // Many teams start each migration by bounding its lock waits.
        if g.rng.chance(40) {
            g.timeouts(&mut stmts);
        }
        let mut first = None;
        while stmts.len() < budget {
            let kind = g.statement(&mut stmts);
            first.get_or_insert(kind);
        }
        let wrapped = g.rng.chance(5);
        let description = first.unwrap_or("init");
        let mut text = format!(
            "-- Migration {}: {}\n-- Generated by bench-migrations-check (seed {seed}).\n\n",
            i + 1,
            description.replace('_', " ")
        );
        if wrapped {
            text.push_str("BEGIN;\n\n");
        }
        for s in &stmts {
            text.push_str(s);
            text.push_str("\n\n");
        }
        if wrapped {
            text.push_str("COMMIT;\n");
        }
        total += stmts.len() + if wrapped { 2 } else { 0 };
        out.push((format!("V{}__{description}.sql", i + 1), text));
    }
    (out, total)
}

// ---------------------------------------------------------------------------------------
// Corpora on disk, and what our checker reads from them
// ---------------------------------------------------------------------------------------

struct Corpus {
    label: String,
    dir: PathBuf,
    /// The files, in version order: what squawk is given.
    files: Vec<PathBuf>,
    bytes: u64,
    statements: usize,
    /// Statements the parser could not read (as our checker marks them).
    unparsed: Vec<String>,
    rounds: usize,
}

fn write_files(dir: &Path, files: &[(String, String)]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The real project's files in its own order (by file name), copied unmodified under
/// Flyway names `V<n>__<original name without .sql>.sql`.
fn real_corpus(src: &Path, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("no .sql files in {}", src.display());
    }
    std::fs::create_dir_all(dir)?;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let stem = name.strip_suffix(".sql").unwrap_or(name);
            let path = dir.join(format!("V{}__{stem}.sql", i + 1));
            std::fs::copy(src.join(name), &path).with_context(|| format!("copying {name}"))?;
            Ok(path)
        })
        .collect()
}

/// Counts statements as `migrations check` sees them (same library, same parser).
fn describe(label: &str, dir: &Path, files: Vec<PathBuf>, rounds: usize) -> anyhow::Result<Corpus> {
    let set = MigrationSet::load(dir).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let mut statements = 0;
    let mut unparsed = Vec::new();
    for m in set.all() {
        statements += m.analysis.statements.len();
        for s in m.analysis.statements.iter().filter(|s| s.has_errors) {
            let first: String = s
                .text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(80)
                .collect();
            unparsed.push(format!("{}:{}: {first}", m.script, s.line));
        }
    }
    let bytes = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    Ok(Corpus {
        label: label.to_owned(),
        dir: dir.to_owned(),
        files,
        bytes,
        statements,
        unparsed,
        rounds,
    })
}

// ---------------------------------------------------------------------------------------
// Running the tools
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    Squawk,
}

/// One program measured: ours (one or more builds) or squawk.
struct Tool {
    label: String,
    kind: Kind,
    path: PathBuf,
}

impl Tool {
    /// The command line, as a benchmark run executes it (output to a pipe we read).
    fn command(&self, c: &Corpus, json: bool) -> std::process::Command {
        let mut cmd = command(&self.path);
        match self.kind {
            Kind::Ours => {
                cmd.args(["migrations", "check"]).arg(&c.dir);
                if json {
                    cmd.args(["--format", "json"]);
                }
            }
            Kind::Squawk => {
                if json {
                    cmd.args(["--reporter", "json"]);
                }
                cmd.args(&c.files);
                cmd.env("NO_COLOR", "1");
            }
        }
        // No .squawk.toml up from here: squawk's default rules.
        cmd.current_dir(c.dir.parent().unwrap_or(&c.dir));
        cmd
    }

    /// Runs once; fails unless the exit status says "checked" (0: nothing found,
    /// 1: findings) and something was printed. Returns the output, wall seconds and CPU
    /// seconds (all threads, from getrusage of waited-for children).
    fn run(&self, c: &Corpus, json: bool) -> anyhow::Result<(Output, f64, f64)> {
        let mut cmd = self.command(c, json);
        cmd.stdin(Stdio::null());
        let cpu0 = waited_children_cpu_seconds();
        let t0 = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("running {}", self.label))?;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = waited_children_cpu_seconds() - cpu0;
        match out.status.code() {
            Some(0 | 1) if !out.stdout.is_empty() => Ok((out, wall, cpu)),
            _ => bail!(
                "{} on {} exited with {} (stdout {} bytes): {}",
                self.label,
                c.label,
                out.status,
                out.stdout.len(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }
}

/// Our JSON report: one object per migration with its class.
fn check_ours(c: &Corpus, out: &Output) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Report {
        class: String,
        reasons: Vec<Finding>,
        warnings: Vec<Finding>,
    }
    #[derive(serde::Deserialize)]
    struct Finding {
        rule: String,
    }
    let reports: Vec<Report> =
        serde_json::from_slice(&out.stdout).context("our --format json output")?;
    if reports.len() != c.files.len() {
        bail!(
            "{}: our report has {} migrations for {} files",
            c.label,
            reports.len(),
            c.files.len()
        );
    }
    let count = |class: &str| reports.iter().filter(|r| r.class == class).count();
    let reasons: usize = reports.iter().map(|r| r.reasons.len()).sum();
    let parse_errors = reports
        .iter()
        .flat_map(|r| &r.reasons)
        .filter(|f| f.rule == "parse-error")
        .count();
    let warnings: usize = reports.iter().map(|r| r.warnings.len()).sum();
    let breaking = count("contract") + count("unknown") > 0;
    if breaking != (out.status.code() == Some(1)) {
        bail!(
            "{}: exit status {} does not match the classes reported",
            c.label,
            out.status
        );
    }
    Ok(format!(
        "{} migrations: {} expand, {} contract, {} unknown; {reasons} reasons ({parse_errors} parse-error), {warnings} lint warnings; exit {}",
        reports.len(),
        count("expand"),
        count("contract"),
        count("unknown"),
        out.status.code().unwrap_or(-1)
    ))
}

/// squawk's JSON report (one object per violation) and its own count of files checked
/// (the last line of its default reporter).
fn check_squawk(c: &Corpus, json: &Output, text: &Output) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Violation {
        file: String,
        rule_name: String,
    }
    let violations: Vec<Violation> =
        serde_json::from_slice(&json.stdout).context("squawk's --reporter json output")?;
    let summary = String::from_utf8_lossy(&text.stdout);
    let checked = summary
        .split("(checked ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok());
    if checked != Some(c.files.len()) {
        bail!(
            "{}: squawk says it checked {checked:?} files, not {}: {}",
            c.label,
            c.files.len(),
            summary.lines().last().unwrap_or("")
        );
    }
    if violations.is_empty() || json.status.code() != Some(1) {
        bail!(
            "{}: squawk reported {} violations with exit status {}; every corpus here has some",
            c.label,
            violations.len(),
            json.status
        );
    }
    let mut files: Vec<&str> = violations.iter().map(|v| v.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let syntax = violations
        .iter()
        .filter(|v| v.rule_name == "syntax-error")
        .count();
    let mut rules: Vec<(&str, usize)> = Vec::new();
    for v in &violations {
        match rules.iter_mut().find(|r| r.0 == v.rule_name) {
            Some(r) => r.1 += 1,
            None => rules.push((&v.rule_name, 1)),
        }
    }
    rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = rules
        .iter()
        .take(4)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    Ok(format!(
        "checked {} files; {} violations in {} files ({syntax} syntax-error; {} rules, most: {}); exit {}",
        c.files.len(),
        violations.len(),
        files.len(),
        rules.len(),
        top.join(", "),
        json.status.code().unwrap_or(-1)
    ))
}

/// Measured runs of one tool on one corpus.
#[derive(Default)]
struct Runs {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// Warm-up runs of every tool, then `c.rounds` rounds in which every tool runs once, the
/// order rotating by one from round to round.
fn measure(tools: &[Tool], c: &Corpus, warmup: usize) -> anyhow::Result<Vec<Runs>> {
    for _ in 0..warmup {
        for t in tools {
            t.run(c, true)?;
        }
    }
    let mut runs: Vec<Runs> = tools.iter().map(|_| Runs::default()).collect();
    for round in 0..c.rounds {
        for k in 0..tools.len() {
            let i = (round + k) % tools.len();
            let (_, wall, cpu) = tools[i].run(c, true)?;
            runs[i].wall.push(wall);
            runs[i].cpu.push(cpu);
        }
    }
    Ok(runs)
}

/// In-process, single-threaded timings of our checker's work per corpus, for where the
/// time goes: parse; parse + `Parse::errors` (squawk-syntax's validation pass over the
/// tree); the whole `analyze` (+ split, classify, squawk's linter). Medians of `reps`,
/// seconds.
fn in_process(c: &Corpus, reps: usize) -> anyhow::Result<[f64; 3]> {
    let texts: Vec<String> = c
        .files
        .iter()
        .map(std::fs::read_to_string)
        .collect::<Result<_, _>>()?;
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..reps {
        let t0 = Instant::now();
        for t in &texts {
            std::hint::black_box(sql::parse(t).syntax_node().children().count());
        }
        times[0].push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        for t in &texts {
            std::hint::black_box(sql::parse(t).errors().len());
        }
        times[1].push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        for t in &texts {
            std::hint::black_box(analyze(t).statements.len());
        }
        times[2].push(t0.elapsed().as_secs_f64());
    }
    Ok(times.map(|t| median_of(&t)))
}

/// `--squawk`, else `squawk` on PATH, else the copies `make bench` and the hint install.
fn find_squawk(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = arg {
        if p.is_file() {
            return Ok(p);
        }
        bail!("{} does not exist: {SQUAWK_HINT}", p.display());
    }
    if let Ok(p) = system_tool("squawk", SQUAWK_HINT) {
        return Ok(p);
    }
    let candidates = [
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.tools/squawk-venv/bin/squawk"
        ),
        "/tmp/squawk-venv/bin/squawk",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("squawk is not installed: {SQUAWK_HINT}"))
}

fn rate(statements: usize, secs: f64) -> String {
    if secs > 0.0 {
        thousands((statements as f64 / secs).round() as usize)
    } else {
        "—".into()
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn tools_from(args: &Args) -> anyhow::Result<(Vec<Tool>, String)> {
    let squawk = find_squawk(args.squawk.clone())?.canonicalize()?;
    let providers = if args.providers.is_empty() {
        vec![workspace_bin("terraform-provider-bluegreen")?]
    } else {
        // The tools run in the corpus's folder: relative paths would not resolve.
        args.providers
            .iter()
            .map(|p| p.canonicalize().with_context(|| format!("{}", p.display())))
            .collect::<anyhow::Result<_>>()?
    };
    let version = std::process::Command::new(&squawk)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", squawk.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    if !version.ends_with(SQUAWK_VERSION) {
        eprintln!(
            "note: {version} is not squawk {SQUAWK_VERSION}, the release BENCHMARKS.md was measured with"
        );
    }
    let mut tools: Vec<Tool> = providers
        .iter()
        .map(|p| Tool {
            label: if providers.len() == 1 {
                "migrations check".into()
            } else {
                format!(
                    "migrations check ({})",
                    p.file_name().unwrap_or_default().to_string_lossy()
                )
            },
            kind: Kind::Ours,
            path: p.clone(),
        })
        .collect();
    tools.push(Tool {
        label: "squawk".into(),
        kind: Kind::Squawk,
        path: squawk,
    });
    Ok((tools, version))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.write_corpus {
        let (files, n) = synthetic_corpus(args.statements, args.files, args.seed);
        write_files(dir, &files)?;
        println!(
            "wrote {} files, {n} statements generated, to {}",
            files.len(),
            dir.display()
        );
        return Ok(());
    }
    let (tools, version) = tools_from(&args)?;

    machine::print_header("bench-migrations-check: migrations check vs squawk, same files");
    for t in &tools {
        match t.kind {
            Kind::Ours => println!(
                "{}: {} migrations check DIR --format json",
                t.label,
                t.path.display()
            ),
            Kind::Squawk => println!(
                "squawk: {} --reporter json FILE... ({version}, default rules)",
                t.path.display()
            ),
        }
    }

    let work = tempfile::Builder::new()
        .prefix("bluegreen-bench-migrations-")
        .tempdir()
        .context("creating a work directory")?;
    let (synthetic, generated) = synthetic_corpus(args.statements, args.files, args.seed);
    let dir = work.path().join("synthetic");
    let files = write_files(&dir, &synthetic)?;
    let syn = describe("synthetic", &dir, files, args.rounds)?;
    if syn.statements != generated {
        println!(
            "note: the generator wrote {generated} statements, our parser counts {}",
            syn.statements
        );
    }
    let dir = work.path().join("harbor");
    let files = real_corpus(&args.real, &dir)?;
    let real = describe("Harbor", &dir, files, args.small_rounds)?;
    let dir = work.path().join("one");
    let files = write_files(
        &dir,
        &[(
            "V1__one_statement.sql".into(),
            "ALTER TABLE accounts ADD COLUMN note text;\n".into(),
        )],
    )?;
    let one = describe("one statement", &dir, files, args.small_rounds)?;
    let corpora = [syn, real, one];

    println!("\ncorpora (statements counted by our checker's parser, split at top-level `;`):");
    let mut t = Table::new(["corpus", "files", "KiB", "statements", "not parsed"]);
    for c in &corpora {
        t.row([
            c.label.clone(),
            c.files.len().to_string(),
            format!("{:.0}", c.bytes as f64 / 1024.0),
            thousands(c.statements),
            c.unparsed.len().to_string(),
        ]);
    }
    print!("{}", t.render());
    for c in &corpora {
        for u in c.unparsed.iter().take(10) {
            println!("  not parsed ({}): {u}", c.label);
        }
    }

    println!("\noutputs checked before timing:");
    for c in &corpora {
        for t in &tools {
            let summary = match t.kind {
                Kind::Ours => check_ours(c, &t.run(c, true)?.0)?,
                Kind::Squawk => check_squawk(c, &t.run(c, true)?.0, &t.run(c, false)?.0)?,
            };
            println!("  {} / {}: {summary}", c.label, t.label);
        }
    }

    println!(
        "\nmeasuring: {} warm-up runs per tool, then {} rounds (synthetic) / {} rounds (others), order rotating",
        args.warmup, args.rounds, args.small_rounds
    );
    let mut results = Vec::new();
    for c in &corpora {
        let started = Instant::now();
        let runs = measure(&tools, c, args.warmup)?;
        println!("  {}: {:.1} s", c.label, started.elapsed().as_secs_f64());
        results.push(runs);
    }
    let mut inproc = Vec::new();
    for c in &corpora {
        inproc.push(in_process(c, 5)?);
    }
    let squawk_at = tools.len() - 1;

    let mut t = Table::new([
        "corpus",
        "tool",
        "runs",
        "wall ms median (min–max)",
        "CPU ms median (min–max)",
        "statements/s median (min–max)",
        "statements per CPU-s",
    ]);
    for (c, runs) in corpora.iter().zip(&results) {
        for (tool, r) in tools.iter().zip(runs) {
            let w = summarize(&r.wall);
            let cpu = summarize(&r.cpu);
            t.row([
                c.label.clone(),
                tool.label.clone(),
                w.n.to_string(),
                format!(
                    "{} ({}–{})",
                    ms(w.median * 1e3),
                    ms(w.min * 1e3),
                    ms(w.max * 1e3)
                ),
                format!(
                    "{} ({}–{})",
                    ms(cpu.median * 1e3),
                    ms(cpu.min * 1e3),
                    ms(cpu.max * 1e3)
                ),
                format!(
                    "{} ({}–{})",
                    rate(c.statements, w.median),
                    rate(c.statements, w.max),
                    rate(c.statements, w.min)
                ),
                rate(c.statements, cpu.median),
            ]);
        }
    }
    println!("\n{}", t.render());

    let mut t = Table::new([
        "corpus",
        "statements",
        "build",
        "throughput ratio ours/squawk (medians)",
        "per-round ratio median (min–max)",
        "CPU ratio squawk/ours (medians)",
    ]);
    for (c, runs) in corpora.iter().zip(&results) {
        let squawk = &runs[squawk_at];
        for (tool, ours) in tools.iter().zip(runs).take(squawk_at) {
            let per_round: Vec<f64> = squawk
                .wall
                .iter()
                .zip(&ours.wall)
                .map(|(s, o)| s / o)
                .collect();
            let r = summarize(&per_round);
            t.row([
                c.label.clone(),
                thousands(c.statements),
                tool.label.clone(),
                format!(
                    "{}×",
                    ratio(median_of(&squawk.wall) / median_of(&ours.wall))
                ),
                format!("{}× ({}–{})", ratio(r.median), ratio(r.min), ratio(r.max)),
                format!("{}×", ratio(median_of(&squawk.cpu) / median_of(&ours.cpu))),
            ]);
        }
    }
    println!("{}", t.render());

    let mut t = Table::new([
        "corpus",
        "parse ms",
        "parse + Parse::errors ms",
        "analyze ms (+ split, classify, lint)",
    ]);
    for (c, [parse, errors, analyze]) in corpora.iter().zip(&inproc) {
        t.row([
            c.label.clone(),
            ms(parse * 1e3),
            ms(errors * 1e3),
            ms(analyze * 1e3),
        ]);
    }
    println!(
        "our checker's work in this process, one thread, every file once (medians of 5):\n{}",
        t.render()
    );
    machine::print_footer();
    Ok(())
}
