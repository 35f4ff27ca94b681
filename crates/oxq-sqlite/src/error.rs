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
//! * the file deleted or replaced under the running process ([`StoreError::FileLost`], see
//!   [`crate::file_watch`]) → [`oxq_core::Error::Refused`], saying to restart;
//! * I/O, corrupt file, a schema newer than this build → [`oxq_core::Error::Store`];
//! * the writer thread gone → [`oxq_core::Error::Closed`].
//!
//! The backend converts with [`StoreError::at_file`], so each message is a sentence that names
//! the database file (`the sqlite file /var/lib/q.db is read-only (attempt to write a readonly
//! database)`); a store failure decided by an operation ([`oxq_core::Error::Store`] about a row)
//! gets the file put in front ([`oxq_core::Error::at_target`]). Domain answers stay as they
//! are.

use std::path::Path;
use std::sync::Arc;
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

    /// The batch this call was part of could not be committed (`BEGIN` or `COMMIT` failed):
    /// every call of the batch holds the one error.
    #[error(transparent)]
    Batch(Arc<StoreError>),

    /// The database file was deleted or replaced while this process had it open.
    #[error("the database file was {0} while open")]
    FileLost(FileLost),
}

/// What happened to a database file found gone from under the process: the store checks the
/// path every 100 ms and refuses every call once the file it opened is no longer there (see
/// the crate docs' caveats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileLost {
    /// Nothing is at the path any more.
    Deleted,
    /// Another file is at the path (its device and inode differ from the one opened).
    Replaced,
}

impl std::fmt::Display for FileLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileLost::Deleted => "deleted",
            FileLost::Replaced => "replaced",
        })
    }
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
            StoreError::Batch(shared) => shared.is_busy(),
            _ => false,
        }
    }

    /// What an operator should do, when SQLite refuses the work for a reason outside the
    /// store (a read-only file, a full disk, permissions); `None` for any other error.
    pub fn refusal(&self) -> Option<&'static str> {
        let e = match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => e,
            StoreError::Batch(shared) => return shared.refusal(),
            StoreError::FileLost(FileLost::Replaced) => {
                return Some(
                    "stop every process that opened the old file, then start them again to use the new one (what they wrote after the replacement went to the old file)",
                );
            }
            StoreError::FileLost(FileLost::Deleted) => {
                return Some(
                    "stop every process that opened the file, restore it from a backup (or let a restart create an empty one) and start them again (what they wrote after the deletion is lost)",
                );
            }
            _ => return None,
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

    /// The core error for this failure of the database file at `file`: a sentence that names
    /// the file, of the kind the module docs give; a domain answer stays as it is.
    pub(crate) fn at_file(self, file: &Path) -> oxq_core::Error {
        self.convert(Some(file))
    }

    fn convert(self, file: Option<&Path>) -> oxq_core::Error {
        let subject = match file {
            Some(file) => format!("the sqlite file {}", file.display()),
            None => "the sqlite database".to_owned(),
        };
        if self.is_busy() {
            let message = self.sentence(&subject);
            return oxq_core::Error::unavailable(
                message,
                Some(BUSY_RETRY_AFTER),
                Some(cause(self)),
            );
        }
        if let Some(action) = self.refusal() {
            return oxq_core::Error::refused(self.sentence(&subject), action, cause(self));
        }
        match self {
            StoreError::Core(core) => core.at_target(&subject),
            StoreError::WriterGone => oxq_core::Error::Closed,
            other => {
                let message = other.sentence(&subject);
                oxq_core::Error::store_caused(message, cause(other))
            }
        }
    }

    /// What went wrong, as a sentence about `subject` (`the sqlite file <path>`).
    fn sentence(&self, subject: &str) -> String {
        match self {
            StoreError::Sqlite(failure @ rusqlite::Error::SqliteFailure(e, _)) => {
                let said = failure.to_string();
                match e.code {
                    ErrorCode::ReadOnly => format!("{subject} is read-only ({said})"),
                    ErrorCode::DiskFull => {
                        format!("the disk that holds {subject} is full ({said})")
                    }
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                        format!("{subject} is locked by another connection ({said})")
                    }
                    ErrorCode::PermissionDenied | ErrorCode::CannotOpen => {
                        format!("{subject} cannot be opened or locked ({said})")
                    }
                    ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                        format!("{subject} is corrupt or not a database ({said})")
                    }
                    ErrorCode::SystemIoFailure => {
                        format!("reading or writing {subject} failed ({said})")
                    }
                    _ => format!("{subject}: {said}"),
                }
            }
            StoreError::Sqlite(other) => format!("{subject}: {other}"),
            StoreError::SchemaTooNew { found, supported } => format!(
                "{subject} has schema version {found}, newer than this build supports ({supported}): it was written by a newer oxq"
            ),
            StoreError::Batch(shared) => shared.sentence(subject),
            StoreError::FileLost(FileLost::Replaced) => format!(
                "{subject} was replaced while this process had it open (another file, with another inode, is at its path): jobs in the new file are not seen here"
            ),
            StoreError::FileLost(FileLost::Deleted) => {
                format!("{subject} was deleted while this process had it open")
            }
            other => format!("{subject}: {other}"),
        }
    }
}

impl From<StoreError> for oxq_core::Error {
    /// The conversion for when the file is not known: messages say `the sqlite database`
    /// where the backend names the file.
    fn from(err: StoreError) -> Self {
        err.convert(None)
    }
}

/// The error underneath: the SQLite, I/O or join error itself where there is one.
fn cause(err: StoreError) -> BoxError {
    match err {
        StoreError::Sqlite(e) => Box::new(e),
        StoreError::Join(e) => Box::new(e),
        StoreError::Thread { source, .. } => Box::new(source),
        StoreError::Batch(shared) => Box::new(shared),
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

        let shared = StoreError::Batch(Arc::new(StoreError::from(busy())));
        let core: oxq_core::Error = shared.into();
        assert!(core.is_transient());
        assert!(core.source().is_some());
    }

    fn failure(code: std::ffi::c_int, said: &str) -> StoreError {
        StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            Some(said.to_owned()),
        ))
    }

    #[test]
    fn each_store_failure_is_a_sentence_that_names_the_file_and_keeps_its_kind() {
        use rusqlite::ffi;
        let file = Path::new("/var/lib/oxq/q.db");
        for (error, sentence, permanent) in [
            (
                failure(ffi::SQLITE_READONLY, "attempt to write a readonly database"),
                "the sqlite file /var/lib/oxq/q.db is read-only (attempt to write a readonly database); make the database file",
                true,
            ),
            (
                failure(ffi::SQLITE_FULL, "database or disk is full"),
                "the disk that holds the sqlite file /var/lib/oxq/q.db is full (database or disk is full); free space",
                true,
            ),
            (
                StoreError::Batch(Arc::new(StoreError::from(busy()))),
                "the sqlite file /var/lib/oxq/q.db is locked by another connection (database is locked)",
                false,
            ),
            (
                failure(ffi::SQLITE_CORRUPT, "database disk image is malformed"),
                "the sqlite file /var/lib/oxq/q.db is corrupt or not a database (database disk image is malformed)",
                true,
            ),
            (
                StoreError::SchemaTooNew {
                    found: 9,
                    supported: 2,
                },
                "the sqlite file /var/lib/oxq/q.db has schema version 9, newer than this build supports (2)",
                true,
            ),
            (
                StoreError::Core(oxq_core::Error::store("job 5 has unknown state code 9")),
                "the sqlite file /var/lib/oxq/q.db: job 5 has unknown state code 9",
                true,
            ),
            (
                StoreError::FileLost(FileLost::Replaced),
                "the sqlite file /var/lib/oxq/q.db was replaced while this process had it open",
                true,
            ),
            (
                StoreError::FileLost(FileLost::Deleted),
                "the sqlite file /var/lib/oxq/q.db was deleted while this process had it open",
                true,
            ),
        ] {
            let core = error.at_file(file);
            let text = core.to_string();
            assert!(text.contains(sentence), "{text}");
            assert_eq!(core.is_permanent(), permanent, "{text}");
            assert_eq!(core.is_transient(), !permanent, "{text}");
        }
        let not_found = StoreError::Core(oxq_core::Error::JobNotFound("7".into())).at_file(file);
        assert_eq!(not_found.to_string(), "job 7 not found");
    }

    #[test]
    fn a_lost_file_is_a_refusal_that_says_to_restart() {
        let file = Path::new("q.db");
        let replaced = StoreError::FileLost(FileLost::Replaced).at_file(file);
        assert!(
            matches!(replaced, oxq_core::Error::Refused { .. }),
            "{replaced:?}"
        );
        assert!(
            replaced.to_string().contains("start them again"),
            "{replaced}"
        );
        let deleted = StoreError::FileLost(FileLost::Deleted).at_file(file);
        assert!(deleted.to_string().contains("restore it"), "{deleted}");
    }
}
