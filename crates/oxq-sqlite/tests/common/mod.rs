//! Helpers shared by the store tests: a store on a temp file, and short forms of the calls.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, Event, JobId, JobOptions, KeepJobs, LockToken, QueueRef, StoredEvent};
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
        SqliteBackend::open(self.dir.path().join("oxq.db"), SqliteOptions::default())
            .await
            .unwrap()
    }

    pub async fn add(&self, name: &str, options: JobOptions) -> JobId {
        self.add_at(name, options, T0).await
    }

    pub async fn add_at(&self, name: &str, options: JobOptions, now: u64) -> JobId {
        let added = self
            .store
            .job_add_bulk(AddJobs {
                queue: self.queue.clone(),
                jobs: vec![NewJob {
                    name: name.to_owned(),
                    data: format!("{{\"name\":\"{name}\"}}"),
                    options,
                }],
                now,
            })
            .await
            .unwrap();
        assert!(!added[0].duplicate);
        added[0].id.clone()
    }

    pub fn fetch_req(&self, token: &str, max: u32, now: u64) -> FetchJobs {
        FetchJobs {
            queue: self.queue.clone(),
            token: LockToken(token.to_owned()),
            lock_duration: Duration::from_secs(30),
            max_jobs: max,
            worker_name: Some("w1".to_owned()),
            now,
        }
    }

    pub async fn fetch(&self, token: &str, max: u32, now: u64) -> Fetched {
        self.store
            .job_move_to_active(self.fetch_req(token, max, now))
            .await
            .unwrap()
    }

    /// Ids of the jobs fetched, in order.
    pub async fn fetch_ids(&self, token: &str, max: u32, now: u64) -> Vec<String> {
        self.fetch(token, max, now)
            .await
            .jobs
            .into_iter()
            .map(|j| j.id.0)
            .collect()
    }

    pub async fn finish(
        &self,
        id: &JobId,
        token: &str,
        outcome: Outcome,
        now: u64,
    ) -> FinishResult {
        self.store
            .job_finish(FinishJobs {
                queue: self.queue.clone(),
                now,
                items: vec![Finish {
                    job_id: id.clone(),
                    token: LockToken(token.to_owned()),
                    outcome,
                }],
                fetch_next: None,
            })
            .await
            .unwrap()
    }

    pub async fn get(&self, id: &JobId) -> oxq_core::JobRecord {
        self.store.job_get(&self.queue, id).await.unwrap().unwrap()
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

    pub async fn event_names(&self) -> Vec<&'static str> {
        self.events().await.iter().map(|e| e.event.name()).collect()
    }

    /// Events about one job, by name.
    pub async fn job_events(&self, id: &JobId) -> Vec<Event> {
        self.events()
            .await
            .into_iter()
            .map(|e| e.event)
            .filter(|e| e.job_id() == Some(id))
            .collect()
    }
}

pub fn completed() -> Outcome {
    Outcome::Completed {
        return_value: "42".to_owned(),
        keep: KeepJobs::All,
    }
}

pub fn failed(retry: Retry) -> Outcome {
    Outcome::Failed {
        reason: "boom".to_owned(),
        retry,
    }
}

pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
