//! [`StepError`]: why a step call did not return a value.

use crate::error::{BoxError, Error};

/// Why a step, sleep or wait did not return a value. Propagate it with `?`: the worker reads
/// [`StepError::Suspended`] as "move the job to delayed" and the other variants as a failed
/// attempt ([`StepError::GaveUp`], [`StepError::TooLarge`] and [`StepError::Decode`] fail the
/// job for good: running it again cannot help).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The step's closure failed; the attempt fails and the job is retried per its attempts.
    #[error("step {step:?} failed")]
    Failed {
        step: String,
        #[source]
        source: BoxError,
    },

    /// The step failed as many times as its [`StepOptions::attempts`](super::StepOptions)
    /// allow: the job fails for good.
    #[error("step {step:?} failed {failures} times, its limit")]
    GaveUp {
        step: String,
        failures: u32,
        #[source]
        source: BoxError,
    },

    /// The job sleeps (or waits for a signal) until `until` (ms since the epoch): not a
    /// failure. The worker moves the job to delayed without using an attempt.
    #[error("job suspended by step {step:?} until {until} ms since the epoch")]
    Suspended { step: String, until: u64 },

    /// The step's result, as stored, is larger than the queue's `max_payload_bytes`: nothing
    /// was stored and the job fails for good. Store a reference (an id, a URL) instead.
    #[error(
        "step {step:?}: its result is {size} bytes, over the limit of {limit} bytes \
         (the queue's max_payload_bytes); return a reference to large data instead"
    )]
    TooLarge {
        step: String,
        size: usize,
        limit: usize,
    },

    /// The stored result of `step` does not decode as the type asked for (the code changed the
    /// step's type, or the name is used by a sleep or a wait): the job fails for good.
    #[error("step {step:?}: the stored entry does not fit this call: {reason}")]
    Decode { step: String, reason: String },

    /// The step's result cannot be written as JSON: the job fails for good.
    #[error("step {step:?}: cannot encode its result as JSON: {reason}")]
    Encode { step: String, reason: String },

    /// `step` was called twice in one run; each name may be used once.
    #[error("step {step:?} is called twice in one run; step names must be unique")]
    DuplicateName { step: String },

    /// Steps only run inside a worker's processor (they write under the job's lock).
    #[error("step {step:?}: steps run only inside a worker's processor")]
    OutsideWorker { step: String },

    /// The store refused or failed the read or write (a lost lock, a store without steps).
    #[error("step {step:?}: {source}")]
    Store {
        step: String,
        #[source]
        source: Error,
    },
}

impl StepError {
    /// True for the errors after which running the job again cannot help.
    pub(crate) fn is_final(&self) -> bool {
        matches!(
            self,
            StepError::GaveUp { .. }
                | StepError::TooLarge { .. }
                | StepError::Decode { .. }
                | StepError::Encode { .. }
                | StepError::DuplicateName { .. }
                | StepError::OutsideWorker { .. }
        ) || matches!(
            self,
            StepError::Store {
                source: Error::Unsupported { .. },
                ..
            }
        )
    }
}
