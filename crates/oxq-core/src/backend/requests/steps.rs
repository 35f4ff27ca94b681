//! Requests and answers of the [`Steps`](crate::backend::Steps) facet.

use crate::ids::{JobId, LockToken, QueueRef};

/// Which job's entries and signals to read.
#[derive(Debug, Clone)]
pub struct ReadSteps {
    pub queue: QueueRef,
    pub job_id: JobId,
}

/// A job's stored entries and signals, each ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStepEntries {
    /// Step name → the entry the runtime wrote (JSON text).
    pub entries: Vec<(String, String)>,
    /// Signal name → its payload (JSON text).
    pub signals: Vec<(String, String)>,
}

/// One entry to write under the job's lock.
#[derive(Debug, Clone)]
pub struct SaveStep {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub token: LockToken,
    pub name: String,
    /// JSON text, stored as given.
    pub entry: String,
    /// The signal the job now waits for (`None` clears it).
    pub waits_for: Option<String>,
}

/// What [`SaveStep`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedStep {
    /// The payload of the `waits_for` signal, when it had been sent already.
    pub signal: Option<String>,
}

/// A signal for a job.
#[derive(Debug, Clone)]
pub struct SendSignal {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub name: String,
    /// JSON text.
    pub payload: String,
    pub now: u64,
}

/// What [`SendSignal`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalSent {
    /// The job was delayed waiting for this signal and is runnable now.
    pub woke: bool,
}
