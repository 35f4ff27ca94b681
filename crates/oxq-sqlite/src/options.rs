//! [`SqliteOptions`]: how the store opens and uses its file.
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `synchronous` | [`Synchronous::Normal`] | `NORMAL`: an acknowledged write survives a crash of the process; `FULL`: it also survives power loss (an fsync per commit) |
//! | `busy_timeout` | 5 s | how long a write waits for another process holding the write lock before failing with a transient error |
//! | `poll_interval` | 50 ms | how often blocked `queue_wait` / `events_read` calls re-check the file for writes made by other processes |
//! | `max_events` | 10 000 | events kept per queue (trimmed approximately, like Redis `MAXLEN ~`) |
//! | `read_connections` | 4 | read-only connections kept open for reads |
//!
//! ```
//! use std::time::Duration;
//! use oxq_sqlite::{SqliteOptions, Synchronous};
//! let options = SqliteOptions::default()
//!     .synchronous(Synchronous::Full)
//!     .busy_timeout(Duration::from_secs(10));
//! assert_eq!(options.max_events, 10_000);
//! ```

use std::time::Duration;

/// SQLite's `PRAGMA synchronous` in WAL mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Commits survive a crash of the process, not necessarily a power loss.
    #[default]
    Normal,
    /// Commits are flushed to disk before they are acknowledged.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Options of [`SqliteBackend::open`](crate::SqliteBackend::open); see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    pub busy_timeout: Duration,
    pub poll_interval: Duration,
    pub max_events: u64,
    pub read_connections: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(50),
            max_events: 10_000,
            read_connections: 4,
        }
    }
}

impl SqliteOptions {
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How often blocked waits re-check for other processes' writes (at least 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Events kept per queue (at least 1).
    pub fn max_events(mut self, max: u64) -> Self {
        self.max_events = max.max(1);
        self
    }

    /// Idle read-only connections kept open (at least 1).
    pub fn read_connections(mut self, n: usize) -> Self {
        self.read_connections = n.max(1);
        self
    }
}
