//! Arbitrary bytes against schema-like types: the decoder must return Ok or
//! Err and never panic, and what it accepts must survive re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfplugin::value::{decode_msgpack, encode_msgpack};
use tfplugin_fuzz::schema;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let ty = schema(selector);
    let Ok(value) = decode_msgpack(payload, &ty) else {
        return;
    };
    // A decoded value is a value of its type, so it must encode and decode
    // back to itself: anything else is a codec bug worth a crash report.
    let bytes = match encode_msgpack(&value, &ty) {
        Ok(bytes) => bytes,
        Err(e) => panic!("decoded value does not re-encode: {e}\n{value:?}"),
    };
    match decode_msgpack(&bytes, &ty) {
        Ok(back) => assert!(
            back.semantically_equal(&value),
            "round trip changed {value:?} into {back:?}"
        ),
        Err(e) => panic!("re-encoded value does not decode: {e}\n{value:?}"),
    }
});
