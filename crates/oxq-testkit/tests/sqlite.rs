//! The conformance suite on the embedded SQLite store: a fresh database file per case, in a
//! temporary directory that is kept (and printed) when the case fails.
//!
//! Run with: `cargo test -p oxq-testkit --test sqlite` (one case: `... sqlite::order::fifo_order`).

use oxq_sqlite::{SqliteBackend, SqliteOptions};
use oxq_testkit::{CaseResult, Harness, TempStore};

async fn open(case: &'static str) -> CaseResult<Harness> {
    let dir = TempStore::new(case)?;
    let backend = SqliteBackend::open(dir.file("oxq.db"), SqliteOptions::default()).await?;
    Harness::new("sqlite", case, backend, dir)
}

oxq_testkit::conformance_suite!(sqlite, open);
