//! The pool of read-only connections.
//!
//! Reads (`job_get`, `jobs_list`, `jobs_count`, logs, events, `queue_status`, and the
//! checks behind `queue_wait`) never queue behind the writer: each runs on a blocking thread
//! (`tokio::task::spawn_blocking`) with an idle read-only connection, inside one read
//! transaction so it sees a single snapshot. WAL lets readers run while the writer commits.
//! Up to `read_connections` idle connections are kept; more are opened under load and closed
//! when returned to a full pool. Once the database file was found deleted or replaced
//! ([`crate::file_watch`]), no read runs: every read fails with that. Opening a new connection
//! first checks the file, since it opens whatever is at the path now.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{StoreError, StoreResult};
use crate::file_watch::FileWatch;
use crate::options::SqliteOptions;
use crate::schema;
use crate::writer::control;

#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    options: SqliteOptions,
    watch: Arc<FileWatch>,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, options: SqliteOptions, watch: Arc<FileWatch>) -> Self {
        Self {
            path,
            options,
            watch,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a read-only connection inside one read transaction.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.run_blocking(read)).await?
    }

    fn run_blocking<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.watch.ensure_present()?;
        let conn = self.take()?;
        control(&conn, "BEGIN")?;
        let result = read(&conn);
        let ended = control(&conn, "COMMIT");
        if ended.is_ok() {
            self.give_back(conn);
        }
        let value = result?;
        ended?;
        Ok(value)
    }

    fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                // A new connection opens whatever is at the path now: look first (a `stat`,
                // nothing beside an open), so it never reads a file other than the writer's.
                if let Some(lost) = self.watch.check() {
                    return Err(StoreError::FileLost(lost));
                }
                schema::open_reader(&self.path, &self.options)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.options.read_connections {
            idle.push(conn);
        }
    }
}
