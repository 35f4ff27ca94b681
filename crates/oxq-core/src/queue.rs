//! [`Queue`]: the producer and admin handle of one named queue.
//!
//! A `Queue<T>` adds jobs whose payload is `T` (stored as JSON), reads them back, and steers
//! the queue: pause/resume, drain, clean, obliterate, retry, promote. It is cheap to clone and
//! holds no connection of its own; the store behind it is an `Arc<dyn Backend>`.
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn oxq_core::Backend>) -> oxq_core::Result<()> {
//! use oxq_core::{JobOptions, Queue};
//! let queue: Queue<serde_json::Value> = Queue::new(backend, "emails")?;
//! let job = queue.add("welcome", serde_json::json!({"to": "a@b.c"}), JobOptions::new()).await?;
//! println!("added {}", job.id());
//! # Ok(()) }
//! ```

mod cancel;
mod dead_letters;
mod deduplication;
mod groups;
mod limits;
mod metrics;
mod schedulers;
mod workers;

pub use schedulers::JobTemplate;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{
    AddJobs, AddedJob, Backend, CleanQueue, DrainQueue, GetJob, JobAt, ListJobs, NewJob,
    ObliterateQueue, OfQueue, PromoteJobs, RemoveJob, RetryJobs, SetPaused,
};
use crate::clock::{Clock, SystemClock, millis};
use crate::error::{Error, Result};
use crate::ids::{JobId, QueueRef};
use crate::job::Job;
use crate::options::JobOptions;
use crate::record::{JobCounts, JobRecord, JobState};

/// Settings of a [`Queue`] handle.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Largest accepted payload, in bytes of JSON (default 5 MiB). Larger adds are rejected
    /// with [`Error::PayloadTooLarge`] and write nothing; a [`Worker`](crate::Worker) started
    /// on this handle fails a larger stored job (written by another producer) without running it.
    pub max_payload_bytes: usize,
    /// Where the handle and its workers read the time (default: [`SystemClock`]). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock) and move it instead of sleeping.
    pub clock: Arc<dyn Clock>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            max_payload_bytes: 5 * 1024 * 1024,
            clock: Arc::new(SystemClock),
        }
    }
}

impl QueueOptions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A handle on one queue whose jobs carry a `T`.
pub struct Queue<T = serde_json::Value> {
    backend: Arc<dyn Backend>,
    queue: QueueRef,
    options: QueueOptions,
    _payload: PhantomData<fn() -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            queue: self.queue.clone(),
            options: self.options.clone(),
            _payload: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("queue", &self.queue.key())
            .field("store", &self.backend.kind())
            .finish()
    }
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// A queue named `name` under the default prefix.
    pub fn new(backend: Arc<dyn Backend>, name: &str) -> Result<Self> {
        Ok(Self::from_ref(backend, QueueRef::new(name)?))
    }

    pub fn from_ref(backend: Arc<dyn Backend>, queue: QueueRef) -> Self {
        Self {
            backend,
            queue,
            options: QueueOptions::default(),
            _payload: PhantomData,
        }
    }

    /// The same queue with `options`, once they pass [`QueueOptions::validate`] (an
    /// [`Error::InvalidOptions`](crate::Error::InvalidOptions) naming the option and its range).
    pub fn with_options(mut self, options: QueueOptions) -> Result<Self> {
        options.validate()?;
        self.options = options;
        Ok(self)
    }

    /// The same queue, read and written as payload type `U`.
    pub fn typed<U>(&self) -> Queue<U> {
        Queue {
            backend: self.backend.clone(),
            queue: self.queue.clone(),
            options: self.options.clone(),
            _payload: PhantomData,
        }
    }

    pub fn name(&self) -> &str {
        &self.queue.name
    }

    pub fn queue_ref(&self) -> &QueueRef {
        &self.queue
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The largest payload this handle accepts (and its workers run), in bytes of JSON.
    pub(crate) fn max_payload_bytes(&self) -> usize {
        self.options.max_payload_bytes
    }

    /// The clock this handle and its workers read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.options.clock
    }

    fn now(&self) -> u64 {
        self.options.clock.now_ms()
    }

    /// Adds one job. With a custom id that exists, returns the existing job and changes nothing.
    /// With a [`Deduplication`](crate::Deduplication) id that another job owns, returns the job
    /// that stands (see [`AddedJob::Deduplicated`]); when that job is no longer stored (a
    /// throttle window outlives a job its retention removed) it returns the job passed in under
    /// the standing id, marked completed, as BullMQ does.
    pub async fn add(&self, name: &str, data: T, options: JobOptions) -> Result<Job<T>> {
        let mut jobs = self
            .add_bulk(vec![(name.to_owned(), data, options)])
            .await?;
        jobs.pop()
            .ok_or_else(|| Error::store("add returned no job"))
    }

    /// Adds many jobs in one call, in order. Every job is validated before any is written.
    pub async fn add_bulk(&self, jobs: Vec<(String, T, JobOptions)>) -> Result<Vec<Job<T>>> {
        let mut new_jobs = Vec::with_capacity(jobs.len());
        let mut payloads = Vec::with_capacity(jobs.len());
        for (name, data, options) in jobs {
            options.validate()?;
            if options.parent.is_some() {
                crate::flow::flows_of(self.backend.as_ref())?;
            }
            if options.deduplication.is_some() {
                self.dedup_ids()?;
            }
            if options.group.is_some() {
                self.groups_facet()?;
            }
            let json = serde_json::to_string(&data).map_err(Error::Encode)?;
            if json.len() > self.options.max_payload_bytes {
                return Err(Error::PayloadTooLarge {
                    size: json.len(),
                    limit: self.options.max_payload_bytes,
                });
            }
            payloads.push(data);
            new_jobs.push(NewJob {
                name,
                data: json,
                options,
            });
        }
        let now = self.now();
        let added = self
            .backend
            .job_add_bulk(AddJobs {
                queue: self.queue.clone(),
                jobs: new_jobs.clone(),
                now,
            })
            .await?
            .jobs;
        if added.len() != new_jobs.len() {
            return Err(Error::store(format!(
                "added {} jobs but the store answered for {}",
                new_jobs.len(),
                added.len()
            )));
        }
        let mut out = Vec::with_capacity(added.len());
        for ((added, new_job), data) in added.into_iter().zip(new_jobs).zip(payloads) {
            match added {
                AddedJob::Existing(record) => out.push(self.decode(*record)?),
                AddedJob::Deduplicated { id, standing, .. } => match standing {
                    Some(record) => out.push(self.decode(*record)?),
                    None => {
                        let mut record =
                            JobRecord::new(id, new_job.name, new_job.data, new_job.options, now);
                        record.state = JobState::Completed;
                        out.push(self.wrap(record, data));
                    }
                },
                AddedJob::Created { id, state } => {
                    let mut record =
                        JobRecord::new(id, new_job.name, new_job.data, new_job.options, now);
                    record.state = state;
                    record.due_at = (state == JobState::Delayed)
                        .then(|| record.options.delay.map(|d| now.saturating_add(millis(d))))
                        .flatten();
                    out.push(self.wrap(record, data));
                }
            }
        }
        Ok(out)
    }

    fn wrap(&self, record: JobRecord, data: T) -> Job<T> {
        Job::from_parts(
            record,
            data,
            self.backend.clone(),
            self.queue.clone(),
            self.options.clock.clone(),
        )
    }

    fn decode(&self, record: JobRecord) -> Result<Job<T>> {
        Job::decode(
            record,
            self.backend.clone(),
            self.queue.clone(),
            self.options.clock.clone(),
            None,
        )
    }

    pub async fn get_job(&self, id: &JobId) -> Result<Option<Job<T>>> {
        match self.get_record(id).await? {
            Some(record) => self.decode(record).map(Some),
            None => Ok(None),
        }
    }

    /// The job's record without decoding its payload (works for any payload).
    pub async fn get_record(&self, id: &JobId) -> Result<Option<JobRecord>> {
        self.backend
            .job_get(GetJob {
                queue: self.queue.clone(),
                job_id: id.clone(),
            })
            .await
    }

    /// A page of jobs in `states`, oldest first when `ascending`.
    pub async fn get_jobs(
        &self,
        states: &[JobState],
        offset: u64,
        limit: u64,
        ascending: bool,
    ) -> Result<Vec<Job<T>>> {
        let records = self
            .backend
            .jobs_list(ListJobs {
                queue: self.queue.clone(),
                states: states.to_vec(),
                offset,
                limit,
                ascending,
            })
            .await?;
        records.into_iter().map(|r| self.decode(r)).collect()
    }

    pub async fn counts(&self) -> Result<JobCounts> {
        self.backend.jobs_count(self.of_queue()).await
    }

    /// Stops workers from starting jobs; jobs keep arriving and stay waiting. Emits `paused`.
    pub async fn pause(&self) -> Result<()> {
        self.set_paused(true).await
    }

    pub async fn resume(&self) -> Result<()> {
        self.set_paused(false).await
    }

    async fn set_paused(&self, paused: bool) -> Result<()> {
        self.backend
            .queue_set_paused(SetPaused {
                queue: self.queue.clone(),
                paused,
                now: self.now(),
            })
            .await
    }

    pub async fn is_paused(&self) -> Result<bool> {
        Ok(self.backend.queue_status(self.of_queue()).await?.paused)
    }

    /// Removes every job waiting to run (and the delayed ones when asked); returns how many.
    pub async fn drain(&self, include_delayed: bool) -> Result<u64> {
        let drained = self
            .backend
            .queue_drain(DrainQueue {
                queue: self.queue.clone(),
                include_delayed,
            })
            .await?;
        Ok(drained.count)
    }

    /// Removes up to `limit` jobs in `state` older than `grace`; returns their ids.
    pub async fn clean(&self, state: JobState, grace: Duration, limit: u64) -> Result<Vec<JobId>> {
        let cleaned = self
            .backend
            .queue_clean(CleanQueue {
                queue: self.queue.clone(),
                state,
                grace,
                limit,
                now: self.now(),
            })
            .await?;
        Ok(cleaned.ids)
    }

    /// Deletes the queue and all its jobs; refuses while jobs are active unless `force`.
    pub async fn obliterate(&self, force: bool) -> Result<()> {
        self.backend
            .queue_obliterate(ObliterateQueue {
                queue: self.queue.clone(),
                force,
            })
            .await
    }

    /// Removes a job not held by a worker; `false` when it did not exist.
    pub async fn remove(&self, id: &JobId) -> Result<bool> {
        let removed = self
            .backend
            .job_remove(RemoveJob {
                queue: self.queue.clone(),
                job_id: id.clone(),
                now: self.now(),
            })
            .await?;
        Ok(removed.existed)
    }

    /// Runs a failed (or completed) job again.
    pub async fn retry_job(&self, id: &JobId) -> Result<()> {
        self.backend.job_retry(self.job_at(id)).await
    }

    /// Moves up to `limit` failed jobs back to waiting; returns how many moved.
    pub async fn retry_jobs(&self, limit: u64) -> Result<u64> {
        let now = self.now();
        let moved = self
            .backend
            .jobs_retry(RetryJobs {
                queue: self.queue.clone(),
                state: JobState::Failed,
                finished_before: now,
                limit,
                now,
            })
            .await?;
        Ok(moved.count)
    }

    /// Makes a delayed job runnable now.
    pub async fn promote(&self, id: &JobId) -> Result<()> {
        self.backend.job_promote(self.job_at(id)).await
    }

    /// Makes up to `limit` delayed jobs runnable now; returns how many moved.
    pub async fn promote_jobs(&self, limit: u64) -> Result<u64> {
        let moved = self
            .backend
            .jobs_promote(PromoteJobs {
                queue: self.queue.clone(),
                limit,
                now: self.now(),
            })
            .await?;
        Ok(moved.count)
    }

    fn job_at(&self, id: &JobId) -> JobAt {
        JobAt {
            queue: self.queue.clone(),
            job_id: id.clone(),
            now: self.now(),
        }
    }

    fn of_queue(&self) -> OfQueue {
        OfQueue {
            queue: self.queue.clone(),
        }
    }
}
