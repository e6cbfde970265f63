//! The seed's story end to end on the local platform (examples/migrations):
//! 1.2.0 live → release 1.3.0 with V1.3.0 (expand) applied first → V1.3.1
//! (contract, `-- bluegreen:requires 1.3.0`) refused at plan time while blue
//! still runs 1.2.0, kept for rollback → release 1.4.0 lands on blue, no
//! colour runs 1.2.0 → V1.3.1 applies.

use bluegreen_acceptance::harness::local_platform::workspace_binary;
use bluegreen_acceptance::harness::postgres::psql;
use bluegreen_acceptance::harness::terraform::repo_root;
use bluegreen_acceptance::harness::{announce, on_every_cli, LocalFixture, Workspace};

use crate::{
    bluegreen, expect_match, first_error, fresh_db, history, migration_block, plan_exits, SqlDir,
    ADDRESS,
};

// The watch keeps its default thresholds (max_error_rate 0.01): on Terraform
// 1.0.3 that once showed a perpetual `0.01 -> 0.01` diff, so the final empty
// plan of this story also guards the number encoding.
fn config(fx: &LocalFixture, url: &str, sql: &SqlDir, release: &str, schema: &str) -> String {
    let app = workspace_binary("agog-demo-app");
    fx.config(&format!(
        "{}\nresource \"bluegreen_environment\" \"api\" {{\n  name    = \"{}\"\n  version = \"{release}\"\n\n  local {{\n    command       = [\"{}\", \"--port\", \"{{port}}\", \"--version\", \"{{version}}\", \"--color\", \"{{color}}\"]\n    listen        = \"127.0.0.1:{}\"\n    drain_timeout = \"1s\"\n  }}\n\n  health_check {{\n    interval          = \"200ms\"\n    timeout           = \"1s\"\n    healthy_threshold = 2\n    deadline          = \"5s\"\n  }}\n\n  post_switch {{\n    window = \"1s\"\n  }}\n\n  depends_on = [bluegreen_migration.db]\n}}\n",
        migration_block(
            url,
            sql,
            &format!("  environment    = \"{}\"\n  target_version = \"{schema}\"\n", fx.name),
        ),
        fx.name,
        app.display(),
        fx.front_port,
    ))
}

fn colours(fx: &LocalFixture) -> String {
    let s = fx.status();
    format!(
        "live {} (blue {}, green {})",
        s["routing"]["primary"].as_str().unwrap_or("?"),
        s["colors"]["blue"]["version"].as_str().unwrap_or("-"),
        s["colors"]["green"]["version"].as_str().unwrap_or("-"),
    )
}

fn nullable(url: &str) -> String {
    psql(
        url,
        "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'customers' AND column_name = 'preferences'",
    )
}

#[test]
fn seed_story_end_to_end() {
    on_every_cli("migration_seed_story", |tf| {
        let test = "migration_seed_story";
        let url = fresh_db("seed", tf);
        let fx = LocalFixture::new(test, tf, "api");
        let ws = Workspace::new(test, tf, &bluegreen());
        let sql = SqlDir::new(&ws);
        sql.copy_from(&repo_root().join("examples/migrations/sql"));
        let step = |release: &str, schema: &str| {
            ws.write_config(&config(&fx, &url, &sql, release, schema));
        };
        let say = |what: &str| {
            announce(&format!(
                "acceptance: {test} on Terraform v{}: {what}: {}",
                tf.version_string(),
                colours(&fx)
            ));
        };

        step("1.2.0", "1.2.0");
        ws.init();
        ws.apply();
        assert_eq!(ws.show().resource(ADDRESS).str("applied_version"), "1.2.0");
        say("1.2.0 live, schema 1.2.0");

        step("1.3.0", "1.3.0");
        let plan = plan_exits(&ws, 2, "release 1.3.0 with V1.3.0");
        expect_match(
            &ws,
            &plan,
            r#"class\s*=\s*"expand"[^{}]*script\s*=\s*"V1\.3\.0__add_customer_preferences\.sql""#,
        );
        ws.apply();
        assert_eq!(nullable(&url), "YES", "V1.3.0 added preferences (nullable)");
        let idx = psql(
            &url,
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_customers_preferences'",
        );
        assert_eq!(idx, "1", "V1.3.0's GIN index");
        say("1.3.0 released with V1.3.0");

        step("1.3.0", "1.3.1");
        let refused = plan_exits(&ws, 1, "V1.3.1 while blue still runs 1.2.0");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: {}",
            tf.version_string(),
            first_error(&refused)
        ));
        expect_match(
            &ws,
            &refused,
            r#"Error: Breaking migration V1\.3\.1__preferences_not_null\.sql refused"#,
        );
        expect_match(&ws, &refused, r"1\.2\.0");
        expect_match(&ws, &refused, r"(?i)blue");
        assert_eq!(nullable(&url), "YES", "a refused plan touched the database");

        // The next release lands on blue: no colour runs 1.2.0 any more.
        step("1.4.0", "1.3.0");
        ws.apply();
        say("1.4.0 released");

        step("1.4.0", "1.3.1");
        let plan = plan_exits(&ws, 2, "V1.3.1 once no colour runs 1.2.0");
        expect_match(
            &ws,
            &plan,
            r#"class\s*=\s*"contract"[^{}]*script\s*=\s*"V1\.3\.1__preferences_not_null\.sql""#,
        );
        ws.apply();
        assert_eq!(nullable(&url), "NO", "V1.3.1 set preferences NOT NULL");
        assert_eq!(ws.show().resource(ADDRESS).str("applied_version"), "1.3.1");
        ws.assert_plan_empty("after V1.3.1");
        let rows = history(&url);
        ws.destroy();
        assert_eq!(history(&url), rows, "destroy never touches the database");
        assert_eq!(nullable(&url), "NO");
    });
}
