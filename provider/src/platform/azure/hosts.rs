//! Where a host name is reached. Azure's names (`*.azurecontainerapps.io`
//! label addresses, the `*.azurefd.net` endpoint) resolve through public DNS
//! to one anycast address; a private network or the emulator maps them to
//! other URLs. `BLUEGREEN_AZURE_HOST_MAP` names a JSON file
//! `{"<host name>": ["http://127.0.0.1:PORT", …]}`: the first URL is where a
//! colour's gates and the endpoint go, and every URL of the endpoint is one
//! edge location the propagation probe asks. The file is read on each use,
//! so an emulator that opens new listeners is followed without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variable naming the host map file.
pub const HOST_MAP_VAR: &str = "BLUEGREEN_AZURE_HOST_MAP";

/// The base URLs that stand for `host`: the entries of the map in `file`
/// (None: the file `BLUEGREEN_AZURE_HOST_MAP` names, if any), else `https://host`.
pub fn urls_of(file: Option<&Path>, host: &str) -> Result<Vec<String>, String> {
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(HOST_MAP_VAR).map(PathBuf::from));
    Ok(lookup(&load(file)?, host))
}

/// The base URL a gate uses for `host`.
pub fn url_of(file: Option<&Path>, host: &str) -> Result<String, String> {
    Ok(urls_of(file, host)?
        .into_iter()
        .next()
        .unwrap_or_else(|| format!("https://{host}")))
}

fn load(path: Option<PathBuf>) -> Result<BTreeMap<String, Vec<String>>, String> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{HOST_MAP_VAR} names {}, which cannot be read: {e}; point it at a JSON file {{\"<host>\": [\"http://127.0.0.1:PORT\"]}} or unset it",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{HOST_MAP_VAR} file {} is not a JSON object of host names to lists of URLs: {e}",
            path.display()
        )
    })
}

fn lookup(map: &BTreeMap<String, Vec<String>>, host: &str) -> Vec<String> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(host))
        .map(|(_, urls)| {
            urls.iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .filter(|urls| !urls.is_empty())
        .unwrap_or_else(|| vec![format!("https://{host}")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_hosts_case_insensitive_and_unmapped_go_to_https() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("hosts.json");
        std::fs::write(
            &file,
            r#"{"EP.azurefd.net": ["http://127.0.0.1:1/", "http://127.0.0.1:2"]}"#,
        )
        .expect("write");
        let map = load(Some(file.clone())).expect("map");
        assert_eq!(
            lookup(&map, "ep.AZUREFD.net"),
            vec!["http://127.0.0.1:1", "http://127.0.0.1:2"]
        );
        assert_eq!(lookup(&map, "other.io"), vec!["https://other.io"]);
        std::fs::write(&file, "[1]").expect("write");
        let err = load(Some(file)).expect_err("not a map");
        assert!(err.contains(HOST_MAP_VAR), "{err}");
        let err = load(Some(dir.path().join("missing.json"))).expect_err("missing");
        assert!(err.contains("cannot be read"), "{err}");
    }
}
