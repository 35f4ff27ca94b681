//! A completion the store refused because the job still waits on its children.
//!
//! A parent that returns `Complete` while a child is pending (the store answers
//! [`Error::PendingDependencies`]) or after a child failed it (`FailedDependency`) is still
//! active under the worker's lock; the store applied nothing. The worker then fails that
//! attempt: retried per the job's attempts and backoff for pending children (they may be done
//! by the next attempt; a processor should return `Outcome::WaitForChildren` instead), and for
//! good for a failed child, as BullMQ does (its −4 and −9). This is off the hot path: it re-reads
//! the job for its options, once, only after such a refusal.

use std::sync::Arc;

use crate::backend::{AttemptEnd, Backend, Finish, FinishJobs, GetJob, Retry};
use crate::clock::Clock;
use crate::error::Error;
use crate::ids::QueueRef;
use crate::worker::attempt::decide_retry;
use crate::worker::events::{AttemptTiming, WorkerEvent};
use crate::worker::maintenance::notify;
use crate::worker::options::WorkerOptions;

/// Whether the store refused a completion for the job's children (see the module docs).
pub(crate) fn is_dependency_refusal(error: &Error) -> bool {
    matches!(
        error,
        Error::PendingDependencies { .. } | Error::FailedDependency { .. }
    )
}

/// Records the refused completion `finish` as a failed attempt with `error` as its reason;
/// its event carries the attempt's `timing`.
pub(crate) async fn fail_refused_completion(
    backend: Arc<dyn Backend>,
    queue: QueueRef,
    clock: Arc<dyn Clock>,
    options: Arc<WorkerOptions>,
    finish: Finish,
    timing: AttemptTiming,
    error: Error,
) {
    let reason = error.to_string();
    let record = backend
        .job_get(GetJob {
            queue: queue.clone(),
            job_id: finish.job_id.clone(),
        })
        .await;
    let retry = match (&error, record) {
        (Error::PendingDependencies { .. }, Ok(Some(record))) => {
            let keep = record
                .options
                .remove_on_fail
                .unwrap_or(options.remove_on_fail);
            decide_retry(
                &record.options.backoff,
                record.attempts_made,
                record.options.attempts,
                &reason,
                &options,
                keep,
            )
        }
        (_, Ok(Some(record))) => Retry::Never {
            keep: record
                .options
                .remove_on_fail
                .unwrap_or(options.remove_on_fail),
        },
        // gone or unreadable: a lock that lapses hands the job to stalled recovery
        (_, Ok(None) | Err(_)) => return,
    };
    let job_id = finish.job_id.clone();
    let retrying = !matches!(retry, Retry::Never { .. });
    let result = backend
        .job_finish(FinishJobs {
            queue: queue.clone(),
            now: clock.now_ms(),
            items: vec![Finish {
                end: AttemptEnd::Failed {
                    reason: reason.clone(),
                    retry,
                },
                ..finish
            }],
            fetch_next: None,
            metrics: options.metrics,
        })
        .await
        .map(|done| done.items.into_iter().next());
    match result {
        Ok(Some(Ok(()))) => notify(
            &options,
            &WorkerEvent::Failed {
                job_id,
                reason,
                retrying,
                timing,
            },
        ),
        Ok(Some(Err(e))) | Err(e) => {
            tracing::warn!(queue = %queue, job_id = %job_id, error = %e, "cannot fail a parent whose completion was refused; stalled recovery will run it again");
        }
        Ok(None) => {}
    }
}
