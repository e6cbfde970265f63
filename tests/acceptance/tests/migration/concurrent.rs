//! Two pipelines apply to one database at once, from two working
//! directories: Flyway's advisory lock lets one migrate; the other waits
//! (and then finds nothing left to do) or, past `lock_timeout`, fails with a
//! clear message. Every migration is applied exactly once.

use bluegreen_acceptance::harness::workspace::COMMAND_TIMEOUT;
use bluegreen_acceptance::harness::{announce, on_every_cli, Terraform, Workspace};

use crate::{bluegreen, expect_match, first_error, fresh_db, history, migration_config, SqlDir};

fn files(sql: &SqlDir) {
    sql.write(
        "V1__create_items.sql",
        "CREATE TABLE items (id BIGINT PRIMARY KEY);\nSELECT pg_sleep(4);\n",
    );
    sql.write(
        "V2__add_items_name.sql",
        "ALTER TABLE items ADD COLUMN name TEXT;\n",
    );
    sql.write(
        "V3__add_items_price.sql",
        "ALTER TABLE items ADD COLUMN price NUMERIC;\n",
    );
}

fn assert_each_once(ws: &Workspace, url: &str) {
    let rows = history(url);
    let scripts: Vec<&str> = rows.iter().filter_map(|r| r.split('|').nth(1)).collect();
    if scripts
        != [
            "V1__create_items.sql",
            "V2__add_items_name.sql",
            "V3__add_items_price.sql",
        ]
    {
        ws.fail(
            None,
            &format!("every migration must be applied exactly once: {rows:?}"),
        );
    }
}

/// Runs both applies at once; returns (a's output, b's output) and the two workspaces.
fn race(
    test: &str,
    tf: &Terraform,
    url: &str,
    extra: &str,
) -> (Workspace, Workspace, bool, bool, String) {
    let a = Workspace::new(test, tf, &bluegreen());
    let sql = SqlDir::new(&a);
    files(&sql);
    let b = a.sibling("second");
    for ws in [&a, &b] {
        ws.write_config(&migration_config(url, &sql, extra));
        ws.init();
    }
    let (run_a, run_b) = (
        a.spawn(&["apply", "-auto-approve"]),
        b.spawn(&["apply", "-auto-approve"]),
    );
    let (out_a, out_b) = (
        a.wait(run_a, COMMAND_TIMEOUT),
        b.wait(run_b, COMMAND_TIMEOUT),
    );
    let (ok_a, ok_b) = (out_a.success(), out_b.success());
    let loser_error = match (ok_a, ok_b) {
        (true, false) => {
            expect_match(&b, &out_b, r"(?i)lock");
            first_error(&out_b)
        }
        (false, true) => {
            expect_match(&a, &out_a, r"(?i)lock");
            first_error(&out_a)
        }
        (false, false) => a.fail(
            Some(&out_a),
            &format!("both applies failed; the other:\n{}", out_b.plain()),
        ),
        (true, true) => String::new(),
    };
    announce(&format!(
        "acceptance: {test} on Terraform v{}: a {} in {:.1}s, b {} in {:.1}s {loser_error}",
        tf.version_string(),
        if ok_a { "ok" } else { "failed" },
        out_a.elapsed.as_secs_f64(),
        if ok_b { "ok" } else { "failed" },
        out_b.elapsed.as_secs_f64(),
    ));
    (a, b, ok_a, ok_b, loser_error)
}

/// With a short `lock_timeout`, the second run fails on the lock with a
/// message that says so; applying it again afterwards has nothing to do.
#[test]
fn concurrent_applies_short_lock_timeout_one_fails() {
    on_every_cli("migration_concurrent_lock_timeout", |tf| {
        let test = "migration_concurrent_lock_timeout";
        let url = fresh_db("lock_timeout", tf);
        let (a, b, ok_a, ok_b, error) = race(test, tf, &url, LOCK_1S);
        if ok_a && ok_b {
            a.fail(
                None,
                "both applies succeeded although V1 holds the lock for 4s and lock_timeout is 1s",
            );
        }
        assert!(
            error.contains("lock")
                && (error.contains("1s")
                    || error.to_lowercase().contains("timeout")
                    || error.contains("held")),
            "the lock error should say it timed out waiting for the lock: {error}"
        );
        assert_each_once(&a, &url);
        let loser = if ok_a { &b } else { &a };
        loser.apply();
        assert_each_once(loser, &url);
        loser.assert_plan_empty("the refused run, applied again");
    });
}

/// With the default `lock_timeout`, the second run waits for the first and
/// then applies nothing: both succeed, every migration once.
#[test]
fn concurrent_applies_default_lock_timeout_one_waits() {
    on_every_cli("migration_concurrent_waits", |tf| {
        let test = "migration_concurrent_waits";
        let url = fresh_db("waits", tf);
        let (a, b, ok_a, ok_b, _) = race(test, tf, &url, BREAKING);
        if !(ok_a && ok_b) {
            a.fail(None, "with the default lock_timeout (60s) both applies should succeed, one after the other");
        }
        assert_each_once(&a, &url);
        a.assert_plan_empty("first directory after the race");
        b.assert_plan_empty("second directory after the race");
    });
}

/// `pg_sleep` in V1 (to hold the lock) is an opaque function call, so `unknown`.
const BREAKING: &str = "  allow_breaking = true\n";
const LOCK_1S: &str = "  allow_breaking = true\n  lock_timeout   = \"1s\"\n";
