//! Property tests of the cty value codecs: values of arbitrary types survive
//! msgpack (and, when wholly known, JSON) unchanged, and no input, however
//! hostile, makes a decoder panic.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use tfplugin::value::{
    decode_json, decode_json_lenient, decode_msgpack, encode_json, encode_msgpack,
};
use tfplugin::{Number, Type, Value};

/// Types up to four levels deep, with `dynamic` among the leaves.
fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic)
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z_]{1,8}", inner.clone(), 0..5).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// Concrete types for what sits behind a dynamic position (kept small so
/// that nested dynamic values stay cheap to generate).
fn arb_small_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic)
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z]{1,4}", inner.clone(), 0..3).prop_map(Type::Object),
            vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

/// Ints, finite floats, and numbers only their decimal text holds.
fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Number::Float),
        (-1e6f64..1e6).prop_map(Number::Float),
        "-?[1-9][0-9]{19,40}".prop_map(Number::Big),
        "-?[0-9]\\.[0-9]{18,30}[1-9]".prop_map(Number::Big),
    ]
}

/// A value conforming to `ty`; nulls anywhere, unknowns anywhere when
/// `unknowns`, and dynamic positions holding wrapped or plain values.
fn arb_value(ty: &Type, unknowns: bool, dyn_budget: u32) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::List(e) => vec(arb_value(e, unknowns, dyn_budget), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => vec(arb_value(e, unknowns, dyn_budget), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => btree_map(".{0,6}", arb_value(e, unknowns, dyn_budget), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => {
            let attrs: Vec<_> = attrs
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    arb_value(t, unknowns, dyn_budget).prop_map(move |v| (name.clone(), v))
                })
                .collect();
            attrs
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<BTreeMap<_, _>>()))
                .boxed()
        }
        Type::Tuple(elems) => {
            let elems: Vec<_> = elems
                .iter()
                .map(|t| arb_value(t, unknowns, dyn_budget))
                .collect();
            elems.prop_map(Value::Tuple).boxed()
        }
        Type::Dynamic => {
            let plain = prop_oneof![
                any::<bool>().prop_map(Value::Bool),
                arb_number().prop_map(Value::Number),
                any::<String>().prop_map(Value::String),
            ];
            if dyn_budget == 0 {
                plain.boxed()
            } else {
                let wrapped = arb_small_type().prop_flat_map(move |t| {
                    arb_value(&t, unknowns, dyn_budget - 1)
                        .prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v)))
                });
                prop_oneof![1 => plain, 3 => wrapped].boxed()
            }
        }
    };
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 7 => known].boxed()
    }
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |ty| {
        let value = arb_value(&ty, unknowns, 2);
        (Just(ty), value)
    })
}

/// Type-shaped byte soup: valid encodings with bytes flipped or cut off.
fn mangled_msgpack() -> impl Strategy<Value = (Type, Vec<u8>)> {
    (
        typed_value(true),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_filter_map("encodable", |((ty, value), flips, cut)| {
            let mut bytes = encode_msgpack(&value, &ty).ok()?;
            for (at, byte) in flips {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep.max(bytes.len().saturating_sub(2)));
            Some((ty, bytes))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trips((ty, value) in typed_value(true)) {
        let bytes = encode_msgpack(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode_msgpack(&bytes, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(back.semantically_equal(&value), "{value:?}\n  became\n{back:?}");
        // A decoded value encodes again to the same value.
        let again = encode_msgpack(&back, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back_again = decode_msgpack(&again, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(back_again.semantically_equal(&back));
    }

    #[test]
    fn json_round_trips_known_values((ty, value) in typed_value(false)) {
        let bytes = encode_json(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // The output is JSON any parser accepts.
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
        let back = decode_json(&bytes, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(back.semantically_equal(&value), "{value:?}\n  became\n{back:?}");
        let lenient = decode_json_lenient(&bytes, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(lenient.semantically_equal(&value));
    }

    #[test]
    fn json_refuses_unknowns((ty, value) in typed_value(true)) {
        if !value.is_wholly_known() {
            prop_assert!(encode_json(&value, &ty).is_err());
        }
    }

    #[test]
    fn decoders_never_panic_on_bytes(ty in arb_type(), bytes in vec(any::<u8>(), 0..96)) {
        let _ = decode_msgpack(&bytes, &ty);
        let _ = decode_json(&bytes, &ty);
        let _ = decode_json_lenient(&bytes, &ty);
    }

    #[test]
    fn decoders_never_panic_on_mangled_encodings((ty, bytes) in mangled_msgpack()) {
        if let Ok(value) = decode_msgpack(&bytes, &ty) {
            // Whatever decodes is a value of the type: it encodes again.
            prop_assert!(encode_msgpack(&value, &ty).is_ok());
        }
    }

    #[test]
    fn decoders_never_panic_on_json_like_text(ty in arb_type(), text in "[\\[\\]{}\",:0-9a-z\\\\. e+-]{0,64}") {
        let _ = decode_json(text.as_bytes(), &ty);
        let _ = decode_json_lenient(text.as_bytes(), &ty);
    }
}
