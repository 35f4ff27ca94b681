//! [`Instrumented`]: every [`Backend`] call in one `tracing` span, in one place.
//!
//! `oxq::connect` wraps whatever store a URL opens (and only there), so stores stay free of
//! logging boilerplate. Span: `oxq.store` at `DEBUG` with fields `store`, `op`, `queue`; a failed
//! call logs its error at `DEBUG` inside the span (the runtime decides what deserves a warning).
//! Each optional facet of the seam gets its own file beside this one when it lands.

mod cancel;
mod dead_letters;
mod deduplication;
mod flows;
mod groups;
mod limits;
mod metrics;
mod schedulers;
mod steps;
mod workers;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;

use super::*;

/// Wraps a store so that each call is traced.
#[derive(Debug)]
pub struct Instrumented {
    inner: Arc<dyn Backend>,
}

impl Instrumented {
    pub fn wrap(inner: Arc<dyn Backend>) -> Arc<dyn Backend> {
        Arc::new(Self { inner })
    }

    /// The store this wraps.
    pub fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    async fn traced<T>(
        &self,
        op: &'static str,
        queue: &(dyn std::fmt::Display + Sync),
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let span = tracing::debug_span!("oxq.store", store = self.inner.kind(), op, queue = %queue);
        async move {
            let result = call.await;
            if let Err(e) = &result {
                tracing::debug!(error = %e, "store call failed");
            }
            result
        }
        .instrument(span)
        .await
    }
}

/// The `Backend` impl: each `$op($req) -> $answer` forwards to the store inside a span named
/// after the request's `$scope` field (the queue, or the prefix for `queues_list`). The whole
/// impl is generated so that `#[async_trait]` sees the expanded methods.
macro_rules! traced_backend {
    ($($op:ident($req:ty) -> $answer:ty, $scope:ident;)*) => {
        #[async_trait]
        impl Backend for Instrumented {
            fn kind(&self) -> &'static str {
                self.inner.kind()
            }

            fn capabilities(&self) -> Capabilities {
                self.inner.capabilities()
            }

            fn schedulers(&self) -> Option<&dyn Schedulers> {
                self.inner.schedulers().map(|_| self as &dyn Schedulers)
            }

            fn flows(&self) -> Option<&dyn Flows> {
                self.inner.flows().map(|_| self as &dyn Flows)
            }

            fn deduplication(&self) -> Option<&dyn DedupIds> {
                self.inner.deduplication().map(|_| self as &dyn DedupIds)
            }

            fn steps(&self) -> Option<&dyn Steps> {
                self.inner.steps().map(|_| self as &dyn Steps)
            }

            fn dead_letters(&self) -> Option<&dyn DeadLetters> {
                self.inner.dead_letters().map(|_| self as &dyn DeadLetters)
            }

            fn limits(&self) -> Option<&dyn Limits> {
                self.inner.limits().map(|_| self as &dyn Limits)
            }

            fn groups(&self) -> Option<&dyn Groups> {
                self.inner.groups().map(|_| self as &dyn Groups)
            }

            fn cancellation(&self) -> Option<&dyn Cancellation> {
                self.inner.cancellation().map(|_| self as &dyn Cancellation)
            }

            fn workers(&self) -> Option<&dyn Workers> {
                self.inner.workers().map(|_| self as &dyn Workers)
            }

            fn metrics(&self) -> Option<&dyn Metrics> {
                self.inner.metrics().map(|_| self as &dyn Metrics)
            }

            $(
                async fn $op(&self, req: $req) -> Result<$answer> {
                    let scope = req.$scope.clone();
                    self.traced(stringify!($op), &scope, self.inner.$op(req)).await
                }
            )*
        }
    };
}

traced_backend! {
    job_add_bulk(AddJobs) -> AddedJobs, queue;
    job_get(GetJob) -> Option<JobRecord>, queue;
    jobs_list(ListJobs) -> Vec<JobRecord>, queue;
    jobs_count(OfQueue) -> JobCounts, queue;
    job_move_to_active(FetchJobs) -> Fetched, queue;
    queue_wait(WaitForJobs) -> Wakeup, queue;
    job_finish(FinishJobs) -> FinishResult, queue;
    locks_extend(ExtendLocks) -> ExtendedLocks, queue;
    stalled_recover(RecoverStalled) -> RecoveredStalled, queue;
    job_update_progress(UpdateProgress) -> (), queue;
    job_log_add(AddLog) -> LogAdded, queue;
    job_logs(ReadLogs) -> JobLogs, queue;
    job_remove(RemoveJob) -> JobRemoved, queue;
    job_promote(JobAt) -> (), queue;
    job_retry(JobAt) -> (), queue;
    jobs_retry(RetryJobs) -> MovedJobs, queue;
    jobs_promote(PromoteJobs) -> MovedJobs, queue;
    queue_set_paused(SetPaused) -> (), queue;
    queue_status(OfQueue) -> QueueStatus, queue;
    queue_drain(DrainQueue) -> DrainedJobs, queue;
    queue_clean(CleanQueue) -> CleanedJobs, queue;
    queue_obliterate(ObliterateQueue) -> (), queue;
    queues_list(ListQueues) -> Vec<QueueRef>, prefix;
    events_latest(OfQueue) -> Option<EventId>, queue;
    events_read(ReadEvents) -> Vec<StoredEvent>, queue;
}
