//! Background WAL checkpoints, off the writer's critical path.
//!
//! SQLite normally checkpoints inside the commit that pushes the WAL past
//! `wal_autocheckpoint` pages: the writer thread then copies pages into the database file and
//! fsyncs it while every caller waits. Here a second thread with its own connection runs a
//! `PASSIVE` checkpoint every [`INTERVAL`] instead (it never blocks the writer or readers).
//! Once everything in a WAL of at least [`RESTART_FRAMES`] frames has been copied, it asks for
//! a `RESTART` checkpoint, which waits (at most [`RESTART_WAIT`]) for the current transaction
//! so the next one writes the WAL from its start again: a short WAL keeps page lookups cheap
//! and reuses file blocks instead of growing the file. The writer's own automatic checkpoint
//! is kept only as a high safety net ([`WRITER_FALLBACK_PAGES`]) for when this thread falls
//! behind. The thread stops when the backend is dropped; closing the last connection then
//! checkpoints what is left.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{StoreError, StoreResult};
use crate::options::SqliteOptions;

/// How often the background thread checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames from which a fully copied WAL is restarted.
pub(crate) const RESTART_FRAMES: i64 = 2_000;

/// How long a restart may wait for the transaction in progress.
pub(crate) const RESTART_WAIT: Duration = Duration::from_millis(20);

/// WAL pages after which the writer checkpoints by itself.
pub(crate) const WRITER_FALLBACK_PAGES: i64 = 16_000;

/// Owns the checkpoint thread; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path, options: &SqliteOptions) -> StoreResult<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(RESTART_WAIT)?;
        conn.pragma_update(None, "synchronous", options.synchronous.pragma_value())?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("oxq-sqlite-checkpoint".to_owned())
            .spawn(move || run(conn, stopped))
            .map_err(|source| StoreError::Thread {
                what: "checkpoint",
                source,
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

fn run(conn: Connection, stopped: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let restart = match checkpoint(&conn, "PASSIVE") {
            Ok((log, copied)) => log >= RESTART_FRAMES && copied == log,
            Err(e) => {
                tracing::debug!(error = %e, "background wal checkpoint failed; retrying later");
                false
            }
        };
        if restart && let Err(e) = checkpoint(&conn, "RESTART") {
            tracing::debug!(error = %e, "wal restart failed; retrying later");
        }
    }
}

/// Runs one checkpoint; `(frames in the WAL, frames copied)`.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}
