//! One daemon per state directory, enforced with an advisory `flock`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Errors taking the instance lock.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another daemon serves the directory.
    #[error("another bluegreen-local (pid {pid}) already serves state directory {dir}: upgrade it in place with `bluegreen-local serve --takeover` (no request fails, colours keep running), stop it with `bluegreen-local stop`, or use another --state-dir")]
    Busy {
        /// The state directory.
        dir: PathBuf,
        /// Pid recorded by the other daemon.
        pid: String,
    },
    /// Filesystem error.
    #[error("instance lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Held while the daemon runs; the kernel releases it when the process dies, even by `kill -9`.
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
}

impl InstanceLock {
    /// Takes `DIR/daemon.lock` and records our pid in it.
    pub fn acquire(state_dir: &Path) -> Result<Self, InstanceError> {
        let path = state_dir.join("daemon.lock");
        let io = |source| InstanceError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(InstanceError::Busy {
                dir: state_dir.to_owned(),
                pid: pid.trim().to_owned(),
            });
        }
        Self::record_pid(file, &path)
    }

    /// Takes over the lock handed over by the daemon this one replaces (`serve
    /// --takeover`): the same open file, so the kernel's lock holds without a gap.
    pub fn inherit(state_dir: &Path, fd: OwnedFd) -> Result<Self, InstanceError> {
        Self::record_pid(File::from(fd), &state_dir.join("daemon.lock"))
    }

    fn record_pid(mut file: File, path: &Path) -> Result<Self, InstanceError> {
        let io = |source| InstanceError::Io {
            path: path.to_owned(),
            source,
        };
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { file })
    }
}

impl AsFd for InstanceLock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}
