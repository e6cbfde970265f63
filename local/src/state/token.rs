//! The admin API bearer token in `DIR/token`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

// Reading is shared with clients (the provider, the CLI); creating is the daemon's.
pub use bluegreen_local_api::token::{read_token, token_path, TokenError};

/// Errors creating the token.
#[derive(Debug, thiserror::Error)]
pub enum CreateTokenError {
    /// Reading, writing or tightening the token file failed.
    #[error(transparent)]
    File(#[from] TokenError),
    /// The OS random source failed.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

/// Reads the token, creating it (32 random bytes, hex, mode 0600) when missing.
pub fn load_or_create(state_dir: &Path) -> Result<String, CreateTokenError> {
    let path = token_path(state_dir);
    match read_token(state_dir) {
        Ok(t) => {
            tighten(&path)?;
            return Ok(t);
        }
        Err(TokenError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CreateTokenError::Random(e.to_string()))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let io = |source| TokenError::Io {
        path: path.clone(),
        source,
    };
    // create_new + mode: the file is never readable by others, not even briefly.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    file.write_all(token.as_bytes()).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(token)
}

// A token file copied in with a loose mode is tightened rather than refused.
fn tighten(path: &Path) -> Result<(), TokenError> {
    let io = |source| TokenError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(io)?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "token file was readable by others; setting mode 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

/// Compares two tokens in time independent of where they differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_token_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t1 = load_or_create(dir.path()).expect("create");
        assert_eq!(t1.len(), 64);
        let mode = fs::metadata(token_path(dir.path()))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(dir.path()).expect("read"), t1);
        assert!(tokens_equal(&t1, &t1.clone()));
        assert!(!tokens_equal(&t1, "x"));
    }
}
