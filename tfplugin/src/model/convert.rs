//! Conversions for the types attributes hold.

use std::collections::BTreeMap;

use super::{FromValue, IntoValue, ModelError};
use crate::value::{AttributePath, Number, Value};

impl FromValue for Value {
    fn from_value(value: &Value, _path: &AttributePath) -> Result<Self, ModelError> {
        Ok(value.clone())
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl FromValue for String {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ModelError::new(path, "a string", value))
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        value
            .as_bool()
            .ok_or_else(|| ModelError::new(path, "a bool", value))
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

/// A number as Terraform wrote it. Use this, not `f64`, for a number that goes
/// back to Terraform: 0.01 is not a double, and Terraform 1.0 compares exactly.
impl FromValue for Number {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        value
            .as_number()
            .cloned()
            .ok_or_else(|| ModelError::new(path, "a number", value))
    }
}

impl IntoValue for Number {
    fn into_value(self) -> Value {
        Value::Number(self)
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        value
            .as_i64()
            .ok_or_else(|| ModelError::new(path, "a whole number", value))
    }
}

impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::int(self)
    }
}

/// Lossy for decimals such as 0.01: read with it, never write it back.
impl FromValue for f64 {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        value
            .as_f64()
            .ok_or_else(|| ModelError::new(path, "a number", value))
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::float(self)
    }
}

/// Null is `None`; unknown is an error (use [`super::Field`] where a value may
/// be unknown).
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        if value.is_null() {
            Ok(None)
        } else {
            T::from_value(value, path).map(Some)
        }
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}

/// A list, set or tuple; written back as a list.
impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        let items = value
            .as_seq()
            .ok_or_else(|| ModelError::new(path, "a list", value))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_value(item, &path.clone().then_index(i as i64)))
            .collect()
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

/// A map (or an object, read as one); written back as a map.
impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        let entries = value
            .as_map()
            .ok_or_else(|| ModelError::new(path, "a map", value))?;
        entries
            .iter()
            .map(|(k, v)| Ok((k.clone(), T::from_value(v, &path.clone().then_key(k))?)))
            .collect()
    }
}

impl<T: IntoValue> IntoValue for BTreeMap<String, T> {
    fn into_value(self) -> Value {
        Value::Map(self.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

/// The attributes of an object value, for [`crate::model!`].
#[doc(hidden)]
pub fn object_attrs<'a>(
    value: &'a Value,
    path: &AttributePath,
) -> Result<&'a BTreeMap<String, Value>, ModelError> {
    match value.inner() {
        Value::Object(m) => Ok(m),
        _ => Err(ModelError::new(path, "an object", value)),
    }
}
