//! oxq's embedded store: every queue in one SQLite file, in WAL mode.
//!
//! [`SqliteBackend`] implements [`oxq_core::Backend`] with BullMQ 6 semantics, so a program
//! needs no server: `cargo run` and go. Several processes may share one file (a CLI adding
//! jobs while a worker service runs); all state lives in the file and every change is one
//! SQL transaction, so they stay correct together.
//!
//! ```no_run
//! # async fn demo() -> oxq_core::Result<()> {
//! use oxq_sqlite::{SqliteBackend, SqliteOptions};
//! let store = SqliteBackend::open("oxq.db", SqliteOptions::default()).await?;
//! let same = SqliteBackend::connect("sqlite://oxq.db?synchronous=full").await?;
//! // What the `oxq` facade calls for a URL whose scheme is in `URL_SCHEMES`:
//! let dyn_store = oxq_sqlite::open_url("sqlite://oxq.db", SqliteOptions::default()).await?;
//! # let _ = (store, same, dyn_store); Ok(()) }
//! ```
//!
//! # How it works
//! * **One writer thread** per process owns the only read-write connection
//!   (module `writer`). Calls become commands on a channel; the thread runs every
//!   command already queued in one `BEGIN IMMEDIATE` transaction, one `SAVEPOINT` per command
//!   (group commit), commits, then answers. That is what makes adds and fetch/finish fast.
//! * **Readers** (`job_get`, listings, counts, logs, events, waits) use a small pool of
//!   read-only connections on blocking threads; WAL lets them run during writes.
//! * **A checkpoint thread** copies the WAL into the database file in the background, so
//!   commits never wait for a checkpoint's fsync (module `checkpoint`).
//! * **Schema** (`migrations/0001_init.sql`, versions tracked by `PRAGMA user_version`):
//!   `queues` (one row per queue: counters, paused flag, last stalled check); `jobs` (one row
//!   per job; a `score` column orders each state so one index `(qid, state, score)` serves
//!   fetching, promotion, stalled checks, retention and listings); `logs`; `events` (several
//!   events packed per row). Internal keys carry the queue in their high bits
//!   (`qid * 2^40 + n`): job "17" of a queue is a rowid lookup, custom ids go through a
//!   partial unique index, and appends land at the end of a B-tree.
//! * **State lives in the file**, never in memory: ids, positions, event ids and the last
//!   stalled check are read and written under the write lock, so processes sharing the file
//!   agree.
//! * **Wakeups**: after each commit the writer notifies the touched queues' in-process
//!   waiters; waiters also re-check every `poll_interval` to see other processes' commits.
//!
//! # Durability
//! An acknowledged write has been committed. With [`Synchronous::Normal`] (the default) it
//! survives a crash of the process; with [`Synchronous::Full`] it also survives power loss,
//! at the price of an fsync per commit (per group of calls, thanks to group commit).
//!
//! # Options
//! See [`SqliteOptions`] (synchronous, busy timeout, poll interval, events kept per queue)
//! and [`parse_url`] for the URL form. The store declares the URL schemes it serves in
//! [`URL_SCHEMES`] and opens its URLs with [`open_url`] (query parameters override the options
//! given), which is how `oxq::connect` finds and opens it.
//!
//! # Caveats
//! * At-least-once: a job whose worker stops renewing its lock is run again after the stalled
//!   check recovers it.
//! * A long batch holds the file's write lock; another process's write waits up to the busy
//!   timeout, then fails with a transient [`oxq_core::Error::Unavailable`].
//! * The store keeps no [`StoreMemo`](oxq_core::backend::StoreMemo) on a fetched job: a
//!   finish reads what it needs from the row, so it may come from any process.
//! * Cross-process wakeups cost up to `poll_interval` of latency; in-process ones are immediate.
//! * Not for network file systems (SQLite's WAL needs shared memory on one machine).
//! * Deleting or replacing the file under a running process (`rm`, `mv restored.db q.db`)
//!   is noticed within 100 ms and every call then fails, permanently, with an error naming the
//!   file and saying to restart; the store never reopens the path by itself (module
//!   `file_watch` says why).
//!
//! # Errors
//! Every store failure is a sentence naming the file (`the sqlite file /var/lib/q.db is
//! read-only (attempt to write a readonly database); make the database file, …`); see
//! [`StoreError`] for the kinds.
//!
//! # Spans and metrics
//! None here: the runtime instruments every `Backend` call once, at the seam.

mod backend;
mod band;
mod checkpoint;
mod codec;
mod diagnostics;
mod error;
mod file_watch;
mod ops;
mod options;
mod readers;
mod schema;
mod signals;
mod url;
mod wait;
mod writer;

pub use backend::SqliteBackend;
pub use diagnostics::{SqliteDiagnostics, diagnostics};
pub use error::{FileLost, StoreError};
pub use options::{SqliteOptions, Synchronous};
pub use url::{URL_SCHEMES, open_url, parse_url};

#[cfg(test)]
mod tests;
