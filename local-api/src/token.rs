//! Reading the admin API bearer token in `DIR/token`.
//!
//! The daemon creates the file (`bluegreen-local serve`); clients on the same host
//! read it from the state directory instead of being given the token.

use std::fs;
use std::path::{Path, PathBuf};

/// Errors reading the token file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Filesystem error.
    #[error("token file {path}: {source}")]
    Io {
        /// The token file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is empty.
    #[error("token file {0} is empty: delete it and restart `bluegreen-local serve` to create a new one")]
    Empty(PathBuf),
}

/// Path of the token file in a state directory.
pub fn token_path(state_dir: &Path) -> PathBuf {
    state_dir.join("token")
}

/// Reads the token of `state_dir`.
pub fn read_token(state_dir: &Path) -> Result<String, TokenError> {
    let path = token_path(state_dir);
    let text = fs::read_to_string(&path).map_err(|source| TokenError::Io {
        path: path.clone(),
        source,
    })?;
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err(TokenError::Empty(path));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trimmed_token_and_refuses_a_missing_or_empty_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read_token(dir.path()),
            Err(TokenError::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::NotFound
        ));
        fs::write(token_path(dir.path()), " \n").expect("write");
        assert!(matches!(read_token(dir.path()), Err(TokenError::Empty(_))));
        fs::write(token_path(dir.path()), "abc\n").expect("write");
        assert_eq!(read_token(dir.path()).expect("read"), "abc");
    }
}
