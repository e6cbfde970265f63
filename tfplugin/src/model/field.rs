//! An attribute that may be null or not yet known.

use super::{FromValue, IntoValue, ModelError};
use crate::value::{AttributePath, Value};

/// An attribute as Terraform holds it: null (unset), unknown (known only at
/// apply; any config value during validate, computed ones in a plan), or known.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    /// Unset.
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
    /// Known.
    Known(T),
}

impl<T> Field<T> {
    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }
    /// The value when known, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }
    /// Mutable access to the value when known.
    pub fn known_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }
    /// True when null.
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }
    /// True when unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }
    /// Known from `Some`, null from `None`.
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Field::Null, Field::Known)
    }
    /// The known value converted, null and unknown kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(v) => Field::Known(f(v)),
        }
    }
}

impl Field<String> {
    /// The string when known.
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

impl<T> From<T> for Field<T> {
    fn from(v: T) -> Self {
        Field::Known(v)
    }
}

impl<T: FromValue> FromValue for Field<T> {
    fn from_value(value: &Value, path: &AttributePath) -> Result<Self, ModelError> {
        match value.inner() {
            Value::Null => Ok(Field::Null),
            Value::Unknown => Ok(Field::Unknown),
            _ => T::from_value(value, path).map(Field::Known),
        }
    }
}

impl<T: IntoValue> IntoValue for Field<T> {
    fn into_value(self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(v) => v.into_value(),
        }
    }
}
