//! The state as `terraform show -json` prints it, with lookups by resource
//! address and attribute path.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// A parsed `terraform show -json`.
#[derive(Debug, Clone)]
pub struct State {
    json: Json,
}

/// One resource instance in a [`State`].
#[derive(Debug, Clone, Copy)]
pub struct ResourceState<'a> {
    /// Its address, e.g. `bgtest_thing.a` or `data.bgtest_echo.e`.
    pub address: &'a str,
    /// Its attribute values (sensitive ones in clear text).
    pub values: &'a Json,
}

impl State {
    /// Parses the output of `terraform show -json`.
    pub fn parse(text: &str) -> Result<State, serde_json::Error> {
        serde_json::from_str(text).map(|json| State { json })
    }

    /// The raw document.
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// Every resource instance, in the root module and all child modules.
    pub fn resources(&self) -> Vec<ResourceState<'_>> {
        fn walk<'a>(module: &'a Json, out: &mut Vec<ResourceState<'a>>) {
            for r in module["resources"].as_array().into_iter().flatten() {
                if let Some(address) = r["address"].as_str() {
                    out.push(ResourceState {
                        address,
                        values: &r["values"],
                    });
                }
            }
            for child in module["child_modules"].as_array().into_iter().flatten() {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.json["values"]["root_module"], &mut out);
        out
    }

    /// Addresses of all resource instances.
    pub fn addresses(&self) -> Vec<String> {
        self.resources()
            .iter()
            .map(|r| r.address.to_string())
            .collect()
    }

    /// Addresses of managed resources (not data sources).
    pub fn managed_addresses(&self) -> Vec<String> {
        self.addresses()
            .into_iter()
            .filter(|a| !a.starts_with("data.") && !a.contains(".data."))
            .collect()
    }

    /// The resource at `address`, if present.
    pub fn get(&self, address: &str) -> Option<ResourceState<'_>> {
        self.resources().into_iter().find(|r| r.address == address)
    }

    /// The resource at `address`; panics, listing what is there, when absent.
    pub fn resource(&self, address: &str) -> ResourceState<'_> {
        self.get(address)
            .unwrap_or_else(|| panic!("no {address} in state; it holds {:?}", self.addresses()))
    }
}

impl<'a> ResourceState<'a> {
    /// The value at a dotted path (`name`, `tags.env`, `rule.0.out`,
    /// `settings.mode`); `None` when the path leads nowhere.
    pub fn get(&self, path: &str) -> Option<&'a Json> {
        let mut cur = self.values;
        for step in path.split('.') {
            cur = match cur {
                Json::Object(m) => m.get(step)?,
                Json::Array(items) => items.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The value at `path`; panics when the path leads nowhere.
    pub fn attr(&self, path: &str) -> &'a Json {
        self.get(path)
            .unwrap_or_else(|| panic!("{} has no attribute {path}: {}", self.address, self.values))
    }

    /// The string at `path`; panics when it is not a string.
    pub fn str(&self, path: &str) -> &'a str {
        let v = self.attr(path);
        v.as_str()
            .unwrap_or_else(|| panic!("{}.{path} is {v}, not a string", self.address))
    }

    /// True when `path` is null (or absent).
    pub fn is_null(&self, path: &str) -> bool {
        self.get(path).is_none_or(Json::is_null)
    }

    /// All attributes flattened to `path → JSON text`, with `#` (length) and
    /// `%` (size) entries for lists and objects, as terraform-plugin-testing
    /// compares imported state.
    pub fn flatten(&self) -> BTreeMap<String, String> {
        fn walk(prefix: &str, v: &Json, out: &mut BTreeMap<String, String>) {
            let key = |k: &str| {
                if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                }
            };
            match v {
                Json::Object(m) => {
                    if !prefix.is_empty() {
                        out.insert(key("%"), m.len().to_string());
                    }
                    for (k, v) in m {
                        walk(&key(k), v, out);
                    }
                }
                Json::Array(items) => {
                    out.insert(key("#"), items.len().to_string());
                    for (i, v) in items.iter().enumerate() {
                        walk(&key(&i.to_string()), v, out);
                    }
                }
                other => {
                    out.insert(prefix.to_string(), other.to_string());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk("", self.values, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = r#"{"format_version":"1.0","values":{"root_module":{"resources":[
        {"address":"bgtest_thing.a","mode":"managed","values":{"id":"x","tags":{"k":"v"},"rule":[{"key":"a","out":"a="}],"settings":{"mode":"fast"}}},
        {"address":"data.bgtest_echo.e","mode":"data","values":{"input":"i","output":"i"}}]}}}"#;

    #[test]
    fn looks_up_paths() {
        let state = State::parse(SHOW).unwrap();
        let a = state.resource("bgtest_thing.a");
        assert_eq!(a.str("id"), "x");
        assert_eq!(a.str("tags.k"), "v");
        assert_eq!(a.str("rule.0.out"), "a=");
        assert_eq!(a.str("settings.mode"), "fast");
        assert!(a.get("rule.1").is_none());
        assert_eq!(
            state.managed_addresses(),
            vec!["bgtest_thing.a".to_string()]
        );
        let flat = a.flatten();
        assert_eq!(flat["rule.#"], "1");
        assert_eq!(flat["tags.%"], "1");
        assert_eq!(flat["rule.0.key"], "\"a\"");
    }

    #[test]
    fn empty_state_has_no_resources() {
        let state = State::parse(r#"{"format_version":"1.0"}"#).unwrap();
        assert!(state.addresses().is_empty());
    }
}
