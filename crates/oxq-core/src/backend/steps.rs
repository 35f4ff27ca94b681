//! The [`Steps`] facet: durable steps of a job (memoized step results, durable sleeps and
//! signals), kept by a store beside the job.
//!
//! A store that has it answers `Some(self)` from [`Backend::steps`](super::Backend::steps). It
//! keeps, per job, a map of *entries* (step name → JSON text the runtime writes and reads, see
//! [`crate::steps`]) and a map of *signals* (signal name → JSON payload), plus the name of the
//! signal the job waits for, if any. The store does not interpret entries.
//!
//! * They live and die with the job: removal, retention (`remove_on_complete`/`remove_on_fail`),
//!   `clean`, `drain` and `obliterate` delete them in the same step as the job. A retry of a
//!   finished job keeps them (the retried run returns the stored results).
//! * An entry is written only under the job's lock ([`Error::LockLost`](crate::Error::LockLost)
//!   otherwise, [`Error::JobNotFound`](crate::Error::JobNotFound) when there is no such job).
//! * A signal may be written at any time to an existing job, in any state; when the job is
//!   delayed and waits for that signal, the same step makes it runnable (as a promote does:
//!   `waiting` with `prev: delayed`).
//! * The other half of that handshake is in the finish: a delayed end
//!   ([`AttemptEnd::Delayed`](super::AttemptEnd::Delayed)) of a job that waits for a signal
//!   already sent (it came while the job was still active) does not park the job: the same step
//!   makes it runnable at once (front of its line, or prioritized; `waiting` with
//!   `prev: active`) and clears the awaited name. Only a delayed end looks (one read of the
//!   awaited name): completions, failures and the other ends pay nothing for it.
//! * Nothing here is written for a job that never used steps, and nothing read but the
//!   awaited name at a delayed end: the core calls do not look at entries.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{JobStepEntries, ReadSteps, SaveStep, SavedStep, SendSignal, SignalSent};

/// Durable steps of a store. See the module docs.
#[async_trait]
pub trait Steps: Send + Sync {
    /// The job's entries and signals; `None` when the job does not exist.
    async fn steps_read(&self, req: ReadSteps) -> Result<Option<JobStepEntries>>;

    /// Writes one entry under the job's lock and sets (or clears) the signal the job waits for,
    /// in one atomic step; answers the payload of that signal when it was already sent.
    async fn step_save(&self, req: SaveStep) -> Result<SavedStep>;

    /// Records a signal for a job (replacing one of the same name) and wakes the job when it is
    /// delayed waiting for it. [`Error::JobNotFound`](crate::Error::JobNotFound) when there is
    /// no such job.
    async fn job_signal(&self, req: SendSignal) -> Result<SignalSent>;
}
