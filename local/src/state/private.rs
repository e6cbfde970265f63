//! Owner-only modes for the state directory and the files in it: `state.json` holds
//! the colours' commands and plaintext `env` values (run again at every start) and
//! `audit.log` who did what, so neither may be readable, let alone writable, by others.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of the state directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files in it.
pub const FILE_MODE: u32 = 0o600;

/// Removes group and other permissions from `path` (a directory or a file) when it
/// has any; a missing path is left alone. Returns whether it changed the mode.
pub fn tighten(path: &Path) -> io::Result<bool> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    let wanted = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
    fs::set_permissions(path, fs::Permissions::from_mode(wanted))?;
    tracing::warn!(
        path = %path.display(),
        "was accessible to other users (mode {:o}); set to {wanted:o}",
        mode & 0o777
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn loose_directory_and_file_become_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("state");
        fs::create_dir(&sub).expect("mkdir");
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).expect("chmod");
        let file = sub.join("state.json");
        fs::write(&file, b"{}").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(tighten(&sub).expect("tighten dir"));
        assert!(tighten(&file).expect("tighten file"));
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert!(!tighten(&file).expect("already tight"));
        assert!(!tighten(&sub.join("missing")).expect("missing"));
    }
}
