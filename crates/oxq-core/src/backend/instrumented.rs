//! [`Instrumented`]: every [`Backend`] call in one `tracing` span, in one place.
//!
//! The facade wraps whatever store a URL opens, so stores stay free of logging boilerplate.
//! Span: `oxq.store` at `DEBUG` with fields `store`, `op`, `queue`; a failed call logs its
//! error at `DEBUG` inside the span (the runtime decides what deserves a warning).

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

    async fn traced<T>(
        &self,
        op: &'static str,
        queue: &QueueRef,
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

#[async_trait]
impl Backend for Instrumented {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn job_add_bulk(&self, req: AddJobs) -> Result<Vec<AddedJob>> {
        let queue = req.queue.clone();
        self.traced("job_add_bulk", &queue, self.inner.job_add_bulk(req))
            .await
    }

    async fn job_get(&self, queue: &QueueRef, id: &JobId) -> Result<Option<JobRecord>> {
        self.traced("job_get", queue, self.inner.job_get(queue, id))
            .await
    }

    async fn jobs_list(&self, req: ListJobs) -> Result<Vec<JobRecord>> {
        let queue = req.queue.clone();
        self.traced("jobs_list", &queue, self.inner.jobs_list(req))
            .await
    }

    async fn jobs_count(&self, queue: &QueueRef) -> Result<JobCounts> {
        self.traced("jobs_count", queue, self.inner.jobs_count(queue))
            .await
    }

    async fn job_move_to_active(&self, req: FetchJobs) -> Result<Fetched> {
        let queue = req.queue.clone();
        self.traced(
            "job_move_to_active",
            &queue,
            self.inner.job_move_to_active(req),
        )
        .await
    }

    async fn queue_wait(&self, req: WaitForJobs) -> Result<Wakeup> {
        let queue = req.queue.clone();
        self.traced("queue_wait", &queue, self.inner.queue_wait(req))
            .await
    }

    async fn job_finish(&self, req: FinishJobs) -> Result<FinishResult> {
        let queue = req.queue.clone();
        self.traced("job_finish", &queue, self.inner.job_finish(req))
            .await
    }

    async fn locks_extend(&self, req: ExtendLocks) -> Result<Vec<JobId>> {
        let queue = req.queue.clone();
        self.traced("locks_extend", &queue, self.inner.locks_extend(req))
            .await
    }

    async fn stalled_recover(&self, req: RecoverStalled) -> Result<Vec<JobId>> {
        let queue = req.queue.clone();
        self.traced("stalled_recover", &queue, self.inner.stalled_recover(req))
            .await
    }

    async fn job_update_progress(&self, req: UpdateProgress) -> Result<()> {
        let queue = req.queue.clone();
        self.traced(
            "job_update_progress",
            &queue,
            self.inner.job_update_progress(req),
        )
        .await
    }

    async fn job_log_add(&self, req: AddLog) -> Result<u64> {
        let queue = req.queue.clone();
        self.traced("job_log_add", &queue, self.inner.job_log_add(req))
            .await
    }

    async fn job_logs(&self, req: ReadLogs) -> Result<JobLogs> {
        let queue = req.queue.clone();
        self.traced("job_logs", &queue, self.inner.job_logs(req))
            .await
    }

    async fn job_remove(&self, queue: &QueueRef, id: &JobId) -> Result<bool> {
        self.traced("job_remove", queue, self.inner.job_remove(queue, id))
            .await
    }

    async fn job_promote(&self, req: JobAt) -> Result<()> {
        let queue = req.queue.clone();
        self.traced("job_promote", &queue, self.inner.job_promote(req))
            .await
    }

    async fn job_retry(&self, req: JobAt) -> Result<()> {
        let queue = req.queue.clone();
        self.traced("job_retry", &queue, self.inner.job_retry(req))
            .await
    }

    async fn jobs_retry(&self, req: RetryJobs) -> Result<u64> {
        let queue = req.queue.clone();
        self.traced("jobs_retry", &queue, self.inner.jobs_retry(req))
            .await
    }

    async fn jobs_promote(&self, req: PromoteJobs) -> Result<u64> {
        let queue = req.queue.clone();
        self.traced("jobs_promote", &queue, self.inner.jobs_promote(req))
            .await
    }

    async fn queue_pause(&self, queue: &QueueRef, now: u64) -> Result<()> {
        self.traced("queue_pause", queue, self.inner.queue_pause(queue, now))
            .await
    }

    async fn queue_resume(&self, queue: &QueueRef, now: u64) -> Result<()> {
        self.traced("queue_resume", queue, self.inner.queue_resume(queue, now))
            .await
    }

    async fn queue_is_paused(&self, queue: &QueueRef) -> Result<bool> {
        self.traced("queue_is_paused", queue, self.inner.queue_is_paused(queue))
            .await
    }

    async fn queue_drain(&self, req: DrainQueue) -> Result<u64> {
        let queue = req.queue.clone();
        self.traced("queue_drain", &queue, self.inner.queue_drain(req))
            .await
    }

    async fn queue_clean(&self, req: CleanQueue) -> Result<Vec<JobId>> {
        let queue = req.queue.clone();
        self.traced("queue_clean", &queue, self.inner.queue_clean(req))
            .await
    }

    async fn queue_obliterate(&self, req: ObliterateQueue) -> Result<()> {
        let queue = req.queue.clone();
        self.traced("queue_obliterate", &queue, self.inner.queue_obliterate(req))
            .await
    }

    async fn queues_list(&self, prefix: &str) -> Result<Vec<QueueRef>> {
        let span = tracing::debug_span!(
            "oxq.store",
            store = self.inner.kind(),
            op = "queues_list",
            prefix
        );
        self.inner.queues_list(prefix).instrument(span).await
    }

    async fn events_latest(&self, queue: &QueueRef) -> Result<Option<EventId>> {
        self.traced("events_latest", queue, self.inner.events_latest(queue))
            .await
    }

    async fn events_read(&self, req: ReadEvents) -> Result<Vec<StoredEvent>> {
        let queue = req.queue.clone();
        self.traced("events_read", &queue, self.inner.events_read(req))
            .await
    }
}
