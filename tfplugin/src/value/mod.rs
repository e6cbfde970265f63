//! cty values and types, and their wire encodings.
//!
//! Terraform's type system (cty) is what crosses the wire: every config, plan
//! and state is a [`Value`] of an object [`Type`] implied by a schema block.

mod json;
mod msgpack;
mod path;
mod types;
#[allow(clippy::module_inception)]
mod value;

pub use json::{decode_json, decode_json_lenient, encode_json, JsonError};
pub use msgpack::{decode_msgpack, encode_msgpack, MsgpackError};
pub use path::{AttributePath, PathStep};
pub use types::{Type, TypeError};
pub use value::{Number, Value};

// The wording of a value's kind, shared by the codecs' and the models' errors.
pub(crate) use msgpack::kind;
