//! `bluegreen_migration` through the provider's Resource interface, the way
//! Terraform drives it: plan (with the generic rules first), apply, read,
//! plan again, import, destroy; against PostgreSQL and SQLite.

mod support;

use std::path::Path;
use std::sync::Arc;

use terraform_provider_bluegreen::migrate::checksum::flyway_checksum;
use terraform_provider_bluegreen::provider::BlueGreenProvider;
use terraform_provider_bluegreen::resources::migration::import_state;
use tfplugin::diag::Diagnostics;
use tfplugin::plan::base_plan;
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, Provider, Resource};
use tfplugin::Value;

fn resource() -> Arc<dyn Resource> {
    BlueGreenProvider::new()
        .resources()
        .into_iter()
        .find(|r| r.type_name() == "bluegreen_migration")
        .expect("bluegreen_migration is registered")
}

fn seed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/migrations/sql")
}

/// A configuration: every attribute present, computed ones null.
fn config(url: &str, dir: &Path, extra: &[(&str, Value)]) -> Value {
    let schema = resource().schema();
    let mut v = Value::Object(Default::default());
    for (attr, _) in schema.value_type().object_attrs().into_iter().flatten() {
        v.set(attr, Value::Null);
    }
    v.set("database_url", Value::from(url));
    v.set("source_dir", Value::from(dir.display().to_string()));
    for (k, val) in extra {
        v.set(k, val.clone());
    }
    v
}

/// What Terraform proposes: config values, prior computed values kept.
fn proposed(prior: &Value, config: &Value) -> Value {
    let schema = resource().schema();
    let mut p = config.clone();
    if !prior.is_null() {
        for attr in &schema.block.attributes {
            if attr.computed && config.get(&attr.name).is_null() {
                p.set(&attr.name, prior.get(&attr.name).clone());
            }
        }
    }
    p
}

struct Planned {
    planned: Value,
    diags: Diagnostics,
}

async fn plan(r: &dyn Resource, prior: &Value, config: &Value) -> Planned {
    let ctx = Ctx::detached();
    let base = base_plan(&r.schema(), prior, &proposed(prior, config), config);
    let resp = r
        .plan(
            &ctx,
            PlanRequest {
                prior,
                config,
                prior_private: &[],
            },
            base,
        )
        .await;
    Planned {
        planned: resp.planned,
        diags: resp.diagnostics,
    }
}

async fn apply(
    r: &dyn Resource,
    prior: &Value,
    planned: &Value,
    config: &Value,
) -> (Value, Diagnostics) {
    let ctx = Ctx::detached();
    let req = ApplyRequest {
        prior,
        planned,
        config,
        private: &[],
    };
    let resp = if prior.is_null() {
        r.create(&ctx, req).await
    } else {
        r.update(&ctx, req).await
    };
    (resp.state, resp.diagnostics)
}

async fn read(r: &dyn Resource, state: &Value) -> (Value, Diagnostics) {
    let resp = r.read(&Ctx::detached(), state, &[]).await;
    (resp.state, resp.diagnostics)
}

fn errors(d: &Diagnostics) -> Vec<String> {
    d.0.iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect()
}

fn versions_and_classes(list: &Value) -> Vec<String> {
    list.as_seq()
        .unwrap_or(&[])
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.get("version").as_str().unwrap_or("-"),
                e.get("class").as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test]
async fn seed_story_on_postgres_plan_apply_read_converge() {
    let r = resource();
    let url = support::postgres::fresh_database("resource").await;
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "V1.2.0__create_customers.sql",
        "V1.3.0__add_customer_preferences.sql",
        "V1.3.1__preferences_not_null.sql",
    ] {
        std::fs::copy(seed_dir().join(f), dir.path().join(f)).unwrap();
    }

    // Release 1.3.0: migrate up to V1.3.0; V1.3.1 stays pending.
    let cfg = config(
        &url,
        dir.path(),
        &[("target_version", Value::from("1.3.0"))],
    );
    let p = plan(&*r, &Value::Null, &cfg).await;
    assert!(errors(&p.diags).is_empty(), "{:?}", p.diags);
    assert!(
        p.planned.is_wholly_known(),
        "everything is known at plan time: {:?}",
        p.planned
    );
    assert_eq!(p.planned.get("applied_version").as_str(), Some("1.3.0"));
    assert_eq!(
        versions_and_classes(p.planned.get("pending")),
        ["1.3.1 contract"]
    );
    assert_eq!(
        versions_and_classes(p.planned.get("applied")),
        ["1.2.0 expand", "1.3.0 expand"]
    );
    let reasons = p.planned.get("pending").as_seq().unwrap()[0]
        .get("reasons")
        .clone();
    assert_eq!(reasons.as_seq().unwrap()[0].as_str(), Some(
        "V1.3.1__preferences_not_null.sql:6: set-not-null: `ALTER COLUMN preferences SET NOT NULL` rejects the previous release's writes that leave the column null"
    ));
    assert!(
        p.diags
            .0
            .iter()
            .any(|d| !d.is_error() && d.summary.contains("V1.3.0__add_customer_preferences.sql")),
        "lint warnings: {:?}",
        p.diags
    );
    assert!(
        !p.planned
            .get("id")
            .as_str()
            .unwrap_or_default()
            .contains('@'),
        "no credentials in the id"
    );

    let (state, diags) = apply(&*r, &Value::Null, &p.planned, &cfg).await;
    assert!(errors(&diags).is_empty(), "{diags:?}");
    assert_eq!(state, p.planned, "apply returns the plan");
    let (refreshed, diags) = read(&*r, &state).await;
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(refreshed, state, "read reports the same truth");
    let again = plan(&*r, &refreshed, &cfg).await;
    assert!(errors(&again.diags).is_empty());
    assert_eq!(again.planned, refreshed, "empty plan after apply");

    // Next stage: all migrations. V1.3.1 is contract and no environment is set.
    let cfg_all = config(&url, dir.path(), &[]);
    let p = plan(&*r, &refreshed, &cfg_all).await;
    let errs = errors(&p.diags);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("Breaking migration V1.3.1__preferences_not_null.sql refused")
            && errs[0].contains("environment"),
        "{errs:?}"
    );
    assert_eq!(
        p.diags
            .0
            .iter()
            .find(|d| d.is_error())
            .and_then(|d| d.path.clone())
            .map(|p| p.to_string())
            .as_deref(),
        Some("allow_breaking")
    );

    // allow_breaking lets it through; the plan shows it leaving pending.
    let cfg_breaking = config(&url, dir.path(), &[("allow_breaking", Value::Bool(true))]);
    let p = plan(&*r, &refreshed, &cfg_breaking).await;
    assert!(errors(&p.diags).is_empty(), "{:?}", p.diags);
    assert_eq!(p.planned.get("applied_version").as_str(), Some("1.3.1"));
    assert_eq!(p.planned.get("pending"), &Value::List(vec![]));
    let (state, diags) = apply(&*r, &refreshed, &p.planned, &cfg_breaking).await;
    assert!(errors(&diags).is_empty(), "{diags:?}");
    let (refreshed, _) = read(&*r, &state).await;
    assert_eq!(refreshed, state);
    assert_eq!(
        versions_and_classes(refreshed.get("applied")),
        ["1.2.0 expand", "1.3.0 expand", "1.3.1 contract"]
    );

    // A new file shows as pending on refresh, and in the next plan.
    support::write_files(
        dir.path(),
        &[(
            "V1.4.0__add_email.sql",
            "ALTER TABLE customers ADD COLUMN email text;\n",
        )],
    );
    let (refreshed, _) = read(&*r, &refreshed).await;
    assert_eq!(
        versions_and_classes(refreshed.get("pending")),
        ["1.4.0 expand"]
    );
    let p = plan(&*r, &refreshed, &cfg_breaking).await;
    assert_eq!(p.planned.get("applied_version").as_str(), Some("1.4.0"));
    assert_ne!(p.planned, refreshed, "a change is planned");

    // Editing an applied file is a plan error naming the file and both checksums.
    let v130 = dir.path().join("V1.3.0__add_customer_preferences.sql");
    let before = std::fs::read(&v130).unwrap();
    std::fs::write(&v130, [before.as_slice(), b"-- edited\n"].concat()).unwrap();
    let p = plan(&*r, &refreshed, &cfg_breaking).await;
    let errs = errors(&p.diags);
    let (old, new) = (
        flyway_checksum(&before),
        flyway_checksum(&std::fs::read(&v130).unwrap()),
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("V1.3.0__add_customer_preferences.sql")
                && e.contains(&old.to_string())
                && e.contains(&new.to_string())),
        "{errs:?}"
    );

    // Destroy says the database stays as it is.
    let destroy = r.delete(&Ctx::detached(), &refreshed, &[]).await;
    assert!(
        destroy.0.iter().all(|d| !d.is_error()) && destroy.0[0].summary.contains("untouched"),
        "{destroy:?}"
    );
}

#[tokio::test]
async fn a_failed_apply_reports_file_line_and_keeps_the_truth() {
    let r = resource();
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("app.db").display());
    let dir = tempfile::tempdir().unwrap();
    support::write_files(
        dir.path(),
        &[("V1__base.sql", "CREATE TABLE base (id INTEGER);\n")],
    );
    let cfg = config(&url, dir.path(), &[]);
    let p = plan(&*r, &Value::Null, &cfg).await;
    let (state, diags) = apply(&*r, &Value::Null, &p.planned, &cfg).await;
    assert!(errors(&diags).is_empty(), "{diags:?}");

    support::write_files(
        dir.path(),
        &[(
            "V2__broken.sql",
            "CREATE TABLE half (id INTEGER);\n\nINSERT INTO nowhere VALUES (1);\n",
        )],
    );
    let (refreshed, _) = read(&*r, &state).await;
    let p = plan(&*r, &refreshed, &cfg).await;
    assert!(errors(&p.diags).is_empty(), "{:?}", p.diags);
    let (after, diags) = apply(&*r, &refreshed, &p.planned, &cfg).await;
    let errs = errors(&diags);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("V2__broken.sql:3")
            && errs[0].contains("no such table: nowhere")
            && errs[0].contains("no history row"),
        "{errs:?}"
    );
    assert_eq!(
        after.get("applied_version").as_str(),
        Some("1"),
        "state keeps what is really applied"
    );
    assert_eq!(versions_and_classes(after.get("pending")), ["2 expand"]);
}

#[tokio::test]
async fn unknown_inputs_plan_unknown_outputs() {
    let r = resource();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config("sqlite://x.db", dir.path(), &[]);
    cfg.set("database_url", Value::Unknown);
    let p = plan(&*r, &Value::Null, &cfg).await;
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    for attr in ["applied_version", "pending", "applied", "id"] {
        assert!(p.planned.get(attr).is_unknown(), "{attr}");
    }
}

#[tokio::test]
async fn diagnostics_never_show_the_password() {
    let r = resource();
    let dir = tempfile::tempdir().unwrap();
    support::write_files(dir.path(), &[("V1__t.sql", "SELECT 1;")]);
    let cfg = config(
        "postgres://app:Hunter2Secret@127.0.0.1:1/app",
        dir.path(),
        &[],
    );
    // Creating: the database may come with the same apply, so it is a warning.
    let p = plan(&*r, &Value::Null, &cfg).await;
    let text = format!("{:?}", p.diags);
    assert!(errors(&p.diags).is_empty() && !p.diags.is_empty(), "{text}");
    assert!(p.planned.get("pending").is_unknown());
    assert!(
        !text.contains("Hunter2Secret") && text.contains("127.0.0.1"),
        "{text}"
    );
    // Updating: an error, still without the password.
    let mut prior = cfg.clone();
    prior.set(
        "id",
        Value::from("postgres://127.0.0.1:1/app#flyway_schema_history"),
    );
    let p = plan(&*r, &prior, &cfg).await;
    let text = format!("{:?}", p.diags);
    assert!(!errors(&p.diags).is_empty(), "{text}");
    assert!(!text.contains("Hunter2Secret"), "{text}");
    let (_, diags) = read(&*r, &prior).await;
    assert!(diags.has_errors() && !format!("{diags:?}").contains("Hunter2Secret"));
    let bad = config("mysql://root:Hunter2Secret@db/app", dir.path(), &[]);
    let d = r.validate(&Ctx::detached(), &bad).await;
    assert!(
        d.has_errors() && !format!("{d:?}").contains("Hunter2Secret"),
        "{d:?}"
    );
}

#[tokio::test]
async fn validation_points_at_the_attribute() {
    let r = resource();
    let dir = tempfile::tempdir().unwrap();
    for (attr, value) in [
        ("history_table", "bad name"),
        ("target_version", "1.x"),
        ("lock_timeout", "soon"),
    ] {
        let cfg = config("sqlite://x.db", dir.path(), &[(attr, Value::from(value))]);
        let d = r.validate(&Ctx::detached(), &cfg).await;
        assert_eq!(d.0.len(), 1, "{attr}: {d:?}");
        assert_eq!(
            d.0[0].path.as_ref().map(ToString::to_string).as_deref(),
            Some(attr)
        );
    }
}

#[tokio::test]
async fn import_reads_the_url_from_the_named_variable() {
    let env = |name: &str| {
        (name == "TF_VAR_database_url")
            .then(|| "postgres://app:pw@db.internal:5432/app".to_string())
    };
    let state = import_state(
        "database_url_env=TF_VAR_database_url,source_dir=./migrations",
        &env,
    )
    .expect("import");
    assert_eq!(
        state.get("id").as_str(),
        Some("postgres://db.internal:5432/app#flyway_schema_history")
    );
    assert_eq!(state.get("source_dir").as_str(), Some("./migrations"));
    assert_eq!(
        state.get("history_table").as_str(),
        Some("flyway_schema_history")
    );
    assert_eq!(state.get("allow_breaking"), &Value::Bool(false));
    let err = import_state("database_url_env=UNSET,source_dir=m", &env).expect_err("unset");
    assert!(err.detail.contains("UNSET"));
    let err = import_state("migrations", &env).expect_err("format");
    assert!(err.detail.contains("database_url_env="), "{}", err.detail);
}

#[tokio::test]
async fn plan_for_destroy_warns_that_the_database_stays() {
    let r = resource();
    let dir = tempfile::tempdir().unwrap();
    let prior = config("sqlite://x.db", dir.path(), &[]);
    let base = base_plan(&r.schema(), &prior, &Value::Null, &Value::Null);
    let resp = r
        .plan(
            &Ctx::detached(),
            PlanRequest {
                prior: &prior,
                config: &Value::Null,
                prior_private: &[],
            },
            base,
        )
        .await;
    assert!(resp.planned.is_null());
    assert!(resp
        .diagnostics
        .0
        .iter()
        .any(|d| !d.is_error() && d.summary.contains("untouched")));
}

#[tokio::test]
async fn apply_runs_only_what_the_plan_showed() {
    let r = resource();
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("app.db").display());
    let dir = tempfile::tempdir().unwrap();
    support::write_files(
        dir.path(),
        &[("V1__a.sql", "CREATE TABLE a (id INTEGER);\n")],
    );
    let cfg = config(&url, dir.path(), &[]);
    let p = plan(&*r, &Value::Null, &cfg).await;
    // A file lands between plan and apply (a saved plan applied later).
    support::write_files(
        dir.path(),
        &[("V2__b.sql", "CREATE TABLE b (id INTEGER);\n")],
    );
    let (state, diags) = apply(&*r, &Value::Null, &p.planned, &cfg).await;
    assert!(errors(&diags).is_empty(), "{diags:?}");
    assert_eq!(state, p.planned);
    let (refreshed, _) = read(&*r, &state).await;
    assert_eq!(refreshed.get("applied_version").as_str(), Some("1"));
    assert_eq!(
        versions_and_classes(refreshed.get("pending")),
        ["2 expand"],
        "the next plan proposes it"
    );
}
