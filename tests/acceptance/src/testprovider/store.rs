//! The test provider's "cloud": one JSON file per object under `store_dir`.
//!
//! Files rather than memory because the provider process lives only for one
//! Terraform command, and because a test must be able to change an object
//! behind Terraform's back (drift) by editing a file.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// A store failure, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading, writing or listing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A stored file is not the JSON the provider expects.
    #[error("{path}: not a stored object: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// An id that cannot name a file.
    #[error("invalid id {0:?}: ids are letters, digits, '-' and '_'")]
    InvalidId(String),
}

/// Objects of each kind live in `<dir>/<kind>/<id>.json`.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating when missing) the store in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding object `id` of `kind`.
    pub fn path(&self, kind: &str, id: &str) -> Result<PathBuf, StoreError> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !valid(id) {
            return Err(StoreError::InvalidId(id.to_string()));
        }
        if !valid(kind) {
            return Err(StoreError::InvalidId(kind.to_string()));
        }
        Ok(self.dir.join(kind).join(format!("{id}.json")))
    }

    /// The object, or `None` when it does not exist.
    pub fn get(&self, kind: &str, id: &str) -> Result<Option<Json>, StoreError> {
        let path = self.path(kind, id)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Json { path, source })
    }

    /// Writes the object (atomically, so a reader never sees half a file).
    pub fn put(&self, kind: &str, id: &str, object: &Json) -> Result<(), StoreError> {
        let path = self.path(kind, id)?;
        let parent = self.dir.join(kind);
        std::fs::create_dir_all(&parent).map_err(|source| StoreError::Io {
            path: parent.clone(),
            source,
        })?;
        let tmp = parent.join(format!(".{id}.json.tmp"));
        let text = serde_json::to_vec_pretty(object).map_err(|source| StoreError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&tmp, text).map_err(|source| StoreError::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| StoreError::Io { path, source })
    }

    /// Removes the object; removing a missing object is not an error.
    pub fn delete(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        let path = self.path(kind, id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// Ids of all objects of `kind`, sorted.
    pub fn ids(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.dir.join(kind);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json").filter(|id| !id.starts_with('.')) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_round_trip() {
        let dir = std::env::temp_dir().join(format!("bgtest-store-{}", std::process::id()));
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.get("thing", "a1").unwrap(), None);
        store
            .put("thing", "a1", &serde_json::json!({"value": "x"}))
            .unwrap();
        assert_eq!(store.get("thing", "a1").unwrap().unwrap()["value"], "x");
        assert_eq!(store.ids("thing").unwrap(), vec!["a1".to_string()]);
        store.delete("thing", "a1").unwrap();
        store.delete("thing", "a1").unwrap();
        assert!(store.ids("thing").unwrap().is_empty());
        assert!(matches!(
            store.path("thing", "../x"),
            Err(StoreError::InvalidId(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
