//! The store's own error type, and how it maps onto [`oxq_core::Error`].
//!
//! Operations run on the writer thread or a reader connection return [`StoreError`], which
//! holds either a domain answer decided by the store ([`StoreError::Core`]: job not found,
//! lock lost, ...) or a failure of SQLite itself. At the [`Backend`](oxq_core::Backend) seam
//! every `StoreError` becomes an [`oxq_core::Error`]:
//!
//! * `SQLITE_BUSY` / `SQLITE_LOCKED` (another process held the write lock past the busy
//!   timeout) → [`oxq_core::Error::Unavailable`], which the runtime treats as transient;
//! * I/O, full disk, corrupt file, a schema newer than this build → [`oxq_core::Error::Store`];
//! * the writer thread gone → [`oxq_core::Error::Closed`].

use std::time::Duration;

use rusqlite::ErrorCode;

/// Everything that can go wrong inside the SQLite store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A domain answer (job not found, lock lost, conflict, invalid argument).
    #[error(transparent)]
    Core(#[from] oxq_core::Error),

    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The file was written by a newer oxq with a schema this build does not know.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    /// The writer thread stopped (the backend is shutting down, or it panicked).
    #[error("the sqlite writer thread has stopped")]
    WriterGone,

    /// A blocking task could not be joined.
    #[error("a blocking sqlite task failed: {0}")]
    Join(String),
}

/// `Result` with [`StoreError`].
pub(crate) type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// True when SQLite said the database is busy or locked by another connection.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            }
            _ => false,
        }
    }
}

impl From<StoreError> for oxq_core::Error {
    fn from(err: StoreError) -> Self {
        if err.is_busy() {
            return oxq_core::Error::Unavailable {
                message: err.to_string(),
                retry_after: Some(Duration::from_millis(50)),
            };
        }
        match err {
            StoreError::Core(core) => core,
            StoreError::WriterGone => oxq_core::Error::Closed,
            other => oxq_core::Error::Store(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_transient() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".to_owned()),
        );
        let core: oxq_core::Error = StoreError::from(busy).into();
        assert!(core.is_transient());
        let not_found: oxq_core::Error =
            StoreError::Core(oxq_core::Error::JobNotFound("7".into())).into();
        assert!(matches!(not_found, oxq_core::Error::JobNotFound(id) if id == "7"));
    }
}
