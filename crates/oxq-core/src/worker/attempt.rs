//! One attempt of one job: decode, run the processor under its timeout with panics caught,
//! and turn the result into the [`Finish`] the store records (with the store's memo the job was
//! fetched with). A job the store marked with a
//! deferred failure, or whose payload exceeds the queue's `max_payload_bytes`, fails without
//! running.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde::de::DeserializeOwned;

use crate::backend::{AttemptEnd, Backend, FetchedJob, Finish, Retry};
use crate::clock::{Clock, epoch_ms, millis};
use crate::error::Error;
use crate::ids::{LockToken, QueueRef};
use crate::job::Job;
use crate::options::KeepJobs;
use crate::worker::events::WorkerEvent;
use crate::worker::options::WorkerOptions;
use crate::worker::processor::{AttemptResult, ErasedProcessor, Resume};

/// What the dispatcher records for a finished attempt.
#[derive(Debug)]
pub(crate) struct FinishedAttempt {
    pub finish: Finish,
    /// Reported to the listener once the store accepted `finish`.
    pub event: WorkerEvent,
}

/// Everything an attempt needs besides its job; cloned (cheaply) into each attempt's task.
pub(crate) struct AttemptContext<T> {
    pub backend: Arc<dyn Backend>,
    pub queue: QueueRef,
    pub processor: ErasedProcessor<T>,
    pub options: Arc<WorkerOptions>,
    /// The queue handle's `max_payload_bytes`: larger stored payloads fail without running.
    pub max_payload_bytes: usize,
    pub clock: Arc<dyn Clock>,
}

impl<T> Clone for AttemptContext<T> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            queue: self.queue.clone(),
            processor: self.processor.clone(),
            options: self.options.clone(),
            max_payload_bytes: self.max_payload_bytes,
            clock: self.clock.clone(),
        }
    }
}

/// Runs the fetched `job` and decides its outcome.
pub(crate) async fn run_attempt<T: DeserializeOwned + Send + 'static>(
    fetched: FetchedJob,
    token: LockToken,
    cx: AttemptContext<T>,
) -> FinishedAttempt {
    let FetchedJob { record, memo } = fetched;
    let job_id = record.id.clone();
    let attempts_made = record.attempts_made;
    let job_options = record.options.clone();
    let result = if let Some(reason) = record.deferred_failure.clone() {
        AttemptResult::Failed {
            reason,
            retryable: false,
        }
    } else if record.data.len() > cx.max_payload_bytes {
        // written past the queue's limit by another producer: refused, like such an add
        AttemptResult::Failed {
            reason: Error::PayloadTooLarge {
                size: record.data.len(),
                limit: cx.max_payload_bytes,
            }
            .to_string(),
            retryable: false,
        }
    } else {
        match Job::<T>::decode(
            record,
            cx.backend.clone(),
            cx.queue.clone(),
            cx.clock.clone(),
            Some(token.clone()),
        ) {
            Err(e) => AttemptResult::Failed {
                reason: e.to_string(),
                retryable: false,
            },
            Ok(job) => run_processor(job, &cx.processor, job_options.timeout).await,
        }
    };

    let result = match result {
        AttemptResult::WaitForChildren if cx.backend.flows().is_none() => AttemptResult::Failed {
            reason: crate::flow::flows_of(cx.backend.as_ref())
                .err()
                .map(|e| format!("cannot wait for children: {e}"))
                .unwrap_or_default(),
            retryable: false,
        },
        other => other,
    };
    let options = &cx.options;
    let (end, event) = match result {
        AttemptResult::Completed(return_value) => {
            let keep = job_options
                .remove_on_complete
                .unwrap_or(options.remove_on_complete);
            let event = WorkerEvent::Completed {
                job_id: job_id.clone(),
                return_value: return_value.clone(),
            };
            (AttemptEnd::Completed { return_value, keep }, event)
        }
        AttemptResult::Failed { reason, retryable } => {
            let keep = job_options.remove_on_fail.unwrap_or(options.remove_on_fail);
            let retry = if retryable {
                decide_retry(
                    &job_options.backoff,
                    attempts_made,
                    job_options.attempts,
                    &reason,
                    options,
                    keep,
                )
            } else {
                Retry::Never { keep }
            };
            let event = WorkerEvent::Failed {
                job_id: job_id.clone(),
                reason: reason.clone(),
                retrying: !matches!(retry, Retry::Never { .. }),
            };
            (AttemptEnd::Failed { reason, retry }, event)
        }
        AttemptResult::Delay(resume) => {
            let until = match resume {
                Resume::After(d) => cx.clock.now_ms().saturating_add(millis(d)),
                Resume::At(t) => epoch_ms(t),
            };
            let event = WorkerEvent::Delayed {
                job_id: job_id.clone(),
                until,
            };
            (AttemptEnd::Delayed { until }, event)
        }
        AttemptResult::WaitForChildren => {
            let event = WorkerEvent::WaitingChildren {
                job_id: job_id.clone(),
            };
            (AttemptEnd::WaitForChildren, event)
        }
    };
    FinishedAttempt {
        finish: Finish {
            job_id,
            token,
            end,
            memo,
        },
        event,
    }
}

async fn run_processor<T>(
    job: Job<T>,
    processor: &ErasedProcessor<T>,
    timeout: Option<Duration>,
) -> AttemptResult {
    // Calling the processor runs its synchronous part, which may panic too: call it inside the
    // future so that `catch_unwind` sees that panic as well.
    let attempt = AssertUnwindSafe(async move { processor(job).await }).catch_unwind();
    let caught = match timeout {
        None => attempt.await,
        Some(limit) => match tokio::time::timeout(limit, attempt).await {
            Ok(caught) => caught,
            Err(_) => {
                return AttemptResult::Failed {
                    reason: format!("job timed out after {} ms", limit.as_millis()),
                    retryable: true,
                };
            }
        },
    };
    caught.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string value".to_owned());
        AttemptResult::Failed {
            reason: format!("processor panicked: {message}"),
            retryable: true,
        }
    })
}

/// Retry now, after a backoff, or never, following BullMQ's rule: attempt `n+1` happens
/// while `attempts_made + 1 < attempts`.
pub(crate) fn decide_retry(
    backoff: &Option<crate::Backoff>,
    attempts_made: u32,
    attempts: u32,
    reason: &str,
    options: &WorkerOptions,
    keep: KeepJobs,
) -> Retry {
    if attempts_made.saturating_add(1) >= attempts {
        return Retry::Never { keep };
    }
    let next_attempt = attempts_made + 2;
    let Some(backoff) = backoff else {
        return Retry::Now;
    };
    let delay = match backoff {
        crate::Backoff::Custom { name, delay } => match options.backoff_strategies.get(name) {
            Some(strategy) => match strategy(next_attempt, reason, *delay) {
                Some(d) => d,
                None => return Retry::Never { keep },
            },
            None => {
                tracing::error!(strategy = %name, "job uses a custom backoff this worker does not know; failing it");
                return Retry::Never { keep };
            }
        },
        other => other
            .delay_for(next_attempt, &mut rand::rng())
            .unwrap_or_default(),
    };
    if delay.is_zero() {
        Retry::Now
    } else {
        Retry::After(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backoff;

    #[test]
    fn retries_until_attempts_are_used_up() {
        let opts = WorkerOptions::default();
        let keep = KeepJobs::All;
        let fixed = Some(Backoff::fixed(Duration::from_millis(50)));
        assert_eq!(
            decide_retry(&fixed, 0, 3, "e", &opts, keep),
            Retry::After(Duration::from_millis(50))
        );
        assert_eq!(
            decide_retry(&fixed, 2, 3, "e", &opts, keep),
            Retry::Never { keep }
        );
        assert_eq!(decide_retry(&None, 0, 2, "e", &opts, keep), Retry::Now);
        assert_eq!(
            decide_retry(&None, 0, 1, "e", &opts, keep),
            Retry::Never { keep }
        );
    }

    #[test]
    fn custom_strategies_decide_the_delay_or_stop_retrying() {
        let opts =
            WorkerOptions::default().backoff_strategy("linear", |n, _, d| (n < 4).then(|| d * n));
        let custom = Some(Backoff::Custom {
            name: "linear".into(),
            delay: Duration::from_millis(10),
        });
        let keep = KeepJobs::All;
        assert_eq!(
            decide_retry(&custom, 0, 10, "e", &opts, keep),
            Retry::After(Duration::from_millis(20))
        );
        assert_eq!(
            decide_retry(&custom, 2, 10, "e", &opts, keep),
            Retry::Never { keep }
        );
        let unknown = Some(Backoff::custom("nope"));
        assert_eq!(
            decide_retry(&unknown, 0, 10, "e", &opts, keep),
            Retry::Never { keep }
        );
    }
}
