//! Helpers shared by the SQLite store's own tests: a store on a temp file, a second store on
//! the same file (another process), and short forms of the calls. The `Backend` contract
//! itself is tested once for every store by `oxq-testkit` (`store::` cases).
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, JobId, JobOptions, JobRecord, KeepJobs, LockToken, QueueRef, StoredEvent};
use oxq_sqlite::{SqliteBackend, SqliteOptions};
use tempfile::TempDir;

/// A fixed clock for tests: 2024-01-01T00:00:00Z.
pub const T0: u64 = 1_704_067_200_000;

pub struct Harness {
    pub dir: TempDir,
    pub store: Arc<SqliteBackend>,
    pub queue: QueueRef,
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with_options(SqliteOptions::default()).await
    }

    pub async fn with_options(options: SqliteOptions) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteBackend::open(dir.path().join("oxq.db"), options)
            .await
            .unwrap();
        Harness {
            dir,
            store,
            queue: QueueRef::new("test").unwrap(),
        }
    }

    /// A second store on the same file, as another process would open it.
    pub async fn other_process(&self) -> Arc<SqliteBackend> {
        SqliteBackend::open(self.db(), SqliteOptions::default())
            .await
            .unwrap()
    }

    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("oxq.db")
    }

    /// A plain connection to the file, for reading and writing rows by hand.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).unwrap()
    }

    pub async fn add(&self, name: &str, options: JobOptions) -> JobId {
        add_to(self.store.as_ref(), &self.queue, name, options, T0).await
    }

    pub fn fetch_req(&self, token: &str, max: u32, now: u64) -> FetchJobs {
        FetchJobs {
            queue: self.queue.clone(),
            fetch: Fetch {
                token: LockToken(token.to_owned()),
                lock_duration: Duration::from_secs(30),
                max_jobs: max,
                worker_name: Some("w1".to_owned()),
                limiter: None,
            },
            now,
        }
    }

    pub async fn fetch(&self, token: &str, max: u32, now: u64) -> Fetched {
        self.store
            .job_move_to_active(self.fetch_req(token, max, now))
            .await
            .unwrap()
    }

    pub async fn finish(&self, job: &FetchedJob, token: &str, end: AttemptEnd, now: u64) {
        let result = self
            .store
            .job_finish(FinishJobs {
                queue: self.queue.clone(),
                now,
                items: vec![Finish {
                    job_id: job.record.id.clone(),
                    token: LockToken(token.to_owned()),
                    end,
                    memo: job.memo.clone(),
                }],
                fetch_next: None,
                metrics: None,
            })
            .await
            .unwrap();
        assert!(result.items[0].is_ok(), "{:?}", result.items);
    }

    pub async fn get(&self, id: &JobId) -> Option<JobRecord> {
        self.store
            .job_get(GetJob {
                queue: self.queue.clone(),
                job_id: id.clone(),
            })
            .await
            .unwrap()
    }

    /// Every kept event of the queue, oldest first.
    pub async fn events(&self) -> Vec<StoredEvent> {
        self.store
            .events_read(ReadEvents {
                queue: self.queue.clone(),
                after: None,
                block: Duration::ZERO,
                max: 100_000,
            })
            .await
            .unwrap()
    }
}

/// Adds one job named `name` to `queue` at `now` and answers its id.
pub async fn add_to(
    store: &dyn Backend,
    queue: &QueueRef,
    name: &str,
    options: JobOptions,
    now: u64,
) -> JobId {
    let added = store
        .job_add_bulk(AddJobs {
            queue: queue.clone(),
            jobs: vec![NewJob {
                name: name.to_owned(),
                data: format!("{{\"name\":\"{name}\"}}"),
                options,
            }],
            now,
        })
        .await
        .unwrap();
    added.jobs[0].id().clone()
}

pub fn completed(keep: KeepJobs) -> AttemptEnd {
    AttemptEnd::Completed {
        return_value: "42".to_owned(),
        keep,
    }
}

/// Returns once a waiter of this process is parked on the queue (fails after 10 s).
pub async fn until_parked(store: &SqliteBackend, queue: &QueueRef) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.parked_waiters(queue) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no waiter parked on {queue} within 10 s"
        );
        tokio::task::yield_now().await;
        // the waiter runs on another task; look again shortly
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
