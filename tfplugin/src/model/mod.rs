//! Typed models: Rust structs read from and written to cty object values in
//! one place per type, instead of string-keyed lookups spread through a
//! provider.
//!
//! A model is declared with [`model!`](crate::model!), which derives the
//! conversions from its field names (the attribute names) and lists those
//! names in [`Model::ATTRIBUTES`] so a test can hold them to the schema.
//! [`Field`] keeps null and unknown apart, which plan-time values need.
//! Errors carry the attribute path (`health_check[0].deadline`) so that the
//! diagnostic a user sees names the attribute.

mod convert;
mod error;
mod field;
mod macros;

#[doc(hidden)]
pub use convert::object_attrs as __object_attrs;
pub use error::ModelError;
pub use field::Field;

use crate::diag::Diagnostic;
use crate::schema::Block;
use crate::value::{AttributePath, Value};

/// Read from a value; `path` is where the value sits, for errors.
pub trait FromValue: Sized {
    /// Converts `value`, or says at which path it has the wrong shape.
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError>;
}

/// Written back to a value.
pub trait IntoValue {
    /// The cty value.
    fn into_value(self) -> Value;
}

/// A struct standing for an object value (a schema block).
pub trait Model: FromValue + IntoValue {
    /// The attribute and nested block names it reads and writes.
    const ATTRIBUTES: &'static [&'static str];
}

/// Reads a whole config, plan or state value into `M`; a value of the wrong
/// shape becomes an error diagnostic at its attribute path.
pub fn decode<M: FromValue>(value: &Value) -> Result<M, Diagnostic> {
    M::from_value(value, &AttributePath::root()).map_err(Diagnostic::from)
}

/// Names the schema block has and the model lacks (they would be dropped on
/// a round trip) and names the model has that the block lacks, each sorted;
/// both empty when the model covers the block exactly.
pub fn coverage<M: Model>(block: &Block) -> (Vec<String>, Vec<String>) {
    let schema: Vec<&str> = block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(block.blocks.iter().map(|b| b.name.as_str()))
        .collect();
    let mut missing: Vec<String> = schema
        .iter()
        .filter(|n| !M::ATTRIBUTES.contains(n))
        .map(|n| n.to_string())
        .collect();
    let mut extra: Vec<String> = M::ATTRIBUTES
        .iter()
        .filter(|n| !schema.contains(n))
        .map(|n| n.to_string())
        .collect();
    missing.sort();
    extra.sort();
    (missing, extra)
}

#[cfg(test)]
mod tests;
