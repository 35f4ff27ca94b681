//! [`Job`]: one job with its typed payload, as a processor or a queue reader sees it.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::backend::{AddLog, Backend, JobLogs, ReadLogs, UpdateProgress};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::ids::{JobId, LockToken, QueueRef};
use crate::options::JobOptions;
use crate::record::{JobRecord, JobState};
use crate::steps::StepsState;

/// The largest step entry a job read outside a worker would store (a worker sets its queue
/// handle's `max_payload_bytes`); the queue's default.
const DEFAULT_STEP_LIMIT: usize = 5 * 1024 * 1024;

/// A job and its payload of type `T`. Progress and log writes go straight to the store.
pub struct Job<T = serde_json::Value> {
    record: JobRecord,
    data: T,
    backend: Arc<dyn Backend>,
    queue: QueueRef,
    clock: Arc<dyn Clock>,
    token: Option<LockToken>,
    /// This attempt's durable steps (see [`crate::steps`]), shared with the worker.
    steps: Arc<StepsState>,
    /// Fired by the worker running the job when the store says it was cancelled.
    cancellation: Option<CancellationToken>,
}

impl<T: fmt::Debug> fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("queue", &self.queue.key())
            .field("id", &self.record.id)
            .field("name", &self.record.name)
            .field("state", &self.record.state)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Job<T> {
    /// Decodes a record's payload; the error names the job.
    pub(crate) fn decode(
        record: JobRecord,
        backend: Arc<dyn Backend>,
        queue: QueueRef,
        clock: Arc<dyn Clock>,
        token: Option<LockToken>,
    ) -> Result<Self> {
        let data = serde_json::from_str(&record.data).map_err(|source| Error::Decode {
            job_id: record.id.to_string(),
            source,
        })?;
        Ok(Self {
            record,
            data,
            backend,
            queue,
            clock,
            token,
            cancellation: None,
            steps: Arc::new(StepsState::new(DEFAULT_STEP_LIMIT)),
        })
    }
}

impl<T> Job<T> {
    pub(crate) fn from_parts(
        record: JobRecord,
        data: T,
        backend: Arc<dyn Backend>,
        queue: QueueRef,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            record,
            data,
            backend,
            queue,
            clock,
            token: None,
            cancellation: None,
            steps: Arc::new(StepsState::new(DEFAULT_STEP_LIMIT)),
        }
    }

    /// The token the worker fires when the job is cancelled while this attempt runs.
    pub(crate) fn with_cancellation(mut self, cancellation: CancellationToken) -> Self {
        self.cancellation = Some(cancellation);
        self
    }

    pub fn id(&self) -> &JobId {
        &self.record.id
    }

    pub fn name(&self) -> &str {
        &self.record.name
    }

    pub fn data(&self) -> &T {
        &self.data
    }

    pub fn into_data(self) -> T {
        self.data
    }

    pub fn queue(&self) -> &QueueRef {
        &self.queue
    }

    pub fn options(&self) -> &JobOptions {
        &self.record.options
    }

    /// The state when this value was read (a processor sees `Active`).
    pub fn state(&self) -> JobState {
        self.record.state
    }

    /// Attempts that ended before this one.
    pub fn attempts_made(&self) -> u32 {
        self.record.attempts_made
    }

    /// Attempts started, this one included.
    pub fn attempts_started(&self) -> u32 {
        self.record.attempts_started
    }

    pub fn stalled_count(&self) -> u32 {
        self.record.stalled_count
    }

    /// The last reported progress (a number or any JSON value; `0` when never reported).
    pub fn progress(&self) -> serde_json::Value {
        serde_json::from_str(&self.record.progress)
            .unwrap_or_else(|_| serde_json::Value::String(self.record.progress.clone()))
    }

    /// The processor's result, decoded as `R`; `None` until the job completed.
    pub fn return_value<R: DeserializeOwned>(&self) -> Option<Result<R>> {
        let text = self.record.return_value.as_deref()?;
        Some(serde_json::from_str(text).map_err(|source| Error::Decode {
            job_id: self.record.id.to_string(),
            source,
        }))
    }

    /// The error of the last failed attempt.
    pub fn failed_reason(&self) -> Option<&str> {
        self.record.failed_reason.as_deref()
    }

    /// The error of every failed attempt, oldest first.
    pub fn stacktrace(&self) -> &[String] {
        &self.record.stacktrace
    }

    /// When the job was added (ms since the epoch).
    pub fn timestamp(&self) -> u64 {
        self.record.timestamp
    }

    /// When the current or last attempt started.
    pub fn processed_on(&self) -> Option<u64> {
        self.record.processed_on
    }

    pub fn finished_on(&self) -> Option<u64> {
        self.record.finished_on
    }

    /// Everything the store keeps about the job, payload as JSON text.
    pub fn record(&self) -> &JobRecord {
        &self.record
    }

    /// The store this job lives in.
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// This attempt's durable steps.
    pub(crate) fn steps_state(&self) -> &Arc<StepsState> {
        &self.steps
    }

    /// The time by the job's clock (ms since the epoch).
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The lock token of the worker running this job (`None` outside a processor).
    pub fn token(&self) -> Option<&LockToken> {
        self.token.as_ref()
    }

    /// A token that fires when the job is cancelled ([`Queue::cancel`](crate::Queue::cancel),
    /// from any process) while this attempt runs: the worker learns of it at its next lock
    /// renewal (every quarter of `lock_duration`). The job is failed with the reason
    /// `cancelled` already; whatever the processor returns afterwards is dropped, and a
    /// processor still running [`cancel_grace`](crate::WorkerOptions::cancel_grace) after the
    /// token fired (or at its timeout, if that comes first) is dropped. Outside a processor (a
    /// job read from a queue) the token never fires.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancellation.clone().unwrap_or_default()
    }

    /// Resolves when the job is cancelled (see [`Job::cancellation`]); never outside a
    /// processor.
    pub async fn cancelled(&self) {
        match &self.cancellation {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    }

    /// Whether the worker has been told that the job was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    }

    /// Reports progress: a number (`42`) or any JSON value (`{"page": 3}`). Emits `progress`.
    pub async fn update_progress(&mut self, progress: impl Serialize) -> Result<()> {
        let progress = serde_json::to_string(&progress).map_err(Error::Encode)?;
        self.backend
            .job_update_progress(UpdateProgress {
                queue: self.queue.clone(),
                job_id: self.record.id.clone(),
                progress: progress.clone(),
                now: self.clock.now_ms(),
            })
            .await?;
        self.record.progress = progress;
        Ok(())
    }

    /// Appends a line to the job's log; returns how many lines it has.
    pub async fn log(&self, line: impl Into<String>) -> Result<u64> {
        let added = self
            .backend
            .job_log_add(AddLog {
                queue: self.queue.clone(),
                job_id: self.record.id.clone(),
                line: line.into(),
                keep_logs: None,
                now: self.clock.now_ms(),
            })
            .await?;
        Ok(added.total)
    }

    /// Reads the job's log lines, `limit` from `offset` (oldest first).
    pub async fn logs(&self, offset: u64, limit: u64) -> Result<JobLogs> {
        self.backend
            .job_logs(ReadLogs {
                queue: self.queue.clone(),
                job_id: self.record.id.clone(),
                offset,
                limit,
            })
            .await
    }
}
