//! [`Outcome`]: what a processor tells the worker to do with its job, and [`IntoOutcome`],
//! which lets a processor return either an `Outcome` or a plain `Result`.
//!
//! ```
//! use std::time::Duration;
//! use oxq_core::worker::Outcome;
//! # struct Api; impl Api { fn busy(&self) -> bool { true } }
//! # let api = Api;
//! // inside a processor
//! let outcome: Outcome<&str> = if api.busy() {
//!     Outcome::DelayFor(Duration::from_secs(30)) // run again later; no attempt used
//! } else {
//!     Outcome::Complete("sent")
//! };
//! ```
//!
//! | outcome | the job | attempts made |
//! |---|---|---|
//! | `Complete(value)` | completed with `value` as its return value | +1 |
//! | `Fail(err)` | retried per its attempts and backoff, else failed | +1 |
//! | `FailForGood(err)` | failed now, whatever attempts remain | +1 |
//! | `DelayFor(d)` / `DelayUntil(t)` | delayed until then, then runs again | unchanged |
//! | `WaitForChildren` | waits for its pending children, then runs again | unchanged |
//! | `RateLimited(d)` | back to the front of waiting; the whole queue starts nothing for `d` | unchanged |
//!
//! A processor may also return `Result<R, E>` (`Ok` completes, `Err` fails, or fails for good
//! when the error chain holds an [`Unrecoverable`](super::Unrecoverable)) or
//! `Result<Outcome<R>, E>` (so `?` works in a processor that returns outcomes). The enum is
//! `#[non_exhaustive]`: more outcomes may join it.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::worker::processor::{AttemptResult, BoxError, Resume, failed};

/// What a processor's attempt decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome<R> {
    /// Complete the job with this return value (stored as JSON).
    Complete(R),
    /// Fail the attempt; the job is retried while it has attempts left, after its backoff.
    Fail(BoxError),
    /// Fail the job now, whatever attempts it has left.
    FailForGood(BoxError),
    /// Put the job back to delayed for this long, by the worker's clock, without using an
    /// attempt; it runs again (on any worker) once due.
    DelayFor(Duration),
    /// Put the job back to delayed until this time, without using an attempt. A time in the past
    /// makes it runnable at once.
    DelayUntil(SystemTime),
    /// Wait for the children this job added (with [`JobOptions::parent`](crate::JobOptions::parent)
    /// set to [`Job::as_parent`](crate::Job::as_parent)), then run it again, without using an
    /// attempt; with no child pending it runs again at once. BullMQ's `moveToWaitingChildren`.
    /// Needs a store with flows.
    WaitForChildren,
    /// The processor hit a rate limit (an external API answered 429): the job goes back to
    /// waiting, at the front of its line, without using an attempt, and no worker of the queue
    /// (on any process) starts a job for this long. BullMQ's `worker.rateLimit(ms)` followed by
    /// a `RateLimitError`. Needs a store with rate limits. On Redis, a Node BullMQ worker with
    /// neither a `limiter` nor a global rate limit set on the queue does not see the pause (as
    /// in BullMQ).
    RateLimited(Duration),
}

impl<R> Outcome<R> {
    /// [`Outcome::Fail`] from any error.
    pub fn fail(err: impl Into<BoxError>) -> Self {
        Outcome::Fail(err.into())
    }

    /// [`Outcome::FailForGood`] from any error.
    pub fn fail_for_good(err: impl Into<BoxError>) -> Self {
        Outcome::FailForGood(err.into())
    }
}

/// What a processor's future may resolve to.
pub trait IntoOutcome: Send + 'static {
    #[doc(hidden)]
    fn into_attempt_result(self) -> AttemptResult;
}

impl<R: Serialize + Send + 'static> IntoOutcome for Outcome<R> {
    fn into_attempt_result(self) -> AttemptResult {
        match self {
            Outcome::Complete(value) => completed(&value),
            Outcome::Fail(err) => failed(err, true),
            Outcome::FailForGood(err) => failed(err, false),
            Outcome::DelayFor(d) => AttemptResult::Delay(Resume::After(d)),
            Outcome::DelayUntil(t) => AttemptResult::Delay(Resume::At(t)),
            Outcome::WaitForChildren => AttemptResult::WaitForChildren,
            Outcome::RateLimited(d) => AttemptResult::RateLimited(d),
        }
    }
}

impl<R, E> IntoOutcome for Result<R, E>
where
    R: Serialize + Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    fn into_attempt_result(self) -> AttemptResult {
        match self {
            Ok(value) => completed(&value),
            Err(err) => failed(err.into(), true),
        }
    }
}

impl<R, E> IntoOutcome for Result<Outcome<R>, E>
where
    R: Serialize + Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    fn into_attempt_result(self) -> AttemptResult {
        match self {
            Ok(outcome) => outcome.into_attempt_result(),
            Err(err) => failed(err.into(), true),
        }
    }
}

fn completed<R: Serialize>(value: &R) -> AttemptResult {
    match serde_json::to_string(value) {
        Ok(json) => AttemptResult::Completed(json),
        Err(e) => AttemptResult::Failed {
            reason: format!("cannot encode the return value as JSON: {e}"),
            retryable: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Unrecoverable;

    #[test]
    fn results_and_outcomes_map_to_the_same_attempt_results() {
        let ok: Result<u32, std::io::Error> = Ok(7);
        assert!(matches!(ok.into_attempt_result(), AttemptResult::Completed(j) if j == "7"));
        let unrecoverable: Result<u32, Unrecoverable> = Err(Unrecoverable::new("no"));
        assert!(matches!(
            unrecoverable.into_attempt_result(),
            AttemptResult::Failed {
                retryable: false,
                ..
            }
        ));
        let fail: Outcome<()> = Outcome::fail(std::io::Error::other("boom"));
        assert!(matches!(
            fail.into_attempt_result(),
            AttemptResult::Failed { retryable: true, reason } if reason == "boom"
        ));
        let for_good: Outcome<()> = Outcome::fail_for_good("bad card");
        assert!(matches!(
            for_good.into_attempt_result(),
            AttemptResult::Failed {
                retryable: false,
                ..
            }
        ));
        let nested: Result<Outcome<()>, std::io::Error> =
            Ok(Outcome::DelayFor(Duration::from_secs(1)));
        assert!(matches!(
            nested.into_attempt_result(),
            AttemptResult::Delay(Resume::After(d)) if d == Duration::from_secs(1)
        ));
    }
}
