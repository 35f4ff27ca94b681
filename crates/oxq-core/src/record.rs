//! What a store keeps about one job ([`JobRecord`]) and the states a job moves through.
//!
//! Records carry the payload as JSON text; the typed [`Job`](crate::Job) decodes it. Keeping
//! the text lets a worker fail a job whose data does not decode instead of losing it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::JobId;
use crate::options::JobOptions;

/// Where a job is in its life. A paused queue keeps its jobs `Waiting` (as BullMQ 6 does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Ready to run, in FIFO/LIFO order, before any prioritized job.
    Waiting,
    /// Ready to run, ordered by priority.
    Prioritized,
    /// Not before a due time (a delayed add or a backoff between attempts).
    Delayed,
    /// Held by a worker under a lock.
    Active,
    /// A parent waiting for its children (flows).
    WaitingChildren,
    Completed,
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Waiting,
        JobState::Prioritized,
        JobState::Delayed,
        JobState::Active,
        JobState::WaitingChildren,
        JobState::Completed,
        JobState::Failed,
    ];

    /// The name BullMQ and the stores use: `waiting`, `waiting-children`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting",
            JobState::Prioritized => "prioritized",
            JobState::Delayed => "delayed",
            JobState::Active => "active",
            JobState::WaitingChildren => "waiting-children",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
        }
    }

    /// Completed or failed: no worker will touch the job again unless it is retried.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                Error::invalid(format!(
                    "unknown job state {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// One job as a store keeps it. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobRecord {
    pub id: JobId,
    pub name: String,
    /// The payload, as JSON text.
    pub data: String,
    pub options: JobOptions,
    pub state: JobState,
    /// When the job was added.
    pub timestamp: u64,
    /// When the current or last attempt started.
    pub processed_on: Option<u64>,
    pub finished_on: Option<u64>,
    /// Attempts that have ended (completed, failed, or failed and retried).
    pub attempts_made: u32,
    /// Attempts that have started (an attempt lost to a crash counts here, not above).
    pub attempts_started: u32,
    /// Times the job was recovered from a worker that stopped renewing its lock.
    pub stalled_count: u32,
    /// Progress as JSON text (a number or any JSON value); `0` when never reported.
    pub progress: String,
    /// The processor's result as JSON text, once completed.
    pub return_value: Option<String>,
    /// The error of the last failed attempt.
    pub failed_reason: Option<String>,
    /// The error of every failed attempt, oldest first.
    pub stacktrace: Vec<String>,
    /// When the job is due, while it is delayed.
    pub due_at: Option<u64>,
    /// Set by stalled recovery beyond the limit: the next worker to fetch the job fails it with this reason.
    pub deferred_failure: Option<String>,
    /// The name of the worker that ran the last attempt, when it had one.
    pub processed_by: Option<String>,
}

impl JobRecord {
    /// A record for a job about to be added; stores fill in id, state and timestamp as they write it.
    pub fn new(id: JobId, name: String, data: String, options: JobOptions, timestamp: u64) -> Self {
        Self {
            id,
            name,
            data,
            options,
            state: JobState::Waiting,
            timestamp,
            processed_on: None,
            finished_on: None,
            attempts_made: 0,
            attempts_started: 0,
            stalled_count: 0,
            progress: "0".to_owned(),
            return_value: None,
            failed_reason: None,
            stacktrace: Vec::new(),
            due_at: None,
            deferred_failure: None,
            processed_by: None,
        }
    }
}

/// How many jobs a queue holds in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub waiting: u64,
    pub prioritized: u64,
    pub delayed: u64,
    pub active: u64,
    pub waiting_children: u64,
    pub completed: u64,
    pub failed: u64,
}

impl JobCounts {
    pub fn get(&self, state: JobState) -> u64 {
        match state {
            JobState::Waiting => self.waiting,
            JobState::Prioritized => self.prioritized,
            JobState::Delayed => self.delayed,
            JobState::Active => self.active,
            JobState::WaitingChildren => self.waiting_children,
            JobState::Completed => self.completed,
            JobState::Failed => self.failed,
        }
    }

    pub fn set(&mut self, state: JobState, count: u64) {
        let slot = match state {
            JobState::Waiting => &mut self.waiting,
            JobState::Prioritized => &mut self.prioritized,
            JobState::Delayed => &mut self.delayed,
            JobState::Active => &mut self.active,
            JobState::WaitingChildren => &mut self.waiting_children,
            JobState::Completed => &mut self.completed,
            JobState::Failed => &mut self.failed,
        };
        *slot = count;
    }

    /// Jobs in any state.
    pub fn total(&self) -> u64 {
        JobState::ALL.iter().map(|s| self.get(*s)).sum()
    }
}
