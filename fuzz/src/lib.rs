//! Schema-like types the fuzz targets decode against.
//!
//! The first input byte picks one, so that a single corpus explores both the
//! shapes a provider really receives and the type-driven corner cases.

use tfplugin::Type;

/// How many types [`schema`] chooses among.
pub const SCHEMAS: u8 = 8;

/// The type selected by `selector` (taken modulo [`SCHEMAS`]).
pub fn schema(selector: u8) -> Type {
    match selector % SCHEMAS {
        0 => provider_config(),
        1 => Type::Dynamic,
        2 => Type::list(Type::Dynamic),
        3 => Type::map(Type::object([
            ("a", Type::Number),
            ("b", Type::set(Type::String)),
        ])),
        4 => Type::String,
        5 => Type::Number,
        6 => Type::Tuple(vec![Type::Bool, Type::Number, Type::String, Type::Dynamic]),
        _ => {
            // Deep enough to reach the nesting limit with dynamic values inside.
            let mut ty = Type::Dynamic;
            for _ in 0..8 {
                ty = Type::list(ty);
            }
            Type::object([("deep", ty), ("flag", Type::Bool)])
        }
    }
}

/// Shaped like this provider's configuration and resources: nested blocks
/// (lists and sets of objects), maps, tuples and dynamic attributes.
fn provider_config() -> Type {
    let local = Type::object([
        ("endpoint", Type::String),
        ("state_dir", Type::String),
        ("autostart", Type::Bool),
        ("command", Type::list(Type::String)),
        ("env", Type::map(Type::String)),
        ("drain_timeout", Type::Number),
    ]);
    let azure = Type::object([
        ("subscription_id", Type::String),
        ("tenant_id", Type::String),
        ("client_secret", Type::String),
        ("environment", Type::String),
        ("use_oidc", Type::Bool),
    ]);
    let smoke_test = Type::object([
        ("name", Type::String),
        ("path", Type::String),
        ("expect_status", Type::Number),
        ("body_contains", Type::String),
    ]);
    Type::object([
        ("id", Type::String),
        ("version", Type::String),
        ("local", Type::list(local)),
        ("azure", Type::list(azure)),
        ("smoke_test", Type::set(smoke_test)),
        ("tags", Type::map(Type::String)),
        ("weights", Type::Tuple(vec![Type::String, Type::Number])),
        ("tenants", Type::set(Type::String)),
        (
            "colors",
            Type::map(Type::object([
                ("version", Type::String),
                ("healthy", Type::Bool),
            ])),
        ),
        ("extra", Type::Dynamic),
    ])
}
