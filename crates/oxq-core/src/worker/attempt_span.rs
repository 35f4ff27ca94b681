//! One `tracing` span per attempt, so a subscriber (an OpenTelemetry layer, a log formatter)
//! sees every job a worker runs: `oxq.attempt` at `INFO` with `queue`, `job_id`, `name`,
//! `attempt` (the attempt's number, 1 for the first), and, once the attempt ended, `outcome`
//! (`completed`, `retrying`, `failed`, `delayed`, `waiting-children`, `rate-limited` or
//! `cancelled`) and `duration_ms`. The processor runs inside it, so its own spans and events
//! are children of the attempt.
//!
//! Cheap when nobody listens: with no subscriber interested in the span, `open` answers a
//! disabled span after one cached interest check, no field is formatted, and `traced` hands
//! back the attempt as it is.

use std::future::Future;
use std::time::Instant;

use futures::future::{BoxFuture, Either};
use tracing::{Instrument, Span, field};

use crate::backend::{AttemptEnd, Retry};
use crate::ids::QueueRef;
use crate::record::JobRecord;
use crate::worker::attempt::FinishedAttempt;

/// The span of the attempt `record` is about to make on `queue`.
pub(crate) fn open(record: &JobRecord, queue: &QueueRef) -> Span {
    tracing::info_span!(
        "oxq.attempt",
        queue = %queue,
        job_id = %record.id,
        name = %record.name,
        attempt = record.attempts_made.saturating_add(1),
        outcome = field::Empty,
        duration_ms = field::Empty,
    )
}

/// `attempt` inside `span`, recording its outcome and duration there: the attempt itself when
/// the span is disabled (nothing added to the task), else boxed with the span (one allocation
/// per job, only while a subscriber listens).
pub(crate) fn traced<F>(span: Span, attempt: F) -> Either<F, BoxFuture<'static, FinishedAttempt>>
where
    F: Future<Output = FinishedAttempt> + Send + 'static,
{
    if span.is_disabled() {
        return Either::Left(attempt);
    }
    Either::Right(Box::pin(async move {
        let began = Instant::now();
        let finished = attempt.instrument(span.clone()).await;
        span.record("outcome", outcome(&finished));
        span.record("duration_ms", began.elapsed().as_millis() as u64);
        finished
    }))
}

/// The word for how the attempt ended.
fn outcome(finished: &FinishedAttempt) -> &'static str {
    if finished.cancelled {
        return "cancelled";
    }
    match &finished.finish.end {
        AttemptEnd::Completed { .. } => "completed",
        AttemptEnd::Failed {
            retry: Retry::Never { .. },
            ..
        } => "failed",
        AttemptEnd::Failed { .. } => "retrying",
        AttemptEnd::Delayed { .. } => "delayed",
        AttemptEnd::WaitForChildren => "waiting-children",
        AttemptEnd::RateLimited { .. } => "rate-limited",
    }
}
