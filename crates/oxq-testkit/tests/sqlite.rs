//! The conformance suite (client cases and store-contract cases) on the embedded SQLite store:
//! a fresh database file per case, in a temporary directory that is kept (and printed) when
//! the case fails.
//!
//! Run with: `cargo test -p oxq-testkit --test sqlite` (one case: `... sqlite::order::fifo_order`,
//! the store contract: `... sqlite::store::`).

use std::sync::Arc;

use futures::future::BoxFuture;
use oxq_core::QueueRef;
use oxq_sqlite::{SqliteBackend, SqliteOptions};
use oxq_testkit::{CaseResult, Harness, TempStore, WaitProbe};

/// Shows the suite when a `queue_wait` or `events_read` of this store is blocked: the store
/// counts the waiters of this process parked on each queue.
#[derive(Debug)]
struct ParkedWaiters {
    backend: Arc<SqliteBackend>,
}

impl WaitProbe for ParkedWaiters {
    fn blocked<'a>(&'a self, queue: &'a QueueRef) -> BoxFuture<'a, CaseResult<usize>> {
        Box::pin(async move { Ok(self.backend.parked_waiters(queue)) })
    }
}

async fn open(case: &'static str) -> CaseResult<Harness> {
    let dir = TempStore::new(case)?;
    let backend = SqliteBackend::open(dir.file("oxq.db"), SqliteOptions::default()).await?;
    let probe = ParkedWaiters {
        backend: backend.clone(),
    };
    Ok(Harness::new("sqlite", case, backend, dir)?.with_probe(probe))
}

oxq_testkit::conformance_suite!(sqlite, open);
