//! One attempt of one job: decode, run the processor under its timeout with panics caught,
//! and turn the result into the [`Finish`] the store records (with the store's memo the job was
//! fetched with). A job the store marked with a deferred failure, or whose payload exceeds the
//! queue's `max_payload_bytes`, fails without running.
//!
//! Timeouts and cancellation drop the processor's future (its destructors run then, before the
//! outcome is recorded): a job's `timeout` is counted from just before its processor is called,
//! and ends the attempt as a retryable failure `job timed out after N ms`. A cancelled job
//! (its token fired by the lock renewer: the store failed it already) gets `cancel_grace` to
//! return, then is dropped; either way nothing is recorded for it ([`FinishedAttempt::cancelled`]),
//! since the store refuses every write of a cancelled lock.
//!
//! The token is tokio-util's [`CancellationToken`] rather than a type of our own: it is what
//! async Rust code already accepts (`select!` on `cancelled()`, `run_until_cancelled`, child
//! tokens for the processor's own tasks), it is cheap to clone and check, and a processor can
//! hand it to libraries as is.
//!
//! Each attempt is a task of its own, and a task's future is copied as it is spawned: the work
//! before and after the processor is done in plain functions, so that across the one `.await`
//! the attempt keeps only the processor's boxed future, the few job options that decide what
//! follows ([`Rules`]) and the job's identity (well under a kilobyte, not a copy of the job).
//!
//! A completed or failed attempt's event carries its [`AttemptTiming`]: the attempt reads the
//! worker's clock as it ends (not with no event listener: nobody would hear it), and the
//! dispatcher adds the start it kept in the attempt's slot ([`Began`]), so that the task holds
//! nothing more across its `.await`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backend::{AttemptEnd, Backend, FetchedJob, Finish, Retry, StoreMemo};
use crate::clock::{Clock, epoch_ms, millis};
use crate::error::Error;
use crate::ids::{JobId, LockToken, QueueRef};
use crate::job::Job;
use crate::options::KeepJobs;
use crate::record::JobRecord;
use crate::worker::events::{AttemptTiming, WorkerEvent};
use crate::worker::options::WorkerOptions;
use crate::worker::processor::{AttemptResult, ErasedProcessor, Resume};

/// What the dispatcher records for a finished attempt.
#[derive(Debug)]
pub(crate) struct FinishedAttempt {
    pub finish: Finish,
    /// Reported to the listener once the store accepted `finish`.
    pub event: WorkerEvent,
    /// The job was cancelled while the attempt ran: the store failed it already and refuses
    /// `finish`, so nothing is sent; the worker only forgets the job.
    pub cancelled: bool,
}

/// Everything an attempt needs besides its job; one per worker, shared by every attempt.
pub(crate) struct AttemptContext<T> {
    pub backend: Arc<dyn Backend>,
    pub queue: QueueRef,
    pub processor: ErasedProcessor<T>,
    pub options: Arc<WorkerOptions>,
    /// The queue handle's `max_payload_bytes`: larger stored payloads fail without running.
    pub max_payload_bytes: usize,
    pub clock: Arc<dyn Clock>,
}

/// The job options that decide what follows the attempt, copied out before the job goes to the
/// processor.
struct Rules {
    attempts_made: u32,
    attempts: u32,
    backoff: Option<crate::Backoff>,
    remove_on_complete: Option<KeepJobs>,
    remove_on_fail: Option<KeepJobs>,
}

impl Rules {
    fn of(record: &JobRecord) -> Self {
        let options = &record.options;
        Self {
            attempts_made: record.attempts_made,
            attempts: options.attempts,
            backoff: options.backoff.clone(),
            remove_on_complete: options.remove_on_complete,
            remove_on_fail: options.remove_on_fail,
        }
    }
}

/// The processor was called and its future is pending, or the attempt ended without one.
enum Started {
    Running {
        processor: BoxFuture<'static, AttemptResult>,
        timeout: Option<Timeout>,
    },
    Ended(AttemptResult),
}

/// The job's `timeout`, counted from just before its processor was called.
struct Timeout {
    limit: Duration,
    deadline: Instant,
}

/// What the attempt keeps of its job while the processor runs: enough to say what follows.
struct Ending {
    job_id: JobId,
    token: LockToken,
    memo: StoreMemo,
    rules: Rules,
}

/// When an attempt started (the fetch's `processed_on`), and since when the job could run on
/// its first start (added, or its `delay` over); kept by the dispatcher with the attempt's
/// slot, and added to its event's [`AttemptTiming`] once it returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Began {
    at: Option<u64>,
    runnable_at: Option<u64>,
}

impl Began {
    pub(crate) fn of(record: &JobRecord) -> Self {
        // `attempts_started` counts this start already (0 from a store that predates it)
        let first = record.attempts_started <= 1;
        let delay = record.options.delay.map_or(0, millis);
        Self {
            at: record.processed_on,
            runnable_at: first.then(|| record.timestamp.saturating_add(delay)),
        }
    }

    /// Completes the timing of a completed or failed attempt's `event`.
    pub(crate) fn stamp(self, event: &mut WorkerEvent) {
        if let Some(timing) = event.timing_mut() {
            timing.started_at = self.at.unwrap_or(timing.ended_at);
            timing.runnable_at = self.runnable_at;
        }
    }
}

/// The timing of an attempt that ends now, with only its end (the dispatcher adds the rest);
/// the clock is not read when no listener would hear it.
fn ended<T>(cx: &AttemptContext<T>) -> AttemptTiming {
    if cx.options.listener.is_none() {
        return AttemptTiming::default();
    }
    AttemptTiming {
        ended_at: cx.clock.now_ms(),
        ..AttemptTiming::default()
    }
}

/// Runs the fetched `job` and decides its outcome.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn would copy its arguments into locals: a larger task per job"
)]
pub(crate) fn run_attempt<T: DeserializeOwned + Send + 'static>(
    fetched: FetchedJob,
    token: LockToken,
    cancellation: CancellationToken,
    cx: Arc<AttemptContext<T>>,
) -> impl Future<Output = FinishedAttempt> + Send + 'static {
    // (holds nothing of the job itself across the await)
    async move {
        let (started, ending) = start(fetched, token, &cancellation, &cx);
        let (processor, timeout) = match started {
            Started::Ended(result) => return ending.conclude(result, &cx),
            Started::Running { processor, timeout } => (processor, timeout),
        };
        let result =
            processor_result(processor, timeout, &cancellation, cx.options.cancel_grace).await;
        let mut finished = ending.conclude(result, &cx);
        finished.cancelled = cancellation.is_cancelled();
        finished
    }
}

/// Fails the job at once when it cannot run; otherwise decodes it and calls the processor.
fn start<T: DeserializeOwned>(
    fetched: FetchedJob,
    token: LockToken,
    cancellation: &CancellationToken,
    cx: &AttemptContext<T>,
) -> (Started, Ending) {
    let FetchedJob { mut record, memo } = fetched;
    let ending = Ending {
        job_id: record.id.clone(),
        token,
        memo,
        rules: Rules::of(&record),
    };
    let fail = |reason: String| {
        Started::Ended(AttemptResult::Failed {
            reason,
            retryable: false,
        })
    };
    if let Some(reason) = record.deferred_failure.take() {
        return (fail(reason), ending);
    }
    if record.data.len() > cx.max_payload_bytes {
        // written past the queue's limit by another producer: refused, like such an add
        let too_large = Error::PayloadTooLarge {
            size: record.data.len(),
            limit: cx.max_payload_bytes,
        };
        return (fail(too_large.to_string()), ending);
    }
    let limit = record.options.timeout;
    let job = match Job::<T>::decode(
        record,
        cx.backend.clone(),
        cx.queue.clone(),
        cx.clock.clone(),
        Some(ending.token.clone()),
    ) {
        Ok(job) => job.with_cancellation(cancellation.clone()),
        Err(e) => return (fail(e.to_string()), ending),
    };
    job.steps_state().set_limit(cx.max_payload_bytes);
    // The timeout covers the processor's synchronous part too (a deadline too far to represent
    // is no deadline).
    let timeout = limit.and_then(|limit| {
        Instant::now()
            .checked_add(limit)
            .map(|deadline| Timeout { limit, deadline })
    });
    // Calling the processor runs its synchronous part, which may panic as its future may.
    let started = match std::panic::catch_unwind(AssertUnwindSafe(|| (cx.processor)(job))) {
        Ok(processor) => Started::Running { processor, timeout },
        Err(panic) => Started::Ended(panicked(panic)),
    };
    (started, ending)
}

/// Awaits the processor's future, with panics caught, up to the job's timeout and no longer
/// than `grace` after its cancellation; the future is dropped when either passes.
async fn processor_result(
    processor: BoxFuture<'static, AttemptResult>,
    timeout: Option<Timeout>,
    cancellation: &CancellationToken,
    grace: Duration,
) -> AttemptResult {
    let mut caught = AssertUnwindSafe(processor).catch_unwind();
    let watched = async {
        // (the processor first: one that is ready at once never looks at the token)
        tokio::select! {
            biased;
            caught = &mut caught => return Some(caught),
            () = cancellation.cancelled() => {}
        }
        // boxed: a timer is large, and only a cancelled attempt needs one
        Box::pin(tokio::time::timeout(grace, &mut caught))
            .await
            .ok()
    };
    let caught = match timeout {
        None => watched.await,
        // boxed: a timer is large, and most jobs have no timeout
        Some(Timeout { limit, deadline }) => {
            match Box::pin(tokio::time::timeout_at(deadline, watched)).await {
                Ok(caught) => caught,
                Err(_) => {
                    return AttemptResult::Failed {
                        reason: format!("job timed out after {} ms", limit.as_millis()),
                        retryable: true,
                    };
                }
            }
        }
    };
    match caught {
        Some(caught) => caught.unwrap_or_else(panicked),
        // dropped `grace` after its cancellation
        None => AttemptResult::Failed {
            reason: crate::backend::CANCELLED_REASON.to_owned(),
            retryable: false,
        },
    }
}

/// A panic of the processor as a retryable failure.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> AttemptResult {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string value".to_owned());
    AttemptResult::Failed {
        reason: format!("processor panicked: {message}"),
        retryable: true,
    }
}

/// What the store records for the attempt's result, and what the listener hears once it has.
impl Ending {
    fn conclude<T>(self, result: AttemptResult, cx: &AttemptContext<T>) -> FinishedAttempt {
        let Ending {
            job_id,
            token,
            memo,
            rules,
        } = self;
        let result = match result {
            AttemptResult::WaitForChildren if cx.backend.flows().is_none() => {
                AttemptResult::Failed {
                    reason: crate::flow::flows_of(cx.backend.as_ref())
                        .err()
                        .map(|e| format!("cannot wait for children: {e}"))
                        .unwrap_or_default(),
                    retryable: false,
                }
            }
            AttemptResult::RateLimited(_) if cx.backend.limits().is_none() => {
                AttemptResult::Failed {
                    reason: format!(
                        "cannot rate limit the queue: the {} store has no rate limits",
                        cx.backend.kind()
                    ),
                    retryable: false,
                }
            }
            other => other,
        };
        let options = &cx.options;
        let (end, event) = match result {
            AttemptResult::Completed(return_value) => {
                let keep = rules
                    .remove_on_complete
                    .unwrap_or(options.remove_on_complete);
                let event = WorkerEvent::Completed {
                    job_id: job_id.clone(),
                    return_value: return_value.clone(),
                    timing: ended(cx),
                };
                (AttemptEnd::Completed { return_value, keep }, event)
            }
            AttemptResult::Failed { reason, retryable } => {
                let keep = rules.remove_on_fail.unwrap_or(options.remove_on_fail);
                let retry = if retryable {
                    decide_retry(
                        &rules.backoff,
                        rules.attempts_made,
                        rules.attempts,
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
                    timing: ended(cx),
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
            AttemptResult::RateLimited(duration) => {
                let event = WorkerEvent::RateLimited {
                    job_id: Some(job_id.clone()),
                    until: cx.clock.now_ms().saturating_add(millis(duration)),
                };
                (AttemptEnd::RateLimited { duration }, event)
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
            cancelled: false,
        }
    }
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
    fn an_attempt_task_keeps_no_second_copy_of_its_job() {
        // Spawned once per job, and copied as it is: the job it starts with must be the only
        // large thing in it (the old layout kept the record three times, about 3.8 KB).
        fn future_size<A, B, C, D, F>(_: fn(A, B, C, D) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let attempt = future_size(run_attempt::<serde_json::Value>);
        let job = std::mem::size_of::<FetchedJob>();
        assert!(
            attempt < job + 512,
            "an attempt's future is {attempt} bytes for a {job}-byte job"
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
