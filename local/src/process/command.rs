//! Expansion of an environment's command template for one colour.

use std::collections::BTreeMap;

use crate::api::Color;

/// Substitutes `{port}`, `{version}` and `{color}` in one template string.
pub fn expand(template: &str, port: u16, version: &str, color: Color) -> String {
    template
        .replace("{port}", &port.to_string())
        .replace("{version}", version)
        .replace("{color}", color.as_str())
}

/// Expands a whole command line.
pub fn expand_argv(template: &[String], port: u16, version: &str, color: Color) -> Vec<String> {
    template
        .iter()
        .map(|a| expand(a, port, version, color))
        .collect()
}

/// Expands environment variable values and adds `BLUEGREEN_{PORT,VERSION,COLOR}`.
pub fn expand_env(
    template: &BTreeMap<String, String>,
    port: u16,
    version: &str,
    color: Color,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = template
        .iter()
        .map(|(k, v)| (k.clone(), expand(v, port, version, color)))
        .collect();
    env.insert("BLUEGREEN_PORT".into(), port.to_string());
    env.insert("BLUEGREEN_VERSION".into(), version.to_owned());
    env.insert("BLUEGREEN_COLOR".into(), color.as_str().to_owned());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_every_placeholder() {
        let t = vec![
            "app".to_owned(),
            "--port={port}".to_owned(),
            "{version}-{color}-{other}".to_owned(),
        ];
        assert_eq!(
            expand_argv(&t, 8081, "1.3.0", Color::Green),
            ["app", "--port=8081", "1.3.0-green-{other}"]
        );
        let env = expand_env(
            &[("V".to_owned(), "{version}".to_owned())].into(),
            1,
            "2",
            Color::Blue,
        );
        assert_eq!(env["V"], "2");
        assert_eq!(env["BLUEGREEN_COLOR"], "blue");
    }
}
