//! One database, one working directory: plan and apply, failures, edits,
//! statements that cannot run in a transaction.

use bluegreen_acceptance::harness::postgres::psql;
use bluegreen_acceptance::harness::{announce, on_every_cli};

use crate::{
    expect_match, first_error, flyway_checksum, history, migration_config, migration_workspace,
    plan_exits, schema, ADDRESS,
};

const V1: &str = "CREATE TABLE items (\n    id   BIGINT PRIMARY KEY,\n    name TEXT NOT NULL\n);\n";

/// Apply, then the plan is empty; a new file shows in the next plan as
/// pending with its class; a later one held back by `target_version` stays
/// pending with its class.
#[test]
fn apply_then_new_file_is_pending_with_class() {
    on_every_cli("migration_pending_with_class", |tf| {
        let test = "migration_pending_with_class";
        let (url, ws, sql) = migration_workspace(test, "pending", tf);
        sql.write("V1__create_items.sql", V1);
        ws.write_config(&migration_config(&url, &sql, ""));
        ws.init();
        let first = plan_exits(&ws, 2, "first plan");
        expect_match(&ws, &first, r#"V1__create_items\.sql"#);
        ws.apply();
        let state = ws.show();
        let db = state.resource(ADDRESS);
        assert_eq!(db.str("applied_version"), "1", "{:?}", db.flatten());
        assert_eq!(history(&url).len(), 1, "{:?}", history(&url));
        ws.assert_plan_empty("after the first apply");

        // A new expand migration, and a contract one held back.
        sql.write(
            "V2__add_items_price.sql",
            "ALTER TABLE items ADD COLUMN price NUMERIC(10, 2);\n",
        );
        sql.write(
            "V3__drop_items_name.sql",
            "ALTER TABLE items DROP COLUMN name;\n",
        );
        ws.write_config(&migration_config(&url, &sql, "  target_version = \"2\"\n"));
        let plan = plan_exits(&ws, 2, "with two new files");
        let text = crate::unwrapped(&plan.plain());
        announce(&format!(
            "acceptance: {test} on Terraform v{}: plan:\n{}",
            tf.version_string(),
            text.lines()
                .filter(|l| l.contains("class") || l.contains("script") || l.contains("version"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        // Each pending entry prints its attributes in order: class, …, script, version.
        expect_match(
            &ws,
            &plan,
            r#"class\s*=\s*"expand"[^{}]*script\s*=\s*"V2__add_items_price\.sql""#,
        );
        expect_match(
            &ws,
            &plan,
            r#"class\s*=\s*"contract"[^{}]*V3__drop_items_name\.sql:1[^{}]*script\s*=\s*"V3__drop_items_name\.sql""#,
        );
        ws.apply();
        let rows = history(&url);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows[1].starts_with("2|V2__add_items_price.sql|"),
            "{rows:?}"
        );
        let state = ws.show();
        let db = state.resource(ADDRESS);
        assert_eq!(db.str("applied_version"), "2");
        assert_eq!(db.str("pending.0.script"), "V3__drop_items_name.sql");
        assert_eq!(db.str("pending.0.class"), "contract");
        ws.assert_plan_empty("after applying up to target_version 2");
        ws.destroy();
        assert_eq!(history(&url).len(), 2, "destroy never touches the database");
    });
}

/// A failing migration leaves the schema and the history exactly as before,
/// and the error names the file, the line and PostgreSQL's message.
#[test]
fn failing_migration_changes_nothing() {
    on_every_cli("migration_failure_changes_nothing", |tf| {
        let test = "migration_failure_changes_nothing";
        let (url, ws, sql) = migration_workspace(test, "failure", tf);
        sql.write("V1__create_items.sql", V1);
        ws.write_config(&migration_config(&url, &sql, ""));
        ws.init();
        ws.apply();
        let (schema_before, history_before) = (schema(&url), history(&url));

        sql.write(
            "V2__broken.sql",
            "CREATE TABLE audit (id BIGINT);\nALTER TABLE items ADD COLUMN note TEXT;\n\nINSERT INTO no_such_table VALUES (1);\n",
        );
        let out = ws.run(&["apply", "-auto-approve"]);
        if out.success() {
            ws.fail(Some(&out), "the broken migration applied");
        }
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {}",
            tf.version_string(),
            first_error(&out)
        ));
        expect_match(&ws, &out, r#"Error: Migration V2__broken\.sql failed"#);
        expect_match(&ws, &out, r#"V2__broken\.sql:4"#);
        expect_match(&ws, &out, r#"relation "no_such_table" does not exist"#);
        assert_eq!(schema(&url), schema_before, "the schema changed");
        assert_eq!(history(&url), history_before, "the history changed");

        // Fixed, it applies.
        sql.write(
            "V2__broken.sql",
            "CREATE TABLE audit (id BIGINT);\nALTER TABLE items ADD COLUMN note TEXT;\n",
        );
        ws.apply();
        assert_eq!(history(&url).len(), 2, "{:?}", history(&url));
        ws.assert_plan_empty("after the fixed migration");
    });
}

/// Editing an applied file is a plan error naming the file and both checksums.
#[test]
fn edited_applied_file_fails_plan() {
    on_every_cli("migration_edited_file", |tf| {
        let test = "migration_edited_file";
        let (url, ws, sql) = migration_workspace(test, "edited", tf);
        sql.write("V1__create_items.sql", V1);
        ws.write_config(&migration_config(&url, &sql, ""));
        ws.init();
        ws.apply();
        let applied = flyway_checksum(V1);
        let rows = history(&url);
        assert_eq!(
            rows,
            vec![format!("1|V1__create_items.sql|{applied}|true")],
            "the history row has Flyway's checksum"
        );

        let edited = format!("{V1}CREATE INDEX items_name ON items (name);\n");
        sql.write("V1__create_items.sql", &edited);
        let now = flyway_checksum(&edited);
        let plan = plan_exits(&ws, 1, "after editing an applied file");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {}",
            tf.version_string(),
            first_error(&plan)
        ));
        let text = crate::unwrapped(&plan.plain());
        for want in [
            "V1__create_items.sql",
            &applied.to_string(),
            &now.to_string(),
        ] {
            if !text.contains(want) {
                ws.fail(
                    Some(&plan),
                    &format!("the plan error does not name {want:?} (applied checksum {applied}, file now {now})"),
                );
            }
        }
        assert_eq!(history(&url), rows, "a failed plan changed the history");
        // Restored, the plan is empty again.
        sql.write("V1__create_items.sql", V1);
        ws.assert_plan_empty("after restoring the file");
    });
}

/// `CREATE INDEX CONCURRENTLY` (and `DROP INDEX CONCURRENTLY`) apply: run
/// outside a transaction, one statement at a time, leaving valid indexes.
#[test]
fn create_index_concurrently_applies() {
    on_every_cli("migration_index_concurrently", |tf| {
        let test = "migration_index_concurrently";
        let (url, ws, sql) = migration_workspace(test, "concurrently", tf);
        sql.write(
            "V1__create_items.sql",
            &format!(
                "{V1}INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;\n"
            ),
        );
        sql.write(
            "V2__index_items.sql",
            "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY items_name ON items (name);\nCREATE INDEX CONCURRENTLY items_lower_name\n    ON items (lower(name));\n",
        );
        sql.write(
            "V3__drop_index.sql",
            "DROP INDEX CONCURRENTLY IF EXISTS items_lower_name;\n",
        );
        ws.write_config(&migration_config(&url, &sql, "  allow_breaking = true\n"));
        ws.init();
        ws.apply();
        let indexes = psql(
            &url,
            "SELECT c.relname || ' ' || i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname LIKE 'items_%' ORDER BY 1",
        );
        assert_eq!(
            indexes, "items_name true\nitems_pkey true",
            "indexes: {indexes}"
        );
        let rows = history(&url);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(rows.iter().all(|r| r.ends_with("|true")), "{rows:?}");
        ws.assert_plan_empty("after the concurrent index migrations");
    });
}
