//! Atomic persistence of [`PersistedState`] as JSON.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{PersistedState, FORMAT};

/// Errors loading or saving state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Filesystem error.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid state JSON.
    #[error("state file {path} is corrupt ({source}); move it aside to start empty")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// Parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Written by a newer daemon.
    #[error(
        "state file {path} has format {found}, this daemon reads {FORMAT}: upgrade bluegreen-local"
    )]
    Format {
        /// Which file.
        path: PathBuf,
        /// Format found.
        found: u32,
    },
}

/// The state file of one state directory.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store at `DIR/state.json`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("state.json"),
        }
    }

    /// Path of the state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the state directory and the state file owner-only when they are not:
    /// the file holds commands and plaintext `env` values that run at every start.
    pub fn secure(&self) -> Result<(), StoreError> {
        let targets = self.path.parent().into_iter().chain([self.path.as_path()]);
        for path in targets {
            super::private::tighten(path).map_err(|source| StoreError::Io {
                action: "restricting to its owner",
                path: path.to_owned(),
                source,
            })?;
        }
        Ok(())
    }

    /// Loads the state; a missing file is an empty state.
    pub fn load(&self) -> Result<PersistedState, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PersistedState {
                    format: FORMAT,
                    next_revision: 1,
                    ..Default::default()
                })
            }
            Err(source) => {
                return Err(StoreError::Io {
                    action: "reading",
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let state: PersistedState =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        if state.format > FORMAT {
            return Err(StoreError::Format {
                path: self.path.clone(),
                found: state.format,
            });
        }
        Ok(state)
    }

    /// Saves atomically (see [`write_atomic`]).
    pub fn save(&self, state: &PersistedState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| StoreError::Io {
            action: "serialising",
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.path, &bytes)
    }
}

/// Replaces `path` with `bytes`, owner-only: write a temp file, fsync it, rename over,
/// fsync the directory, so a crash at any point leaves either the old or the new
/// content, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(super::private::FILE_MODE)
        .open(&tmp)
        .map_err(io("creating", &tmp))?;
    // A temp file left over from an older daemon keeps its mode through `create`.
    file.set_permissions(fs::Permissions::from_mode(super::private::FILE_MODE))
        .map_err(io("restricting to its owner", &tmp))?;
    file.write_all(bytes).map_err(io("writing", &tmp))?;
    file.sync_all().map_err(io("syncing", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io("renaming into", path))?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing directory", dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_state_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        let mut state = store.load().expect("empty");
        assert_eq!(state.next_revision, 1);
        state.next_revision = 42;
        store.save(&state).expect("save");
        assert_eq!(store.load().expect("load").next_revision, 42);
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn corrupt_file_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        fs::write(store.path(), b"{not json").expect("write");
        let err = store.load().expect_err("corrupt").to_string();
        assert!(err.contains("move it aside"), "{err}");
    }
}
