//! Per-colour log files and their tails.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Opens a log for appending, creating parent directories.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Appends a daemon marker line, so a reader sees where each process run starts.
pub fn mark(path: &Path, line: &str) {
    if let Ok(mut f) = open_append(path) {
        let _ = writeln!(
            f,
            "--- bluegreen-local {}: {line}",
            crate::time::now_rfc3339()
        );
    }
}

/// The last `lines` lines of a log (reads at most the last 64 KiB).
pub fn tail(path: &Path, lines: usize) -> Vec<String> {
    const WINDOW: u64 = 64 * 1024;
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if f.seek(SeekFrom::Start(len.saturating_sub(WINDOW))).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_returns_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x/blue.log");
        let mut f = open_append(&p).expect("open");
        for i in 0..50 {
            writeln!(f, "line {i}").expect("write");
        }
        assert_eq!(tail(&p, 2), ["line 48", "line 49"]);
        assert!(tail(&dir.path().join("missing"), 5).is_empty());
    }
}
