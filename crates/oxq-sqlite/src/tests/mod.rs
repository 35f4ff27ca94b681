//! Checks of the seam answers this store gives that the shared suite in `oxq-testkit` does not
//! cover yet: an attempt ending in [`AttemptEnd::Delayed`], and an add answering
//! [`AddedJob::Existing`] with the stored record (also for an id repeated within one call),
//! a fetch past a row whose id is not UTF-8, and the plain-job fetch beside a group backlog.
//! Times are set by hand (`now` comes from the caller), so nothing here sleeps.

mod add_existing;
mod delay;
mod group_backlog;
mod poison_id;

use std::sync::Arc;
use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, Error, Event, JobId, JobOptions, LockToken, QueueRef, Result};

use crate::{SqliteBackend, SqliteOptions};

pub(super) const T0: u64 = 1_000_000;

pub(super) async fn store() -> Result<(tempfile::TempDir, Arc<SqliteBackend>)> {
    let dir = tempfile::tempdir().map_err(|e| Error::store_caused("temp dir", e))?;
    let store = SqliteBackend::open(dir.path().join("t.db"), SqliteOptions::default()).await?;
    Ok((dir, store))
}

pub(super) fn job(options: JobOptions, data: &str) -> NewJob {
    NewJob {
        name: "n".to_owned(),
        data: data.to_owned(),
        options,
    }
}

pub(super) fn fetch_as(token: &str) -> Fetch {
    Fetch {
        token: LockToken(token.to_owned()),
        lock_duration: Duration::from_secs(30),
        max_jobs: 10,
        worker_name: None,
        limiter: None,
    }
}

pub(super) fn delayed_until(id: &JobId, token: &str, until: u64) -> Finish {
    Finish {
        job_id: id.clone(),
        token: LockToken(token.to_owned()),
        end: AttemptEnd::Delayed { until },
        memo: StoreMemo::none(),
    }
}

/// Adds one plain job and fetches it under `token`; answers its id.
pub(super) async fn held_job(
    store: &SqliteBackend,
    queue: &QueueRef,
    token: &str,
) -> Result<JobId> {
    let add = AddJobs {
        queue: queue.clone(),
        jobs: vec![job(JobOptions::new(), "{}")],
        now: T0,
    };
    let id = store.job_add_bulk(add).await?.jobs[0].id().clone();
    let fetch = FetchJobs {
        queue: queue.clone(),
        fetch: fetch_as(token),
        now: T0,
    };
    let fetched = store.job_move_to_active(fetch).await?;
    assert_eq!(fetched.jobs.len(), 1);
    Ok(id)
}

pub(super) async fn get(
    store: &SqliteBackend,
    queue: &QueueRef,
    id: &JobId,
) -> Result<oxq_core::JobRecord> {
    let req = GetJob {
        queue: queue.clone(),
        job_id: id.clone(),
    };
    store
        .job_get(req)
        .await?
        .ok_or_else(|| Error::JobNotFound(id.to_string()))
}

pub(super) async fn events(store: &SqliteBackend, queue: &QueueRef) -> Result<Vec<Event>> {
    let req = ReadEvents {
        queue: queue.clone(),
        after: None,
        block: Duration::ZERO,
        max: 1000,
    };
    Ok(store
        .events_read(req)
        .await?
        .into_iter()
        .map(|e| e.event)
        .collect())
}
