//! The migration library without a database: Flyway naming, ordering and
//! checksums, the labelled classification corpus, and `migrations check`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use terraform_provider_bluegreen::migrate::checksum::flyway_checksum;
use terraform_provider_bluegreen::migrate::classify::{analyze, Class, RULES};
use terraform_provider_bluegreen::migrate::source::SourceError;
use terraform_provider_bluegreen::migrate::MigrationSet;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/migrations/sql")
}

/// Values computed by Java 17 with Flyway's algorithm verbatim
/// (`BufferedReader.readLine`, BOM filtered from the first line,
/// `java.util.zip.CRC32.update(line.getBytes(UTF_8))`, `(int) getValue()`),
/// and cross-checked with Python's `zlib.crc32`.
#[test]
fn checksums_match_flyway() {
    let seed = examples();
    for (file, expected) in [
        ("V1.2.0__create_customers.sql", 1_940_721_749),
        ("V1.3.0__add_customer_preferences.sql", -1_197_347_772),
        ("V1.3.1__preferences_not_null.sql", 1_898_301_381),
    ] {
        let bytes = std::fs::read(seed.join(file)).expect("example migration");
        assert_eq!(flyway_checksum(&bytes), expected, "{file}");
    }
    let cases: [(&[u8], i32); 4] = [
        (b"CREATE TABLE t (\r\n  id int\r\n);\r\n", -40_986_071),
        (
            "\u{feff}-- Größe 表\nINSERT INTO t VALUES ('é');\n".as_bytes(),
            1_884_094_218,
        ),
        (b"SELECT 1;\rSELECT 2;", -1_665_099_012),
        (b"\n\nSELECT 1;\n\n", 78_787_420),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            flyway_checksum(bytes),
            expected,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn folder_orders_versions_numerically_and_repeatables_last() {
    let dir = tempfile::tempdir().unwrap();
    support::write_files(
        dir.path(),
        &[
            ("V1.9__nine.sql", "SELECT 1;"),
            ("V1.10__ten.sql", "SELECT 1;"),
            ("V1_2__two.sql", "SELECT 1;"),
            ("R__a_view.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;"),
            ("nested/V2__in_a_subfolder.sql", "SELECT 1;"),
            ("U2__undo.sql", "SELECT 1;"),
            ("README.md", "not a migration"),
        ],
    );
    let set = MigrationSet::load(dir.path()).expect("valid folder");
    let order: Vec<&str> = set.all().map(|m| m.script.as_str()).collect();
    assert_eq!(
        order,
        [
            "V1_2__two.sql",
            "V1.9__nine.sql",
            "V1.10__ten.sql",
            "nested/V2__in_a_subfolder.sql",
            "R__a_view.sql"
        ]
    );
    assert_eq!(
        set.versioned[0]
            .version()
            .map(ToString::to_string)
            .as_deref(),
        Some("1.2")
    );
    assert_eq!(set.versioned[0].description, "two");
    assert_eq!(set.repeatable[0].description, "a view");
    assert_eq!(set.skipped, ["U2__undo.sql"]);
}

#[test]
fn same_version_twice_is_an_error_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    support::write_files(
        dir.path(),
        &[
            ("V1.3__short.sql", "SELECT 1;"),
            ("V1.3.0__long.sql", "SELECT 1;"),
        ],
    );
    let err = MigrationSet::load(dir.path()).expect_err("duplicate versions");
    let text = err.to_string();
    assert!(
        matches!(err.0[0], SourceError::DuplicateVersion { .. }),
        "{text}"
    );
    assert!(
        text.contains("V1.3__short.sql") && text.contains("V1.3.0__long.sql"),
        "{text}"
    );
}

#[test]
fn badly_named_sql_files_are_errors_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    support::write_files(
        dir.path(),
        &[
            ("V1__fine.sql", "SELECT 1;"),
            ("add_column.sql", "SELECT 1;"),
            ("V2-missing-separator.sql", "SELECT 1;"),
        ],
    );
    let err = MigrationSet::load(dir.path()).expect_err("bad names");
    assert_eq!(err.0.len(), 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("add_column.sql") && text.contains("V2-missing-separator.sql"),
        "{text}"
    );
    assert!(text.contains("V<version>__<description>.sql"), "{text}");
}

/// One labelled statement: its class and the rule that must explain it.
struct Case {
    class: Class,
    rule: Option<&'static str>,
    sql: &'static str,
}

const fn expand(sql: &'static str) -> Case {
    Case {
        class: Class::Expand,
        rule: None,
        sql,
    }
}
const fn contract(rule: &'static str, sql: &'static str) -> Case {
    Case {
        class: Class::Contract,
        rule: Some(rule),
        sql,
    }
}
const fn unknown(rule: &'static str, sql: &'static str) -> Case {
    Case {
        class: Class::Unknown,
        rule: Some(rule),
        sql,
    }
}

/// The labelled corpus: every rule and every class.
const CORPUS: &[Case] = &[
    // expand: new things, nullable or defaulted columns, relaxed rules, data
    expand("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);"),
    expand("CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers (id));"),
    expand("ALTER TABLE customers ADD COLUMN preferences JSONB DEFAULT '{}';"),
    expand("ALTER TABLE customers ADD COLUMN nickname text;"),
    expand("ALTER TABLE customers ADD COLUMN score integer NOT NULL DEFAULT 0;"),
    expand("ALTER TABLE customers ADD COLUMN seq bigserial NOT NULL;"),
    expand("ALTER TABLE customers ADD COLUMN ref bigint GENERATED ALWAYS AS IDENTITY NOT NULL;"),
    expand("ALTER TABLE customers ADD COLUMN display text GENERATED ALWAYS AS (upper(name)) STORED;"),
    expand("ALTER TABLE orders ADD COLUMN note text CHECK (length(note) < 500);"),
    expand("ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);"),
    expand("CREATE INDEX idx_customers_preferences ON customers USING gin (preferences);"),
    expand("CREATE INDEX CONCURRENTLY idx_orders_customer ON orders (customer_id);"),
    expand("DROP INDEX CONCURRENTLY IF EXISTS idx_old;"),
    expand("REINDEX INDEX CONCURRENTLY idx_orders_customer;"),
    expand("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;"),
    expand("ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;"),
    expand("ALTER TABLE customers ADD CONSTRAINT name_length CHECK (length(name) < 200) NOT VALID;"),
    expand("ALTER TABLE customers ALTER COLUMN nickname SET DEFAULT 'n/a';"),
    expand("ALTER TABLE customers ALTER COLUMN nickname DROP NOT NULL;"),
    expand("ALTER TABLE orders ALTER COLUMN note SET STATISTICS 500;"),
    expand("ALTER TABLE customers OWNER TO app;"),
    expand("ALTER INDEX idx_orders_customer RENAME TO orders_customer_idx;"),
    expand("CREATE VIEW active_customers AS SELECT id, name FROM customers;"),
    expand("CREATE OR REPLACE VIEW active_customers AS SELECT id, name, nickname FROM customers;"),
    expand("CREATE MATERIALIZED VIEW order_totals AS SELECT customer_id, count(*) FROM orders GROUP BY customer_id;"),
    expand("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;"),
    expand("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;"),
    expand("CREATE TRIGGER audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_row();"),
    expand("CREATE TYPE mood AS ENUM ('happy', 'sad');"),
    expand("ALTER TYPE mood ADD VALUE 'meh';"),
    expand("ALTER TYPE address ADD ATTRIBUTE zip text;"),
    expand("CREATE DOMAIN email AS text;"),
    expand("CREATE SEQUENCE invoice_numbers START 1000;"),
    expand("CREATE EXTENSION IF NOT EXISTS pg_trgm;"),
    expand("CREATE SCHEMA reporting;"),
    expand("CREATE POLICY own_rows ON orders USING (customer_id = current_setting('app.customer')::bigint);"),
    expand("COMMENT ON TABLE customers IS 'People who order';"),
    expand("GRANT SELECT ON customers TO reporting;"),
    expand("INSERT INTO settings (key, value) VALUES ('theme', 'dark');"),
    expand("UPDATE customers SET preferences = '{}' WHERE preferences IS NULL;"),
    expand("DELETE FROM sessions WHERE expires_at < now();"),
    expand("SET lock_timeout = '5s';"),
    expand("SELECT pg_catalog.set_config('search_path', '', false);"),
    expand("SELECT setval('invoice_numbers', 2000);"),
    expand("SELECT 1;"),
    expand("VACUUM ANALYZE customers;"),
    expand("ANALYZE customers;"),
    expand("CREATE TABLE order_archive AS SELECT * FROM orders WITH NO DATA;"),
    expand("BEGIN;"),
    expand("COMMIT;"),
    // contract: breaks the release still serving
    contract("drop-table", "DROP TABLE legacy_orders;"),
    contract("drop-table", "DROP TABLE IF EXISTS a, b CASCADE;"),
    contract("drop-column", "ALTER TABLE customers DROP COLUMN fax;"),
    contract("drop-column", "ALTER TABLE customers DROP COLUMN IF EXISTS pager CASCADE;"),
    contract("drop-view", "DROP VIEW active_customers;"),
    contract("drop-view", "DROP MATERIALIZED VIEW order_totals;"),
    contract("drop-function", "DROP FUNCTION touch();"),
    contract("drop-type", "DROP TYPE mood;"),
    contract("drop-type", "DROP DOMAIN email;"),
    contract("drop-schema", "DROP SCHEMA reporting CASCADE;"),
    contract("drop-sequence", "DROP SEQUENCE invoice_numbers;"),
    contract("drop-trigger", "DROP TRIGGER audit ON orders;"),
    contract("drop-policy", "DROP POLICY own_rows ON orders;"),
    contract("drop-extension", "DROP EXTENSION pg_trgm;"),
    contract("drop-database", "DROP DATABASE old_app;"),
    contract("drop-object", "DROP COLLATION german;"),
    contract("drop-constraint", "ALTER TABLE orders DROP CONSTRAINT orders_customer_fk;"),
    contract("drop-constraint", "ALTER DOMAIN email DROP CONSTRAINT email_check;"),
    contract("drop-default", "ALTER TABLE customers ALTER COLUMN nickname DROP DEFAULT;"),
    contract("drop-default", "ALTER DOMAIN email DROP DEFAULT;"),
    contract("drop-generated-expression", "ALTER TABLE customers ALTER COLUMN display DROP EXPRESSION;"),
    contract("drop-identity", "ALTER TABLE customers ALTER COLUMN ref DROP IDENTITY IF EXISTS;"),
    contract("rename-table", "ALTER TABLE customers RENAME TO clients;"),
    contract("rename-column", "ALTER TABLE customers RENAME COLUMN name TO full_name;"),
    contract("rename-column", "ALTER TABLE customers RENAME name TO full_name;"),
    contract("rename-constraint", "ALTER TABLE orders RENAME CONSTRAINT orders_customer_fk TO orders_client_fk;"),
    contract("rename-object", "ALTER VIEW active_customers RENAME TO current_customers;"),
    contract("rename-object", "ALTER FUNCTION touch() RENAME TO touch_row;"),
    contract("rename-object", "ALTER TYPE mood RENAME TO feeling;"),
    contract("rename-object", "ALTER SCHEMA reporting RENAME TO analytics;"),
    contract("rename-object", "ALTER SEQUENCE invoice_numbers RENAME TO invoice_seq;"),
    contract("rename-object", "ALTER TYPE address RENAME ATTRIBUTE zip TO postcode;"),
    contract("rename-enum-value", "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';"),
    contract("set-schema", "ALTER TABLE customers SET SCHEMA archive;"),
    contract("set-schema", "ALTER FUNCTION touch() SET SCHEMA util;"),
    contract("change-column-type", "ALTER TABLE customers ALTER COLUMN score TYPE bigint;"),
    contract("change-column-type", "ALTER TABLE customers ALTER COLUMN name SET DATA TYPE varchar(100);"),
    contract("alter-type-attribute", "ALTER TYPE address DROP ATTRIBUTE zip;"),
    contract("alter-type-attribute", "ALTER TYPE address ALTER ATTRIBUTE zip TYPE varchar(10);"),
    contract("set-not-null", "ALTER TABLE customers ALTER COLUMN preferences SET NOT NULL;"),
    contract("set-not-null", "ALTER DOMAIN email SET NOT NULL;"),
    contract("add-required-column", "ALTER TABLE customers ADD COLUMN tenant_id bigint NOT NULL;"),
    contract("add-check-constraint", "ALTER TABLE customers ADD CONSTRAINT score_positive CHECK (score >= 0);"),
    contract("add-foreign-key", "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);"),
    contract("add-unique-constraint", "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);"),
    contract("add-unique-constraint", "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE USING INDEX customers_email_idx;"),
    contract("add-primary-key", "ALTER TABLE events ADD PRIMARY KEY (id);"),
    contract("add-exclusion-constraint", "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);"),
    contract("add-not-null-constraint", "ALTER TABLE customers ADD CONSTRAINT name_not_null NOT NULL name;"),
    contract("add-domain-constraint", "ALTER DOMAIN email ADD CONSTRAINT email_check CHECK (VALUE ~ '@');"),
    contract("add-unique-index", "CREATE UNIQUE INDEX CONCURRENTLY customers_email_idx ON customers (email);"),
    contract("add-unique-index", "CREATE UNIQUE INDEX customers_code_idx ON customers (code);"),
    contract("detach-partition", "ALTER TABLE measurements DETACH PARTITION measurements_2023;"),
    contract("detach-partition", "ALTER TABLE measurements DETACH PARTITION measurements_2022 CONCURRENTLY;"),
    contract("enable-row-level-security", "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;"),
    contract("enable-row-level-security", "ALTER TABLE orders FORCE ROW LEVEL SECURITY;"),
    contract("restrictive-policy", "CREATE POLICY tenant_only ON orders AS RESTRICTIVE USING (tenant_id = 1);"),
    contract("truncate", "TRUNCATE sessions;"),
    contract("revoke", "REVOKE INSERT ON orders FROM app;"),
    // unknown: the SQL does not show the effect
    unknown("do-block", "DO $$ BEGIN EXECUTE 'ALTER TABLE ' || 'x' || ' DROP COLUMN y'; END $$;"),
    unknown("dynamic-sql", "EXECUTE cleanup_plan (1);"),
    unknown("procedure-call", "CALL archive_orders(2023);"),
    unknown("opaque-function-call", "SELECT create_hypertable('measurements', 'time');"),
    unknown("opaque-function-call", "SELECT migrate_tenant(id) FROM tenants;"),
    unknown("trigger-on-writes", "CREATE TRIGGER guard BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION reject_closed();"),
    unknown("trigger-on-writes", "CREATE TRIGGER write_view INSTEAD OF INSERT ON active_customers FOR EACH ROW EXECUTE FUNCTION insert_customer();"),
    unknown("parse-error", "ALTER TABLE customers FROBNICATE COLUMN x;"),
    unknown("parse-error", "SELEC 1;"),
];

#[test]
fn labelled_corpus_is_classified_as_labelled() {
    assert!(
        CORPUS.len() >= 80,
        "the corpus has {} statements",
        CORPUS.len()
    );
    let mut failures = Vec::new();
    for case in CORPUS {
        let a = analyze(case.sql);
        let rules: Vec<&str> = a.reasons.iter().map(|r| r.rule.as_str()).collect();
        let parse_failed = rules.contains(&"parse-error");
        if parse_failed && case.rule != Some("parse-error") {
            failures.push(format!("{}: the parser failed: {:?}", case.sql, a.reasons));
            continue;
        }
        if a.class != case.class {
            failures.push(format!(
                "{}: expected {}, got {} ({:?})",
                case.sql, case.class, a.class, a.reasons
            ));
        }
        match case.rule {
            Some(rule) if !rules.contains(&rule) => {
                failures.push(format!("{}: expected rule {rule}, got {rules:?}", case.sql))
            }
            None if !rules.is_empty() => {
                failures.push(format!("{}: expected no reasons, got {rules:?}", case.sql))
            }
            _ => {}
        }
        for r in &a.reasons {
            assert_eq!(r.line, 1, "{}", case.sql);
            assert!(!r.message.is_empty());
        }
    }
    assert!(
        failures.is_empty(),
        "{} misclassified:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_covers_every_rule_and_class() {
    let covered: BTreeSet<&str> = CORPUS.iter().filter_map(|c| c.rule).collect();
    let missing: Vec<&str> = RULES
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !covered.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a labelled statement: {missing:?}"
    );
    for class in [Class::Expand, Class::Contract, Class::Unknown] {
        assert!(CORPUS.iter().any(|c| c.class == class), "{class}");
    }
    for (rule, class) in RULES {
        for case in CORPUS.iter().filter(|c| c.rule == Some(*rule)) {
            assert_eq!(case.class, *class, "{rule}");
        }
    }
}

#[test]
fn reasons_carry_the_line_of_the_statement() {
    let a = analyze("-- header\nCREATE TABLE t (id bigint);\n\nALTER TABLE t\n  ADD COLUMN c text,\n  DROP COLUMN d;\n");
    assert_eq!(a.class, Class::Contract);
    assert_eq!(a.reasons.len(), 1);
    assert_eq!(a.reasons[0].line, 6);
    assert_eq!(a.reasons[0].rule, "drop-column");
    assert_eq!(
        a.reasons[0].located("V2__x.sql").split(": ").next(),
        Some("V2__x.sql:6")
    );
}

#[test]
fn lock_safety_warnings_come_from_squawk() {
    let a = analyze("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id);\nCREATE INDEX i ON orders (c);\n");
    let rules: BTreeSet<&str> = a.warnings.iter().map(|w| w.rule.as_str()).collect();
    assert!(
        rules.contains("constraint-missing-not-valid")
            || rules.contains("adding-foreign-key-constraint"),
        "{rules:?}"
    );
    assert!(
        rules.contains("require-concurrent-index-creation"),
        "{rules:?}"
    );
    assert!(
        !rules.contains("prefer-robust-stmts"),
        "style rules are off: {rules:?}"
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-bluegreen"))
        .args(args)
        .output()
        .expect("run the provider binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_cli_exits_1_on_contract_with_json_report() {
    let dir = examples();
    let dir = dir.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = cli(&["migrations", "check", dir, "--format", "json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON array");
    let items = json.as_array().expect("array");
    assert_eq!(items.len(), 3);
    let v131 = &items[2];
    assert!(v131["file"]
        .as_str()
        .unwrap()
        .ends_with("V1.3.1__preferences_not_null.sql"));
    assert_eq!(v131["version"], "1.3.1");
    assert_eq!(v131["description"], "preferences not null");
    assert_eq!(v131["class"], "contract");
    assert_eq!(v131["reasons"][0]["rule"], "set-not-null");
    assert_eq!(v131["reasons"][0]["line"], 6);
    assert!(v131["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("SET NOT NULL"));
    assert!(v131["warnings"].is_array());
    assert_eq!(items[1]["class"], "expand");
    assert!(items[1]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["rule"] == "require-concurrent-index-creation"));

    let (code, stdout, _) = cli(&["migrations", "check", dir]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("V1.3.1__preferences_not_null.sql  contract  (requires 1.3.0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 migrations: 2 expand, 1 contract, 0 unknown"),
        "{stdout}"
    );

    let (code, stdout, _) = cli(&["migrations", "check", dir, "--after", "1.3.1"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn check_cli_exits_0_for_expand_and_2_for_a_bad_folder() {
    let ok = tempfile::tempdir().unwrap();
    support::write_files(
        ok.path(),
        &[("V1__create.sql", "CREATE TABLE t (id bigint);")],
    );
    let (code, stdout, _) = cli(&[
        "migrations",
        "check",
        ok.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let bad = tempfile::tempdir().unwrap();
    support::write_files(bad.path(), &[("create.sql", "CREATE TABLE t (id bigint);")]);
    let (code, _, stderr) = cli(&["migrations", "check", bad.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("create.sql"), "{stderr}");
    let unknown = tempfile::tempdir().unwrap();
    support::write_files(unknown.path(), &[("V1__opaque.sql", "DO $$ BEGIN END $$;")]);
    let (code, _, _) = cli(&["migrations", "check", unknown.path().to_str().unwrap()]);
    assert_eq!(code, 1);
}

mod gate {
    use std::collections::BTreeMap;

    use terraform_provider_bluegreen::migrate::gate::{check, Traffic};
    use terraform_provider_bluegreen::migrate::MigrationSet;
    use terraform_provider_bluegreen::platform::{
        CanaryRoute, Color, ColorPhase, ColorState, EnvironmentState, RoutingRevision, RoutingTable,
    };

    fn color(version: Option<&str>, phase: ColorPhase) -> ColorState {
        ColorState {
            version: version.map(str::to_string),
            phase,
            address: None,
            instance_id: None,
            restarts: 0,
            last_exit: None,
            log_tail: Vec::new(),
            outdated: false,
            connections: None,
        }
    }

    fn env(live: Color, blue: ColorState, green: ColorState, canary: Option<Color>) -> Traffic {
        let state = EnvironmentState {
            endpoint: "http://127.0.0.1:8080".into(),
            routing: RoutingTable {
                revision: RoutingRevision::new("1"),
                primary: Some(live),
                canary: canary.map(|c| CanaryRoute {
                    color: c,
                    weight: 10,
                    tenants: vec!["pilot-tenant-id".into()],
                }),
                tenant_header: "X-Tenant-ID".into(),
                updated_by: None,
            },
            colors: BTreeMap::from([(Color::Blue, blue), (Color::Green, green)]),
            spec: None,
            front_door_down: None,
        };
        Traffic::from_state("api", &state)
    }

    fn seed() -> MigrationSet {
        MigrationSet::load(&super::examples()).expect("examples")
    }

    #[test]
    fn seed_story_v131_waits_until_no_colour_runs_1_2_0() {
        let set = seed();
        let v131 = set
            .versioned
            .iter()
            .find(|m| m.script == "V1.3.1__preferences_not_null.sql")
            .expect("V1.3.1");
        assert_eq!(v131.requires.as_deref(), Some("1.3.0"));
        let v130 = set
            .versioned
            .iter()
            .find(|m| m.script == "V1.3.0__add_customer_preferences.sql")
            .expect("V1.3.0");

        // Green went live with 1.3.0; blue keeps 1.2.0 running for rollback.
        let kept = env(
            Color::Green,
            color(Some("1.2.0"), ColorPhase::Running),
            color(Some("1.3.0"), ColorPhase::Running),
            None,
        );
        assert!(check(&[v130], &kept).is_empty(), "expand always passes");
        let refused = check(&[v131], &kept);
        assert_eq!(refused.len(), 1);
        let detail = &refused[0].detail;
        assert!(
            detail.contains("blue runs 1.2.0 (kept for rollback)")
                && detail.contains("requires application version 1.3.0"),
            "{detail}"
        );
        assert!(
            detail.contains("V1.3.1__preferences_not_null.sql:6: set-not-null"),
            "{detail}"
        );
        assert!(
            detail.contains("allow_breaking"),
            "says how to proceed: {detail}"
        );

        // Blue stopped (keep_previous = false): nothing older receives traffic.
        let stopped = env(
            Color::Green,
            color(Some("1.2.0"), ColorPhase::Stopped),
            color(Some("1.3.0"), ColorPhase::Running),
            None,
        );
        assert!(check(&[v131], &stopped).is_empty());
        // The next release landed on blue.
        let next = env(
            Color::Blue,
            color(Some("1.4.0"), ColorPhase::Running),
            color(Some("1.3.0"), ColorPhase::Running),
            None,
        );
        assert!(check(&[v131], &next).is_empty());
        // A canary still on 1.2.0 receives traffic too.
        let canary = env(
            Color::Green,
            color(Some("1.2.0"), ColorPhase::Running),
            color(Some("1.3.0"), ColorPhase::Running),
            Some(Color::Blue),
        );
        assert!(check(&[v131], &canary)[0]
            .detail
            .contains("blue runs 1.2.0 (canary)"));
    }

    #[test]
    fn without_a_header_the_live_version_is_required() {
        let dir = tempfile::tempdir().unwrap();
        super::support::write_files(
            dir.path(),
            &[("V2__drop.sql", "ALTER TABLE customers DROP COLUMN fax;")],
        );
        let set = MigrationSet::load(dir.path()).unwrap();
        let m = &set.versioned[0];
        let both_live_version = env(
            Color::Green,
            color(Some("1.3.0"), ColorPhase::Running),
            color(Some("1.3.0"), ColorPhase::Running),
            None,
        );
        assert!(check(&[m], &both_live_version).is_empty());
        let rollback_older = env(
            Color::Green,
            color(Some("1.2.0"), ColorPhase::Running),
            color(Some("1.3.0"), ColorPhase::Running),
            None,
        );
        assert!(check(&[m], &rollback_older)[0]
            .detail
            .contains("requires the live version 1.3.0"));
        assert_eq!(check(&[m], &Traffic::NoEnvironment).len(), 1);
        assert!(check(&[m], &Traffic::Absent).is_empty());
    }
}
