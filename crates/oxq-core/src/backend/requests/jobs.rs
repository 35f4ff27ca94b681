//! Requests and answers of the job calls: add, read, list, count, progress, logs, remove,
//! promote, retry.

use crate::ids::{JobId, QueueRef};
use crate::options::JobOptions;
use crate::record::{JobRecord, JobState};

/// A job to add: name, JSON payload and validated options.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub name: String,
    pub data: String,
    pub options: JobOptions,
}

#[derive(Debug, Clone)]
pub struct AddJobs {
    pub queue: QueueRef,
    pub jobs: Vec<NewJob>,
    pub now: u64,
}

/// One entry per [`NewJob`], in order.
#[derive(Debug, Clone, Default)]
pub struct AddedJobs {
    pub jobs: Vec<AddedJob>,
}

/// The outcome of adding one job, decided in the same atomic step that wrote (or did not
/// write) it.
#[derive(Debug, Clone, PartialEq)]
pub enum AddedJob {
    /// The job was written and starts in `state` (the store's rule: delayed, prioritized, ...).
    Created { id: JobId, state: JobState },
    /// The custom id existed: nothing was written; this is the job that stands, as it was read
    /// in the same step.
    Existing(Box<JobRecord>),
    /// The deduplication id was owned (see [`crate::deduplication`]): nothing was written, or
    /// (keep-last-if-active) the job was kept aside to run once the owner finishes. `id` is the
    /// job that stands, `rejected` the id this add was given (named by the `deduplicated`
    /// event), and `standing` that job as read in the same step; `None` when it is no longer
    /// stored (it finished and its retention removed it while a throttle window holds).
    Deduplicated {
        id: JobId,
        rejected: JobId,
        standing: Option<Box<JobRecord>>,
    },
}

impl AddedJob {
    pub fn id(&self) -> &JobId {
        match self {
            AddedJob::Created { id, .. } => id,
            AddedJob::Existing(record) => &record.id,
            AddedJob::Deduplicated { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GetJob {
    pub queue: QueueRef,
    pub job_id: JobId,
}

/// Which jobs to list, and which page.
#[derive(Debug, Clone)]
pub struct ListJobs {
    pub queue: QueueRef,
    pub states: Vec<JobState>,
    pub offset: u64,
    pub limit: u64,
    /// Oldest first when true. Per state, "oldest" means: next to run for waiting and
    /// prioritized, soonest due for delayed, earliest finished for completed and failed.
    pub ascending: bool,
}

#[derive(Debug, Clone)]
pub struct UpdateProgress {
    pub queue: QueueRef,
    pub job_id: JobId,
    /// JSON text.
    pub progress: String,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct AddLog {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub line: String,
    /// Keep only the newest this many lines.
    pub keep_logs: Option<u32>,
    pub now: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogAdded {
    /// Lines the job has now.
    pub total: u64,
}

#[derive(Debug, Clone)]
pub struct ReadLogs {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobLogs {
    pub lines: Vec<String>,
    pub total: u64,
}

#[derive(Debug, Clone)]
pub struct RemoveJob {
    pub queue: QueueRef,
    pub job_id: JobId,
    /// Decides whether a worker's lock on the job is still live, and stamps the `removed` event.
    pub now: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRemoved {
    /// False when there was no such job.
    pub existed: bool,
}

/// One job, at a time.
#[derive(Debug, Clone)]
pub struct JobAt {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct RetryJobs {
    pub queue: QueueRef,
    /// `Failed` or `Completed`.
    pub state: JobState,
    /// Only jobs finished at or before this time.
    pub finished_before: u64,
    pub limit: u64,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct PromoteJobs {
    pub queue: QueueRef,
    pub limit: u64,
    pub now: u64,
}

/// How many jobs a bulk retry or promote moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovedJobs {
    pub count: u64,
}
