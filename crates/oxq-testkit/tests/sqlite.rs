//! The conformance suite (client cases and store-contract cases) on the embedded SQLite store:
//! a fresh database file per case, in a temporary directory that is kept (and printed) when
//! the case fails.
//!
//! Run with: `cargo test -p oxq-testkit --test sqlite` (one case: `... sqlite::order::fifo_order`,
//! the store contract: `... sqlite::store::`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use oxq_core::{JobId, QueueRef};
use oxq_sqlite::{SqliteBackend, SqliteOptions};
use oxq_testkit::{CaseResult, Corruption, Corruptor, Harness, TempStore, TestError, WaitProbe};

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

/// Breaks a job's row with raw SQL on the case's database file, as `sqlite3 q.db "update jobs
/// set name = cast(x'ff00fe' as text) where id = '50'"` would.
#[derive(Debug, Clone)]
struct RawSql {
    file: PathBuf,
}

impl RawSql {
    fn update(
        &self,
        queue: &QueueRef,
        job: &JobId,
        corruption: Corruption,
    ) -> CaseResult<&'static str> {
        let (column, value) = match corruption {
            Corruption::NameNotUtf8 => ("name", "cast(x'ff00fe' as text)"),
            Corruption::DataNotUtf8 => ("data", "x'ff00fe'"),
            Corruption::DataNotJson => ("data", "'{broken'"),
            Corruption::TimestampNotNumber => ("timestamp", "'abc'"),
            Corruption::OptionsNotJson => ("options", "'{broken'"),
        };
        let conn = rusqlite::Connection::open(&self.file)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let changed = conn.execute(
            &format!(
                "UPDATE jobs SET {column} = {value} WHERE id = ?3 AND qid = \
                 (SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2)"
            ),
            rusqlite::params![queue.prefix, queue.name, job.as_str()],
        )?;
        if changed != 1 {
            return Err(TestError::msg(format!(
                "corrupting job {job}: {changed} rows matched"
            )));
        }
        Ok(column)
    }
}

impl Corruptor for RawSql {
    fn corrupt<'a>(
        &'a self,
        queue: &'a QueueRef,
        job: &'a JobId,
        corruption: Corruption,
    ) -> BoxFuture<'a, CaseResult<&'static str>> {
        Box::pin(async move {
            let (sql, queue, job) = (self.clone(), queue.clone(), job.clone());
            tokio::task::spawn_blocking(move || sql.update(&queue, &job, corruption))
                .await
                .map_err(|e| TestError::msg(format!("the corrupting task failed: {e}")))?
        })
    }
}

async fn open(case: &'static str) -> CaseResult<Harness> {
    let dir = TempStore::new(case)?;
    let file = dir.file("oxq.db");
    let backend = SqliteBackend::open(&file, SqliteOptions::default()).await?;
    let probe = ParkedWaiters {
        backend: backend.clone(),
    };
    Ok(Harness::new("sqlite", case, backend, dir)?
        .with_probe(probe)
        .with_corruptor(RawSql { file }))
}

oxq_testkit::conformance_suite!(sqlite, open);
oxq_testkit::groups_suite!(sqlite, open);
