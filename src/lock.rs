//! Exclusive run locks on a file (`flock`): released by the kernel when the process ends, even
//! after `kill -9`, so a crashed run never leaves a stale lock behind.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Held while the lock is; dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    pub path: PathBuf,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another pinbrev run holds the lock {path}; wait for it to finish (this run did nothing)"
    )]
    Held { path: PathBuf },
    /// Another nightly run holds the lock on the PostgreSQL server.
    #[error("another pinbrev run holds the lock of the night on {database} (an advisory lock of the server); wait for it to finish (this run did nothing)")]
    HeldOnServer { database: String },
    #[error("cannot open lock file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Takes the lock at once or fails with [`LockError::Held`]; never waits.
pub fn try_lock(path: &Path) -> Result<LockGuard, LockError> {
    let file = crate::files::open_private_nofollow(path).map_err(|source| LockError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    match file.try_lock() {
        Ok(()) => Ok(LockGuard {
            _file: file,
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(LockError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = try_lock(&path).unwrap();
        assert!(matches!(try_lock(&path), Err(LockError::Held { .. })));
        drop(first);
        assert!(try_lock(&path).is_ok());
    }
}
