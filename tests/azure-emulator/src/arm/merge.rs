//! PATCH semantics: objects merge key by key, arrays and scalars replace, and
//! null leaves a property as it was (ARM resource providers ignore nulls in
//! PATCH bodies rather than deleting, unlike RFC 7386).

use serde_json::Value;

/// Merges `patch` into `target`.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    continue;
                }
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) if !p.is_null() => *t = p.clone(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::merge;
    use serde_json::json;

    #[test]
    fn objects_merge_arrays_replace_nulls_keep() {
        let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut doc, &json!({"a": {"c": [3]}, "d": null, "e": true}));
        assert_eq!(doc, json!({"a": {"b": 1, "c": [3]}, "d": "x", "e": true}));
    }
}
