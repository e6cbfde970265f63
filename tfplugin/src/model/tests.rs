use std::collections::BTreeMap;

use super::*;
use crate::schema::{Attribute, NestedBlock};
use crate::value::{Number, Type};

crate::model! {
    /// A nested block.
    #[derive(Debug, Clone, PartialEq, Default)]
    struct Probe {
        path: Field<String>,
        deadline: Field<String>,
    }
}

crate::model! {
    /// A resource with one of each kind of attribute.
    #[derive(Debug, Clone, PartialEq, Default)]
    struct Thing {
        name: String,
        weight: Field<Number>,
        enabled: Option<bool>,
        tags: Field<Vec<Field<String>>>,
        env: Field<BTreeMap<String, String>>,
        health_check: Vec<Probe>,
        timeouts: Value,
    }
}

fn thing() -> Value {
    Value::object([
        ("name", Value::from("api")),
        // Not a double: must come back as written.
        ("weight", Value::Number(Number::Big("0.01".into()))),
        ("enabled", Value::Null),
        ("tags", Value::List(vec![Value::from("a"), Value::Unknown])),
        (
            "env",
            Value::Map([("K".to_string(), Value::from("v"))].into_iter().collect()),
        ),
        (
            "health_check",
            Value::List(vec![Value::object([
                ("path", Value::from("/health")),
                ("deadline", Value::Unknown),
            ])]),
        ),
        ("timeouts", Value::object([("create", Value::from("5m"))])),
    ])
}

#[test]
fn a_model_round_trips_its_value() {
    let t: Thing = decode(&thing()).unwrap();
    assert_eq!(t.name, "api");
    assert_eq!(t.tags.known().map(Vec::len), Some(2));
    assert_eq!(t.health_check[0].path.as_deref(), Some("/health"));
    assert_eq!(t.into_value(), thing());
}

#[test]
fn null_and_unknown_stay_apart() {
    let t: Thing = decode(&thing()).unwrap();
    assert!(t.health_check[0].deadline.is_unknown());
    assert!(t.enabled.is_none());
    let tags = t.tags.known().unwrap();
    assert_eq!(tags[1], Field::Unknown);
    let mut v = thing();
    v.set("tags", Value::Null);
    let t: Thing = decode(&v).unwrap();
    assert!(t.tags.is_null());
    v.set("tags", Value::Unknown);
    let t: Thing = decode(&v).unwrap();
    assert!(t.tags.is_unknown());
    assert_eq!(t.into_value().get("tags"), &Value::Unknown);
}

#[test]
fn an_absent_attribute_reads_as_null() {
    let t: Probe = decode(&Value::object([("path", Value::from("/"))])).unwrap();
    assert!(t.deadline.is_null());
}

#[test]
fn a_wrong_type_names_its_path() {
    let mut v = thing();
    let mut hc = v.get("health_check").clone();
    if let Value::List(items) = &mut hc {
        items[0].set("deadline", Value::int(3));
    }
    v.set("health_check", hc);
    let err = decode::<Thing>(&v).unwrap_err();
    assert_eq!(
        err.path,
        Some(AttributePath::parse("health_check[0].deadline"))
    );
    assert!(
        err.detail.contains("expected a string, found a number"),
        "{err}"
    );

    let mut v = thing();
    v.set(
        "env",
        Value::Map([("K".to_string(), Value::Bool(true))].into()),
    );
    let err = Thing::from_value(&v, &AttributePath::root()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "env[\"K\"]: expected a string, found a bool"
    );
}

#[test]
fn unknown_is_an_error_where_a_field_cannot_hold_it() {
    let mut v = thing();
    v.set("enabled", Value::Unknown);
    let err = Thing::from_value(&v, &AttributePath::root()).unwrap_err();
    assert_eq!(err.path, AttributePath::attr("enabled"));
    assert_eq!(err.found, "an unknown value");
    let err = Thing::from_value(&Value::Null, &AttributePath::root()).unwrap_err();
    assert_eq!(err.to_string(), "expected an object, found null");
}

#[test]
fn whole_numbers_are_checked() {
    let p = AttributePath::attr("n");
    assert_eq!(i64::from_value(&Value::int(7), &p), Ok(7));
    let err = i64::from_value(&Value::float(1.5), &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "n: expected a whole number, found a number"
    );
}

#[test]
fn coverage_finds_what_a_model_would_drop() {
    let block = Block::new()
        .attr(Attribute::string("path").required())
        .attr(Attribute::new("deadline", Type::String).optional())
        .attr(Attribute::string("expect").optional());
    assert_eq!(
        coverage::<Probe>(&block),
        (vec!["expect".to_string()], vec![])
    );
    let block = Block::new()
        .attr(Attribute::string("path").required())
        .block(NestedBlock::single("deadline", Block::new()))
        .block(NestedBlock::single("other", Block::new()));
    assert_eq!(
        coverage::<Probe>(&block),
        (vec!["other".to_string()], vec![])
    );
    let block = Block::new().attr(Attribute::string("path").required());
    assert_eq!(
        coverage::<Probe>(&block),
        (vec![], vec!["deadline".to_string()])
    );
}
