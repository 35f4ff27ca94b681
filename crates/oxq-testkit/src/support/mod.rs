//! Helpers the cases share: waiting for a condition with a time limit (never a bare sleep),
//! moving a case's clock and settling its workers ([`advance_and_settle`]), a
//! [`Recorder`] of what processors saw, a [`WorkerEvents`] listener, an [`InFlight`] gauge, a
//! [`Gate`] that holds processors until the case opens it, a [`Faulty`] store wrapper that
//! counts fetches and stages outages, and readers of queue events.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobCounts, JobId, JobOptions, JobRecord, JobState, Queue, WorkerOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{CaseResult, TestError};

mod clock;
mod faulty;
mod listeners;
mod recorder;
mod sync;

pub use clock::{CANARY, advance_and_settle};
pub use faulty::{Fault, Faulty};
pub use listeners::{
    WorkerEvents, events_until, is_final, is_subsequence, listen, names, names_for,
};
pub use recorder::{Attempt, Recorder};
pub use sync::{Gate, InFlight, InFlightGuard};

/// The default limit for a wait inside a case: generous, because a loaded CI machine is slow,
/// yet short enough that a hung case reports quickly.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(20);

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Polls `check` until it answers `true`; fails naming `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> CaseResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CaseResult<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(TestError::msg(format!(
                "timed out after {timeout:?} waiting for {what}"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the queue's counts satisfy `pred`, and returns them.
pub async fn wait_for_counts<T>(
    queue: &Queue<T>,
    what: &str,
    pred: impl Fn(&JobCounts) -> bool,
) -> CaseResult<JobCounts>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let last = Mutex::new(JobCounts::default());
    let result = wait_until(what, WAIT, || async {
        let counts = queue.counts().await?;
        *lock(&last) = counts;
        Ok(pred(&counts))
    })
    .await;
    let counts = *lock(&last);
    result.map_err(|e| TestError::msg(format!("{e}; last counts: {counts:?}")))?;
    Ok(counts)
}

/// Waits until job `id` is in `state`, and returns its record.
pub async fn wait_for_state<T>(
    queue: &Queue<T>,
    id: &JobId,
    state: JobState,
) -> CaseResult<JobRecord>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let what = format!("job {id} to be {state}");
    wait_until(&what, WAIT, || async {
        Ok(queue
            .get_record(id)
            .await?
            .is_some_and(|record| record.state == state))
    })
    .await?;
    record(queue, id).await
}

/// Waits until job `id`'s record satisfies `pred` (described by `what`), and returns it.
pub async fn wait_for_record<T>(
    queue: &Queue<T>,
    id: &JobId,
    what: &str,
    pred: impl Fn(&JobRecord) -> bool,
) -> CaseResult<JobRecord>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let last = Mutex::new(None);
    let result = wait_until(&format!("job {id}: {what}"), WAIT, || async {
        let found = queue.get_record(id).await?;
        let done = found.as_ref().is_some_and(&pred);
        *lock(&last) = found;
        Ok(done)
    })
    .await;
    let last = lock(&last).take();
    match (result, last) {
        (Ok(()), Some(record)) => Ok(record),
        (Err(e), last) => Err(TestError::msg(format!("{e}; last record: {last:?}"))),
        (Ok(()), None) => Err(TestError::msg(format!("job {id} is gone"))),
    }
}

/// The job's record, or a failure saying it is gone.
pub async fn record<T>(queue: &Queue<T>, id: &JobId) -> CaseResult<JobRecord>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    queue
        .get_record(id)
        .await?
        .ok_or_else(|| TestError::msg(format!("job {id} does not exist")))
}

/// Adds `n` jobs named `job-<i>` with payload `{"n": i}`; returns their ids in add order.
pub async fn add_numbered(
    queue: &Queue<Value>,
    n: u64,
    options: JobOptions,
) -> CaseResult<Vec<JobId>> {
    let jobs = (0..n)
        .map(|i| (format!("job-{i}"), json!({ "n": i }), options.clone()))
        .collect();
    Ok(queue
        .add_bulk(jobs)
        .await?
        .iter()
        .map(|job| job.id().clone())
        .collect())
}

/// Starts a worker with `options` on `queue`, waits until `jobs` jobs finished (completed or
/// failed for good), and closes it. Jobs named `fail` fail; the others complete with `null`.
/// Returns the attempts in start order (concurrency 1 runs them in queue order).
pub async fn run_to_end(
    queue: &Queue<Value>,
    options: WorkerOptions,
    jobs: usize,
) -> CaseResult<Vec<Attempt>> {
    run_jobs(queue, options, jobs, Duration::ZERO).await
}

/// [`run_to_end`] at concurrency 1 with every job taking `DISTINCT_FINISH` (3 ms), so no two jobs
/// finish in the same millisecond. Cases about which jobs finished *last* need it: stores order
/// finished jobs by their finish time in ms (BullMQ's Redis layout scores `completed` and
/// `failed` by `finishedOn`, and Redis breaks ties by the id's text, so "10" sorts before "7").
pub async fn run_to_end_one_by_one(
    queue: &Queue<Value>,
    options: WorkerOptions,
    jobs: usize,
) -> CaseResult<Vec<Attempt>> {
    run_jobs(queue, options.concurrency(1), jobs, DISTINCT_FINISH).await
}

/// How long each job of [`run_to_end_one_by_one`] takes: over one millisecond, with margin for
/// a coarse timer.
const DISTINCT_FINISH: Duration = Duration::from_millis(3);

async fn run_jobs(
    queue: &Queue<Value>,
    options: WorkerOptions,
    jobs: usize,
    duration: Duration,
) -> CaseResult<Vec<Attempt>> {
    let recorder = Recorder::new();
    let (options, mut events) = listen(options);
    let worker = oxq_core::Worker::start(queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let fail = job.name() == "fail";
            async move {
                if !duration.is_zero() {
                    tokio::time::sleep(duration).await;
                }
                if fail {
                    Err::<Value, BoxError>("failing on purpose".into())
                } else {
                    Ok(Value::Null)
                }
            }
        }
    });
    events.finished(jobs, WAIT).await?;
    worker.close().await?;
    let attempts = recorder.attempts();
    if attempts.len() != jobs {
        return Err(TestError::msg(format!(
            "expected {jobs} attempts, {} ran: {:?}",
            attempts.len(),
            recorder.names()
        )));
    }
    Ok(attempts)
}
