//! The release history on disk, `DIR/releases.json`: the last releases of each
//! environment, so a restart or an upgrade of the daemon does not forget what the
//! provider reported. Kept apart from `state.json`: it changes at every step of a
//! release, and routing writes should not wait for it (nor it for them).
//!
//! It is a record, not state the daemon needs to run: a file that cannot be read is set
//! aside with a warning and the daemon starts with no history.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::{write_atomic, StoreError};
use crate::api::Release;

/// Name of the file in the state directory.
pub const FILE_NAME: &str = "releases.json";
/// Current format of the file.
pub const FORMAT: u32 = 1;

/// What `releases.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistedReleases {
    /// Format version.
    pub format: u32,
    /// The last releases by environment, newest first.
    pub environments: BTreeMap<String, Vec<Release>>,
}

/// Path of the file in `state_dir`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Reads the history; a missing file is an empty one. A file that is corrupt or from a
/// newer daemon is renamed to `releases.json.bad` (kept for a look, not overwritten by
/// the next save) and one that cannot be read is left alone; both with a warning.
pub fn load(state_dir: &Path) -> PersistedReleases {
    let path = path(state_dir);
    let empty = PersistedReleases {
        format: FORMAT,
        ..Default::default()
    };
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return empty,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the release history ({e}); starting without it");
            return empty;
        }
    };
    let problem = match serde_json::from_slice::<PersistedReleases>(&bytes) {
        Ok(p) if p.format <= FORMAT => return p,
        Ok(p) => format!(
            "it has format {}, this daemon reads {FORMAT} (written by a newer bluegreen-local)",
            p.format
        ),
        Err(e) => format!("it is not valid ({e})"),
    };
    let mut aside = path.as_os_str().to_owned();
    aside.push(".bad");
    match fs::rename(&path, &aside) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "ignoring the release history: {problem}; moved to {} and starting without it",
            Path::new(&aside).display()
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            "ignoring the release history: {problem}; starting without it (moving it aside failed: {e})"
        ),
    }
    empty
}

/// Saves the history atomically, owner-only.
pub fn save(state_dir: &Path, releases: &PersistedReleases) -> Result<(), StoreError> {
    let path = path(state_dir);
    // Compact: the file is rewritten at every step of a release.
    let bytes = serde_json::to_vec(releases).map_err(|e| StoreError::Io {
        action: "serialising",
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ReleasePhase;

    fn release(id: &str) -> Release {
        Release {
            id: id.into(),
            version: "1.3.0".into(),
            actor: Some("terraform".into()),
            color: None,
            previous_color: None,
            previous_version: None,
            phase: ReleasePhase::Done,
            phases: Vec::new(),
            started_at: "2026-12-03T10:00:00Z".into(),
            updated_at: "2026-12-03T10:01:00Z".into(),
            finished_at: Some("2026-12-03T10:01:00Z".into()),
            reason: Some("live".into()),
            figures: None,
            steps: Vec::new(),
            steps_dropped: 0,
        }
    }

    #[test]
    fn round_trips_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load(dir.path()).environments.is_empty());
        let mut p = PersistedReleases {
            format: FORMAT,
            ..Default::default()
        };
        p.environments.insert("api".into(), vec![release("r1")]);
        save(dir.path(), &p).expect("save");
        assert_eq!(load(dir.path()), p);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path(dir.path()))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode, 0o600);
        assert!(!dir.path().join("releases.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_or_newer_file_is_set_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        for content in [&b"{not json"[..], br#"{"format":99,"environments":{}}"#] {
            fs::write(path(dir.path()), content).expect("write");
            assert!(load(dir.path()).environments.is_empty());
            assert!(!path(dir.path()).exists());
            assert_eq!(
                fs::read(dir.path().join("releases.json.bad")).expect("set aside"),
                content
            );
        }
    }
}
