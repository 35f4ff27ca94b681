//! The processor a worker runs, type-erased to the [`AttemptResult`] it produced, and the
//! sentinel error [`Unrecoverable`].

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::job::Job;
use crate::steps::StepError;
use crate::worker::outcome::IntoOutcome;
use futures::future::BoxFuture;

/// Any error a processor returns.
pub use crate::error::BoxError;

/// What a processor's attempt produced, before the worker decides what happens next.
#[derive(Debug)]
#[doc(hidden)]
pub enum AttemptResult {
    /// The result, as JSON text.
    Completed(String),
    /// The attempt failed; `retryable` is false for [`Unrecoverable`], an explicit "fail for
    /// good", and worker-side failures that cannot get better (undecodable data, a deferred
    /// failure).
    Failed { reason: String, retryable: bool },
    /// Run the job again later without using an attempt.
    Delay(Resume),
    /// Wait for the job's children, then run it again, without using an attempt.
    WaitForChildren,
    /// Back to waiting without using an attempt; the whole queue starts nothing for this long.
    RateLimited(std::time::Duration),
}

/// When a delayed job runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Resume {
    /// This long after now, by the worker's clock.
    After(std::time::Duration),
    At(std::time::SystemTime),
}

pub(crate) type ErasedProcessor<T> =
    Arc<dyn Fn(Job<T>) -> BoxFuture<'static, AttemptResult> + Send + Sync>;

/// Wraps a user processor so the worker can hold it without its future and outcome types.
pub(crate) fn erase<T, F, Fut>(processor: F) -> ErasedProcessor<T>
where
    T: Send + 'static,
    F: Fn(Job<T>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    Arc::new(move |job: Job<T>| {
        // a step that asks the job to sleep says so here, whatever the processor returns
        let steps = job.steps_state().clone();
        let fut = processor(job);
        Box::pin(async move {
            let result = fut.await.into_attempt_result();
            let completed = matches!(result, AttemptResult::Completed(_));
            match steps.after_run(completed) {
                Some(until) => AttemptResult::Delay(Resume::At(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(until),
                )),
                None => result,
            }
        })
    })
}

/// A failed attempt from an error: retryable unless asked otherwise or the error chain holds
/// an [`Unrecoverable`].
pub(crate) fn failed(err: BoxError, retryable: bool) -> AttemptResult {
    AttemptResult::Failed {
        retryable: retryable && !is_unrecoverable(err.as_ref()),
        reason: describe(err.as_ref()),
    }
}

/// The error and its sources: `outer: inner: root`.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn is_unrecoverable(err: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        let final_step = e
            .downcast_ref::<StepError>()
            .is_some_and(StepError::is_final);
        if e.is::<Unrecoverable>() || final_step {
            return true;
        }
        current = e.source();
    }
    false
}

/// Return this (or an error whose source chain contains it) from a processor to fail the
/// job for good, whatever attempts it has left.
///
/// ```
/// # use oxq_core::Unrecoverable;
/// let err = Unrecoverable::new("card declined");
/// assert_eq!(err.to_string(), "card declined");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrecoverable(String);

impl Unrecoverable {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Unrecoverable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Unrecoverable {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Unrecoverable);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("charging failed")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn unrecoverable_is_found_anywhere_in_the_chain() {
        let err = Wrapper(Unrecoverable::new("card declined"));
        assert!(is_unrecoverable(&err));
        assert_eq!(describe(&err), "charging failed: card declined");
        assert!(!is_unrecoverable(&std::io::Error::other("x")));
    }
}
