//! The audit log: one JSON object per line in `DIR/audit.log`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::api::AuditEntry;

/// Errors reading or writing the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened, read or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    // Serialises appends so lines never interleave.
    file: Mutex<File>,
    /// The newest entries, oldest first, so the page does not parse the whole log at
    /// every frame (a busy log has tens of thousands of lines).
    recent: Mutex<std::collections::VecDeque<AuditEntry>>,
}

/// Entries kept in memory for [`AuditLog::recent`].
pub const RECENT: usize = 50;

impl AuditLog {
    /// Opens (creating) `path` for appending, owner-only (tightened when looser).
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(crate::state::private::FILE_MODE)
            .open(path)
            .map_err(io)?;
        crate::state::private::tighten(path).map_err(io)?;
        let mut log = Self {
            path: path.to_owned(),
            file: Mutex::new(file),
            recent: Mutex::default(),
        };
        let tail = log.read(None, RECENT)?;
        log.recent = Mutex::new(tail.into());
        Ok(log)
    }

    /// Appends one entry, stamping its time when empty.
    pub fn append(&self, mut entry: AuditEntry) -> Result<AuditEntry, AuditError> {
        if entry.time.is_empty() {
            entry.time = crate::time::now_rfc3339();
        }
        let mut line = serde_json::to_string(&entry).unwrap_or_else(|e| {
            // Serialising plain strings and enums cannot fail; keep a trace if it ever does.
            format!(r#"{{"error":"unserialisable audit entry: {e}"}}"#)
        });
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(line.as_bytes())
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })?;
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(entry.clone());
        }
        tracing::info!(target: "bluegreen_local::audit", "{}", line.trim_end());
        Ok(entry)
    }

    /// The newest `limit` entries (at most [`RECENT`]), oldest first, from memory.
    pub fn recent(&self, limit: usize) -> Vec<AuditEntry> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .iter()
            .skip(recent.len().saturating_sub(limit))
            .cloned()
            .collect()
    }

    /// Reads entries, oldest first, optionally for one environment, keeping the last `limit`.
    pub fn read(
        &self,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AuditError> {
        let file = File::open(&self.path).map_err(|source| AuditError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut out = std::collections::VecDeque::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })?;
            // A torn last line after a crash is skipped rather than failing the whole read.
            let Ok(entry) = serde_json::from_str::<AuditEntry>(&line) else {
                continue;
            };
            if environment.is_some_and(|env| env != entry.environment) {
                continue;
            }
            out.push_back(entry);
            if out.len() > limit {
                out.pop_front();
            }
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AuditAction, Outcome};

    fn entry(env: &str, action: AuditAction) -> AuditEntry {
        AuditEntry {
            time: String::new(),
            actor: "test".into(),
            environment: env.into(),
            action,
            from_version: None,
            to_version: Some("1.0.0".into()),
            from_color: None,
            to_color: None,
            revision: None,
            outcome: Outcome::Ok,
            message: String::new(),
        }
    }

    #[test]
    fn appends_and_filters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::open(&dir.path().join("audit.log")).expect("open");
        log.append(entry("a", AuditAction::Deploy)).expect("append");
        log.append(entry("b", AuditAction::Switch)).expect("append");
        log.append(entry("a", AuditAction::Switch)).expect("append");
        let a = log.read(Some("a"), 100).expect("read");
        assert_eq!(a.len(), 2);
        assert!(!a[0].time.is_empty());
        let last = log.read(None, 1).expect("read");
        assert_eq!(last[0].environment, "a");
        assert_eq!(last[0].action, AuditAction::Switch);
        assert_eq!(log.recent(1), last, "memory holds what the file ends with");
        let reopened = AuditLog::open(&dir.path().join("audit.log")).expect("reopen");
        assert_eq!(reopened.recent(10), log.read(None, 10).expect("read"));
    }
}
