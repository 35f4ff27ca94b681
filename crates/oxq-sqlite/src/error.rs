//! The store's own error type, and how it maps onto [`oxq_core::Error`].
//!
//! Operations run on the writer thread or a reader connection return [`StoreError`], which
//! holds either a domain answer decided by the store ([`StoreError::Core`]: job not found,
//! lock lost, ...) or a failure of SQLite itself. At the [`Backend`](oxq_core::Backend) seam
//! every `StoreError` becomes an [`oxq_core::Error`], keeping the underlying error as its
//! [`source`](std::error::Error::source) (a `rusqlite::Error`, an `io::Error`, a join error):
//!
//! * `SQLITE_BUSY` / `SQLITE_LOCKED` (another process held the write lock past the busy
//!   timeout) → [`oxq_core::Error::Unavailable`], which the runtime treats as transient;
//! * a read-only file (`SQLITE_READONLY`), a full disk (`SQLITE_FULL`), a file it may not
//!   open or lock (`SQLITE_PERM`, `SQLITE_CANTOPEN`) → [`oxq_core::Error::Refused`], naming
//!   what the operator should fix;
//! * I/O, corrupt file, a schema newer than this build → [`oxq_core::Error::Store`];
//! * the writer thread gone → [`oxq_core::Error::Closed`].

use std::time::Duration;

use oxq_core::error::BoxError;
use rusqlite::ErrorCode;

/// How long a caller should wait before retrying a write refused as busy.
pub(crate) const BUSY_RETRY_AFTER: Duration = Duration::from_millis(50);

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

    /// A blocking task could not be joined (it panicked or the runtime is shutting down).
    #[error("a blocking sqlite task failed: {0}")]
    Join(#[from] tokio::task::JoinError),

    /// One of the store's threads (`what`) could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
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

    /// What an operator should do, when SQLite refuses the work for a reason outside the
    /// store (a read-only file, a full disk, permissions); `None` for any other error.
    pub fn refusal(&self) -> Option<&'static str> {
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self else {
            return None;
        };
        match e.code {
            ErrorCode::ReadOnly => Some(
                "make the database file, its -wal and -shm files and their directory writable by this process, then restart it if it opened the file read-only",
            ),
            ErrorCode::DiskFull => Some("free space on the volume that holds the database file"),
            ErrorCode::PermissionDenied | ErrorCode::CannotOpen => Some(
                "check that the database path exists and that this process may read and write it",
            ),
            _ => None,
        }
    }

    /// The core error for a failure shared by several callers (a lost batch): the same kind
    /// as [`From`] gives, each holding the one underlying error as its source.
    pub(crate) fn shared(err: &std::sync::Arc<StoreError>) -> oxq_core::Error {
        let source: BoxError = Box::new(std::sync::Arc::clone(err));
        if err.is_busy() {
            oxq_core::Error::unavailable(err.to_string(), Some(BUSY_RETRY_AFTER), Some(source))
        } else if let Some(action) = err.refusal() {
            oxq_core::Error::refused(err.to_string(), action, source)
        } else {
            oxq_core::Error::store_caused(err.to_string(), source)
        }
    }
}

impl From<StoreError> for oxq_core::Error {
    fn from(err: StoreError) -> Self {
        if err.is_busy() {
            let message = err.to_string();
            return oxq_core::Error::unavailable(message, Some(BUSY_RETRY_AFTER), Some(cause(err)));
        }
        if let Some(action) = err.refusal() {
            return oxq_core::Error::refused(err.to_string(), action, cause(err));
        }
        match err {
            StoreError::Core(core) => core,
            StoreError::WriterGone => oxq_core::Error::Closed,
            other => {
                let message = other.to_string();
                oxq_core::Error::store_caused(message, cause(other))
            }
        }
    }
}

/// The error underneath: the SQLite, I/O or join error itself where there is one.
fn cause(err: StoreError) -> BoxError {
    match err {
        StoreError::Sqlite(e) => Box::new(e),
        StoreError::Join(e) => Box::new(e),
        StoreError::Thread { source, .. } => Box::new(source),
        other => Box::new(other),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_read_only_file_is_a_refusal_that_says_what_to_do() {
        let read_only = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
            Some("attempt to write a readonly database".to_owned()),
        );
        let core: oxq_core::Error = StoreError::from(read_only).into();
        assert!(core.is_permanent(), "{core:?}");
        let text = core.to_string();
        assert!(
            text.contains("readonly") && text.contains("writable"),
            "{text}"
        );
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        let core: oxq_core::Error = StoreError::from(corrupt).into();
        assert!(matches!(core, oxq_core::Error::Store { .. }), "{core:?}");
    }

    use std::error::Error as _;

    use super::*;

    fn busy() -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".to_owned()),
        )
    }

    #[test]
    fn busy_is_transient() {
        let core: oxq_core::Error = StoreError::from(busy()).into();
        assert!(core.is_transient());
        let not_found: oxq_core::Error =
            StoreError::Core(oxq_core::Error::JobNotFound("7".into())).into();
        assert!(matches!(not_found, oxq_core::Error::JobNotFound(id) if id == "7"));
    }

    #[test]
    fn the_sqlite_error_stays_the_source() {
        let core: oxq_core::Error = StoreError::from(busy()).into();
        let source = core.source().expect("a source");
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());

        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let core: oxq_core::Error = StoreError::from(full).into();
        assert!(matches!(core, oxq_core::Error::Refused { .. }), "{core:?}");
        assert!(core.is_permanent() && !core.is_transient());
        let source = core.source().expect("a source");
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());

        let shared = std::sync::Arc::new(StoreError::from(busy()));
        let core = StoreError::shared(&shared);
        assert!(core.is_transient());
        assert!(core.source().is_some());
    }
}
