//! Arbitrary bytes as cty JSON against schema-like types: the decoders must
//! return Ok or Err and never panic, and what they accept must survive
//! re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfplugin::value::{decode_json, decode_json_lenient, encode_json};
use tfplugin_fuzz::schema;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let ty = schema(selector);
    let strict = decode_json(payload, &ty);
    let lenient = decode_json_lenient(payload, &ty);
    if let (Ok(a), Ok(b)) = (&strict, &lenient) {
        assert!(
            a.semantically_equal(b),
            "lenient decoding differs on a strict-valid document"
        );
    }
    if strict.is_ok() && lenient.is_err() {
        panic!("lenient decoding refused a document strict decoding accepted");
    }
    let Ok(value) = lenient else {
        return;
    };
    // JSON holds no unknowns, so every decoded value must encode again.
    let bytes = match encode_json(&value, &ty) {
        Ok(bytes) => bytes,
        Err(e) => panic!("decoded value does not re-encode: {e}\n{value:?}"),
    };
    match decode_json(&bytes, &ty) {
        Ok(back) => assert!(
            back.semantically_equal(&value),
            "round trip changed {value:?} into {back:?}"
        ),
        Err(e) => panic!("re-encoded value does not decode: {e}\n{value:?}"),
    }
});
