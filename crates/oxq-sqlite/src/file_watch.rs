//! Noticing that the database file was deleted or replaced under the running process.
//!
//! SQLite keeps using the file it opened, whatever then happens to its path: after `rm q.db`,
//! or `mv restored.db q.db` (a restore from a backup, a deploy script), this process would go
//! on reading and writing a file nobody else sees, and jobs added to the new file would never
//! run here. [`FileWatch`] remembers the file's identity when the store opens it (device and
//! inode on Unix; elsewhere only a deletion is noticed) and a thread ([`Watcher`]) compares it
//! with what is at the path every [`CHECK_INTERVAL`]; so does the reader pool before it opens
//! a connection (which would open whatever is at the path). Once the file is gone or another one is at
//! its path, the loss is recorded for good and logged once at `ERROR`: every later call of the
//! writer and the readers fails with [`StoreError::FileLost`], an
//! [`oxq_core::Error::Refused`] that names the file, says what happened and to restart. A
//! worker with `stop_after_permanent_errors` then stops with that message; a producer's
//! calls fail with it.
//!
//! The store stops rather than reopens the path by itself. The old file may hold jobs this
//! process fetched (their locks), jobs added since the replacement, and its `-wal` file still
//! sits at the path next to the new file (a new connection there could read the old WAL over
//! the new file): switching silently would lose jobs or run them twice, and reopening a
//! deleted path would start an empty queue. Stopping loudly leaves the choice (restore, stop
//! the other processes, restart) to an operator.
//!
//! Cost: one `stat` of the path per interval on the watch thread and per new reader
//! connection, and one atomic load per write batch and per read; nothing else on the hot path. Calls made between the change and
//! the next check (at most [`CHECK_INTERVAL`]) still reach the old file.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{FileLost, StoreError, StoreResult};

/// How often the watch thread looks at the path.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The identity of a file: what stays the same while it is the same file, whatever its path.
#[cfg(unix)]
type FileId = (u64, u64);

/// Device and inode.
#[cfg(unix)]
fn identity(meta: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// No portable identity here: every file looks the same, so only a deletion is noticed.
#[cfg(not(unix))]
type FileId = ();

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> FileId {}

/// The database file as opened, and whether it was lost since.
#[derive(Debug)]
pub(crate) struct FileWatch {
    path: PathBuf,
    /// `None` when the file could not be looked at when opened (then only a deletion counts).
    opened: Option<FileId>,
    lost: OnceLock<FileLost>,
}

impl FileWatch {
    /// Remembers the file at `path`, which the store has just opened.
    pub(crate) fn new(path: &Path) -> FileWatch {
        let mut watch = FileWatch {
            path: path.to_path_buf(),
            opened: None,
            lost: OnceLock::new(),
        };
        match std::fs::metadata(path) {
            Ok(meta) => watch.opened = Some(identity(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => watch.record(FileLost::Deleted),
            Err(e) => tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot look at the sqlite file; if it is replaced while open, that will go unnoticed"
            ),
        }
        watch
    }

    /// `Err(FileLost)` once the file was found deleted or replaced (one atomic load).
    pub(crate) fn ensure_present(&self) -> StoreResult<()> {
        match self.lost.get() {
            Some(lost) => Err(StoreError::FileLost(*lost)),
            None => Ok(()),
        }
    }

    /// Looks at the path now; records a deletion or a replacement, and answers it.
    pub(crate) fn check(&self) -> Option<FileLost> {
        match std::fs::metadata(&self.path) {
            Ok(meta) => {
                if self.opened.is_some_and(|opened| opened != identity(&meta)) {
                    self.record(FileLost::Replaced);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.record(FileLost::Deleted),
            // Not an answer about the file (e.g. its directory became unreadable): look again.
            Err(e) => {
                tracing::debug!(file = %self.path.display(), error = %e, "cannot look at the sqlite file")
            }
        }
        self.lost.get().copied()
    }

    fn record(&self, lost: FileLost) {
        if self.lost.set(lost).is_ok() {
            tracing::error!(
                file = %self.path.display(),
                "the sqlite file {} was {lost} while this process had it open; every store call now fails until the process is restarted",
                self.path.display()
            );
        }
    }
}

/// Owns the watch thread; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Watcher {
    _stop: mpsc::Sender<()>,
}

impl Watcher {
    /// Checks `watch` every [`CHECK_INTERVAL`] until it finds the file lost or is dropped.
    pub(crate) fn start(watch: Arc<FileWatch>) -> StoreResult<Watcher> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("oxq-sqlite-watch".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECK_INTERVAL)
                {
                    if watch.check().is_some() {
                        break;
                    }
                }
            })
            .map_err(|source| StoreError::Thread {
                what: "file watch",
                source,
            })?;
        Ok(Watcher { _stop: stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_deleted_or_replaced_at_its_path_is_lost_for_good() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.db");
        std::fs::write(&path, b"opened").expect("write");
        let watch = FileWatch::new(&path);
        assert_eq!(watch.check(), None);
        assert!(watch.ensure_present().is_ok());
        // writing in place keeps the file
        std::fs::write(&path, b"still the same file").expect("rewrite");
        assert_eq!(watch.check(), None);

        let other = dir.path().join("other.db");
        std::fs::write(&other, b"another file").expect("write");
        std::fs::rename(&other, &path).expect("rename over");
        assert_eq!(watch.check(), Some(FileLost::Replaced));
        assert!(matches!(
            watch.ensure_present(),
            Err(StoreError::FileLost(FileLost::Replaced))
        ));

        let deleted = FileWatch::new(&path);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(deleted.check(), Some(FileLost::Deleted));
        // a file at the path again does not undo it
        std::fs::write(&path, b"back").expect("write");
        assert_eq!(deleted.check(), Some(FileLost::Deleted));
    }
}
