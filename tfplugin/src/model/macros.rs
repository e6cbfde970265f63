//! `model!`: a struct and its conversions from one declaration.

/// Declares a struct whose fields are the attributes of an object value, with
/// [`FromValue`](crate::model::FromValue), [`IntoValue`](crate::model::IntoValue)
/// and [`Model`](crate::model::Model) derived from the field names, which are
/// the attribute names. An absent attribute reads as null; every field is
/// written back, so a model that covers its schema block round-trips it.
///
/// ```
/// use tfplugin::model::{decode, Field};
/// tfplugin::model! {
///     /// A health check block.
///     #[derive(Debug, Clone, Default)]
///     pub struct Check {
///         /// Path probed.
///         pub path: Field<String>,
///         /// Probes in a row.
///         pub threshold: Field<i64>,
///     }
/// }
/// let v = tfplugin::Value::object([("path", tfplugin::Value::from("/health"))]);
/// let c: Check = decode(&v).unwrap();
/// assert_eq!(c.path.as_deref(), Some("/health"));
/// assert!(c.threshold.is_null());
/// ```
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$fmeta])*
                $fvis $field: $ty,
            )*
        }

        impl $crate::model::FromValue for $name {
            fn from_value(
                value: &$crate::Value,
                path: &$crate::AttributePath,
            ) -> ::std::result::Result<Self, $crate::model::ModelError> {
                static NULL: $crate::Value = $crate::Value::Null;
                let attrs = $crate::model::__object_attrs(value, path)?;
                ::std::result::Result::Ok(Self {
                    $(
                        $field: <$ty as $crate::model::FromValue>::from_value(
                            attrs.get(stringify!($field)).unwrap_or(&NULL),
                            &path.clone().then_attr(stringify!($field)),
                        )?,
                    )*
                })
            }
        }

        impl $crate::model::IntoValue for $name {
            fn into_value(self) -> $crate::Value {
                $crate::Value::object([
                    $(
                        (
                            stringify!($field),
                            $crate::model::IntoValue::into_value(self.$field),
                        ),
                    )*
                ])
            }
        }

        impl $crate::model::Model for $name {
            const ATTRIBUTES: &'static [&'static str] = &[$(stringify!($field)),*];
        }
    };
}
