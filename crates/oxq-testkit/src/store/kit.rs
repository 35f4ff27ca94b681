//! Short forms of the [`Backend`] calls for the store cases: [`Kit`] holds the case's store and
//! queue and a time base `t0` (the real time when the case began), and answers each call with
//! what the case checks.
//!
//! Times: every call that takes `now` gets it from the case, as an offset from `t0`, so a case
//! moves time by passing a later `now` instead of sleeping. Two things still run on real time
//! and are named where a case relies on them: Redis expires lock keys (and the stalled-check
//! gate) on its own clock, and `queue_wait`/`events_read` block for real durations (a wait's
//! `now` only judges due times).

use std::sync::Arc;
use std::time::Duration;

use oxq_core::backend::{
    AddJobs, AddedJob, AttemptEnd, Fetch, FetchJobs, Fetched, FetchedJob, Finish, FinishJobs,
    GetJob, ListJobs, NewJob, OfQueue, ReadEvents, Retry, StoreMemo,
};
use oxq_core::clock::now_ms;
use oxq_core::{
    Backend, Error, Event, JobCounts, JobId, JobOptions, JobRecord, JobState, KeepJobs, LockToken,
    QueueRef, StoredEvent,
};

use crate::{CaseResult, Harness, TestError};

/// The lock a fetch takes unless a case says otherwise: long enough never to expire in a case.
pub(crate) const LOCK: Duration = Duration::from_secs(30);

/// The worker name fetches record.
pub(crate) const WORKER: &str = "w1";

/// One case's store, queue and time base.
pub(crate) struct Kit {
    pub(crate) store: Arc<dyn Backend>,
    pub(crate) queue: QueueRef,
    /// The real time when the case began; every `now` a case passes is `t0` plus an offset.
    pub(crate) t0: u64,
}

impl Kit {
    pub(crate) fn new(h: &Harness) -> Self {
        Self::on(h, h.queue_ref().clone())
    }

    /// The kit of another queue on the same store.
    pub(crate) fn on(h: &Harness, queue: QueueRef) -> Self {
        Self {
            store: h.backend(),
            queue,
            t0: now_ms(),
        }
    }

    /// A second queue beside the case's, under the same prefix.
    pub(crate) fn sibling(&self, h: &Harness, suffix: &str) -> CaseResult<Self> {
        let name = format!("{}-{suffix}", self.queue.name);
        let mut kit = Self::on(h, QueueRef::with_prefix(self.queue.prefix.clone(), name)?);
        kit.t0 = self.t0;
        Ok(kit)
    }

    pub(crate) fn job(name: &str, options: JobOptions) -> NewJob {
        NewJob {
            name: name.to_owned(),
            data: format!("{{\"name\":\"{name}\"}}"),
            options,
        }
    }

    /// Adds `jobs` in one call at `now`; answers one entry per job.
    pub(crate) async fn add_jobs(&self, jobs: Vec<NewJob>, now: u64) -> CaseResult<Vec<AddedJob>> {
        let n = jobs.len();
        let added = self
            .store
            .job_add_bulk(AddJobs {
                queue: self.queue.clone(),
                jobs,
                now,
            })
            .await?;
        if added.jobs.len() != n {
            return Err(TestError::msg(format!(
                "added {n} jobs, the store answered {} entries",
                added.jobs.len()
            )));
        }
        Ok(added.jobs)
    }

    /// Adds one new job at `now` and answers its id; fails unless the store created it.
    pub(crate) async fn add_at(
        &self,
        name: &str,
        options: JobOptions,
        now: u64,
    ) -> CaseResult<JobId> {
        match self
            .add_jobs(vec![Self::job(name, options)], now)
            .await?
            .remove(0)
        {
            AddedJob::Created { id, .. } => Ok(id),
            AddedJob::Existing(record) => Err(TestError::msg(format!(
                "adding {name} answered the existing job {}",
                record.id
            ))),
            AddedJob::Deduplicated { id, .. } => Err(TestError::msg(format!(
                "adding {name} was deduplicated against job {id}"
            ))),
        }
    }

    /// [`Kit::add_at`] at `t0`.
    pub(crate) async fn add(&self, name: &str, options: JobOptions) -> CaseResult<JobId> {
        self.add_at(name, options, self.t0).await
    }

    pub(crate) fn fetch_spec(token: &str, max_jobs: u32, lock: Duration) -> Fetch {
        Fetch {
            token: LockToken(token.to_owned()),
            lock_duration: lock,
            max_jobs,
            worker_name: Some(WORKER.to_owned()),
            limiter: None,
        }
    }

    /// Fetches up to `max` jobs under `token` with a lock of `lock`, at `now`.
    pub(crate) async fn fetch_locked(
        &self,
        token: &str,
        max: u32,
        lock: Duration,
        now: u64,
    ) -> CaseResult<Fetched> {
        Ok(self
            .store
            .job_move_to_active(FetchJobs {
                queue: self.queue.clone(),
                fetch: Self::fetch_spec(token, max, lock),
                now,
            })
            .await?)
    }

    /// Fetches up to `max` jobs under `token` with a [`LOCK`], at `now`.
    pub(crate) async fn fetch(&self, token: &str, max: u32, now: u64) -> CaseResult<Fetched> {
        self.fetch_locked(token, max, LOCK, now).await
    }

    /// The ids [`Kit::fetch`] hands out, in order.
    pub(crate) async fn fetch_ids(
        &self,
        token: &str,
        max: u32,
        now: u64,
    ) -> CaseResult<Vec<String>> {
        Ok(fetched_ids(&self.fetch(token, max, now).await?))
    }

    /// Ends the attempts of `items` (job, token, end; each with the memo it was fetched with).
    pub(crate) async fn finish_many(
        &self,
        items: Vec<(&FetchedJob, &str, AttemptEnd)>,
        now: u64,
    ) -> CaseResult<Vec<Result<(), Error>>> {
        let items = items
            .into_iter()
            .map(|(job, token, end)| Finish {
                job_id: job.record.id.clone(),
                token: LockToken(token.to_owned()),
                end,
                memo: job.memo.clone(),
            })
            .collect();
        self.finish_items(items, now).await
    }

    /// Sends `items` as they are and answers the store's verdict on each.
    pub(crate) async fn finish_items(
        &self,
        items: Vec<Finish>,
        now: u64,
    ) -> CaseResult<Vec<Result<(), Error>>> {
        let n = items.len();
        let result = self
            .store
            .job_finish(FinishJobs {
                queue: self.queue.clone(),
                now,
                items,
                fetch_next: None,
                metrics: None,
            })
            .await?;
        if result.items.len() != n {
            return Err(TestError::msg(format!(
                "finished {n} items, the store answered {}",
                result.items.len()
            )));
        }
        Ok(result.items)
    }

    /// Ends one attempt and fails the case unless the store accepted it.
    pub(crate) async fn finish(
        &self,
        job: &FetchedJob,
        token: &str,
        end: AttemptEnd,
        now: u64,
    ) -> CaseResult {
        let verdict = self
            .finish_many(vec![(job, token, end)], now)
            .await?
            .remove(0);
        verdict.map_err(|e| TestError::msg(format!("finishing job {}: {e}", job.record.id)))
    }

    /// Ends one attempt of job `id` with no memo, as a process that did not fetch it would.
    pub(crate) async fn finish_id(
        &self,
        id: &JobId,
        token: &str,
        end: AttemptEnd,
        now: u64,
    ) -> CaseResult<Result<(), Error>> {
        let item = Finish {
            job_id: id.clone(),
            token: LockToken(token.to_owned()),
            end,
            memo: StoreMemo::none(),
        };
        Ok(self.finish_items(vec![item], now).await?.remove(0))
    }

    pub(crate) async fn try_get(&self, id: &JobId) -> CaseResult<Option<JobRecord>> {
        Ok(self
            .store
            .job_get(GetJob {
                queue: self.queue.clone(),
                job_id: id.clone(),
            })
            .await?)
    }

    /// The job's record, or a failure saying it is gone.
    pub(crate) async fn get(&self, id: &JobId) -> CaseResult<JobRecord> {
        self.try_get(id)
            .await?
            .ok_or_else(|| TestError::msg(format!("job {id} does not exist")))
    }

    pub(crate) async fn counts(&self) -> CaseResult<JobCounts> {
        Ok(self
            .store
            .jobs_count(OfQueue {
                queue: self.queue.clone(),
            })
            .await?)
    }

    /// Ids of the jobs in `states`, in the order the store lists them.
    pub(crate) async fn list(
        &self,
        states: &[JobState],
        offset: u64,
        limit: u64,
        ascending: bool,
    ) -> CaseResult<Vec<String>> {
        let records = self
            .store
            .jobs_list(ListJobs {
                queue: self.queue.clone(),
                states: states.to_vec(),
                offset,
                limit,
                ascending,
            })
            .await?;
        Ok(records.into_iter().map(|r| r.id.0).collect())
    }

    /// Every kept event of the queue, oldest first.
    pub(crate) async fn events(&self) -> CaseResult<Vec<StoredEvent>> {
        Ok(self
            .store
            .events_read(ReadEvents {
                queue: self.queue.clone(),
                after: None,
                block: Duration::ZERO,
                max: 100_000,
            })
            .await?)
    }

    pub(crate) async fn event_names(&self) -> CaseResult<Vec<&'static str>> {
        Ok(self
            .events()
            .await?
            .iter()
            .map(|e| e.event.name())
            .collect())
    }

    /// The events about one job, oldest first.
    pub(crate) async fn job_events(&self, id: &JobId) -> CaseResult<Vec<Event>> {
        Ok(self
            .events()
            .await?
            .into_iter()
            .map(|e| e.event)
            .filter(|e| e.job_id() == Some(id))
            .collect())
    }

    /// The last event about one job.
    pub(crate) async fn last_event(&self, id: &JobId) -> CaseResult<Event> {
        self.job_events(id)
            .await?
            .pop()
            .ok_or_else(|| TestError::msg(format!("no event about job {id}")))
    }
}

/// A completion with return value `42`, keeping the job.
pub(crate) fn completed() -> AttemptEnd {
    completed_keeping(KeepJobs::All)
}

pub(crate) fn completed_keeping(keep: KeepJobs) -> AttemptEnd {
    AttemptEnd::Completed {
        return_value: "42".to_owned(),
        keep,
    }
}

/// A failure with reason `boom`.
pub(crate) fn failed(retry: Retry) -> AttemptEnd {
    AttemptEnd::Failed {
        reason: "boom".to_owned(),
        retry,
    }
}

/// A failure for good, keeping the job.
pub(crate) fn failed_for_good() -> AttemptEnd {
    failed(Retry::Never {
        keep: KeepJobs::All,
    })
}

pub(crate) fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub(crate) fn fetched_ids(fetched: &Fetched) -> Vec<String> {
    fetched.jobs.iter().map(|j| j.record.id.0.clone()).collect()
}

/// Fails unless `result` is the error `expected` describes.
pub(crate) fn expect_err<T: std::fmt::Debug>(
    result: Result<T, Error>,
    expected: &str,
    matches: impl Fn(&Error) -> bool,
) -> CaseResult {
    match result {
        Err(e) if matches(&e) => Ok(()),
        Err(e) => Err(TestError::msg(format!(
            "expected {expected}, got the error {e:?}"
        ))),
        Ok(value) => Err(TestError::msg(format!(
            "expected {expected}, got Ok({value:?})"
        ))),
    }
}

/// Waits, on the real clock, until `lock` taken at `taken_at` (real ms) has certainly expired.
///
/// Redis expires lock keys on its own clock (`PX`), not the caller's `now`, so a case about an
/// expired lock must let the real time pass; a store that judges locks by the caller's `now`
/// (SQLite) is then given `now_ms()`, which is past the expiry too.
pub(crate) async fn outlive_lock(taken_at: u64, lock: Duration) {
    let expires = taken_at + oxq_core::clock::millis(lock);
    let now = now_ms();
    if now <= expires {
        // Real time must pass (see above); the 5 ms margin covers clock granularity.
        tokio::time::sleep(Duration::from_millis(expires - now + 5)).await;
    }
}
