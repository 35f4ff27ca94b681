//! Cancellation through the public API: [`Queue::cancel`]'s answers, and a running job's
//! processor seeing its token at the worker's next lock renewal (the case moves the clock, which
//! makes the worker renew at once), its result dropped, and one that ignores its token dropped
//! after `cancel_grace` or at its timeout, whichever comes first. A cancelled job is never run
//! again and never retried.

use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{CANCELLED_REASON, CancelOutcome, Event, Job, JobId, JobOptions, JobState, Queue};
use oxq_core::{QueueEvents, Worker, WorkerEvent};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{Recorder, WAIT, events_until, listen, record};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// Sends on its channel when dropped: shows that a processor's future was dropped.
struct DropSignal(mpsc::UnboundedSender<JobId>, JobId);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(self.1.clone());
    }
}

/// The job is failed with the reason `cancelled`, after `attempts_made` attempts.
async fn ensure_cancelled(queue: &Queue<Value>, id: &JobId, attempts_made: u32) -> CaseResult {
    let job = record(queue, id).await?;
    ensure_eq!(job.state, JobState::Failed, "state of job {id}");
    ensure_eq!(
        job.failed_reason.as_deref(),
        Some(CANCELLED_REASON),
        "failed reason of job {id}"
    );
    ensure_eq!(
        job.attempts_made,
        attempts_made,
        "attempts made of job {id}"
    );
    Ok(())
}

/// Each answer of `cancel`: a waiting job cancelled now, a delayed and a prioritized one the
/// same, a finished one left alone, an unknown id; counts show the cancelled jobs as failed.
pub async fn cancel_answers_what_it_did(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let waiting = queue.add("w", json!(1), JobOptions::new()).await?;
    let delayed = queue
        .add(
            "d",
            json!(2),
            JobOptions::new().delay(Duration::from_secs(3600)),
        )
        .await?;
    let prioritized = queue
        .add("p", json!(3), JobOptions::new().priority(5))
        .await?;
    for (job, prev) in [
        (&waiting, JobState::Waiting),
        (&delayed, JobState::Delayed),
        (&prioritized, JobState::Prioritized),
    ] {
        ensure_eq!(
            queue.cancel(job.id()).await?,
            CancelOutcome::Cancelled { prev },
            "cancelling job {}",
            job.id()
        );
        ensure_cancelled(&queue, job.id(), 0).await?;
    }
    ensure_eq!(
        queue.cancel(waiting.id()).await?,
        CancelOutcome::AlreadyFinished {
            state: JobState::Failed
        },
        "cancelling it again"
    );
    ensure_eq!(
        queue.cancel(&JobId::from("missing")).await?,
        CancelOutcome::NotFound,
        "an unknown id"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (
            counts.failed,
            counts.waiting,
            counts.delayed,
            counts.prioritized
        ),
        (3, 0, 0, 0),
        "counts (failed, waiting, delayed, prioritized)"
    );
    // a worker started now runs none of them
    let recorder = Recorder::new();
    let sentinel = queue.add("sentinel", json!(0), JobOptions::new()).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, recorder.processor());
    events.finished(1, WAIT).await?;
    worker.close().await?;
    ensure_eq!(recorder.ids(), vec![sentinel.id().clone()], "jobs run");
    Ok(())
}

/// A running job's processor sees its token when the worker next renews its locks (the case
/// moves the clock, which renews at once); what it returns then is dropped: the job stays
/// failed as cancelled, with no attempt counted and no retry though attempts remain; the
/// worker reports `Cancelled` and goes on; the queue's events say `cancelled`.
pub async fn a_running_job_sees_its_token_at_the_next_renewal(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let job = queue
        .add("long", json!(0), JobOptions::new().attempts(3))
        .await?;
    let mut queue_events =
        QueueEvents::after(queue.backend().clone(), queue.queue_ref().clone(), None);
    let (started_tx, mut started) = mpsc::unbounded_channel::<JobId>();
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<(JobId, bool, bool)>();
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let (started_tx, seen_tx) = (started_tx.clone(), seen_tx.clone());
            async move {
                if job.name() == "long" {
                    let _ = started_tx.send(job.id().clone());
                    job.cancelled().await;
                    let flags = (job.is_cancelled(), job.cancellation().is_cancelled());
                    let _ = seen_tx.send((job.id().clone(), flags.0, flags.1));
                }
                Ok::<_, BoxError>(json!("done"))
            }
        }
    });
    receive(&mut started, "the job to start").await?;
    ensure_eq!(
        queue.cancel(job.id()).await?,
        CancelOutcome::Requested,
        "cancelling the running job"
    );
    ensure_cancelled(&queue, job.id(), 0).await?;
    let period = h.worker_options().lock_duration / 4;
    h.clock().advance(period);
    ensure_eq!(
        receive(&mut seen, "the processor to see its token").await?,
        (job.id().clone(), true, true),
        "job whose token fired, is_cancelled, its token's state"
    );
    events
        .wait_for(
            "the worker's Cancelled event",
            WAIT,
            |e| matches!(e, WorkerEvent::Cancelled { job_id } if job_id == job.id()),
        )
        .await?;
    let next = queue.add("next", json!(0), JobOptions::new()).await?;
    events.finished(1, WAIT).await?;
    worker.close().await?;
    ensure_cancelled(&queue, job.id(), 0).await?;
    ensure_eq!(
        record(&queue, next.id()).await?.state,
        JobState::Completed,
        "the next job"
    );
    ensure_eq!(
        recorder.attempts_of(job.id()).len(),
        1,
        "runs of the cancelled job"
    );
    ensure!(
        !events.seen.iter().any(|e| matches!(e,
            WorkerEvent::Completed { job_id, .. } | WorkerEvent::Failed { job_id, .. }
                if job_id == job.id())),
        "the worker reported an outcome for the cancelled job: {:?}",
        events.seen
    );
    let seen = events_until(
        &mut queue_events,
        WAIT,
        |e| matches!(e, Event::Cancelled { job_id, .. } if job_id == job.id()),
    )
    .await?;
    ensure!(
        seen.iter().any(|e| matches!(
            e,
            Event::Cancelled {
                prev: JobState::Active,
                ..
            }
        )),
        "events: {seen:?}"
    );
    Ok(())
}

/// A processor that ignores its token is dropped `cancel_grace` after the token fired, and the
/// worker's slot is free again (with concurrency 1, the next job runs).
pub async fn a_processor_ignoring_its_token_is_dropped_after_the_grace(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let job = queue.add("stubborn", json!(0), JobOptions::new()).await?;
    let (started_tx, mut started) = mpsc::unbounded_channel::<JobId>();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<JobId>();
    let (options, mut events) = listen(
        h.worker_options()
            .concurrency(1)
            .cancel_grace(Duration::from_millis(100)),
    );
    let worker = Worker::start(&queue, options, move |job: Job<Value>| {
        let (started_tx, dropped_tx) = (started_tx.clone(), dropped_tx.clone());
        async move {
            if job.name() == "stubborn" {
                let _guard = DropSignal(dropped_tx, job.id().clone());
                let _ = started_tx.send(job.id().clone());
                std::future::pending::<()>().await;
            }
            Ok::<_, BoxError>(Value::Null)
        }
    });
    receive(&mut started, "the job to start").await?;
    queue.cancel(job.id()).await?;
    h.clock().advance(h.worker_options().lock_duration / 4);
    ensure_eq!(
        receive(&mut dropped, "the ignoring processor to be dropped").await?,
        job.id().clone(),
        "job dropped"
    );
    let next = queue.add("next", json!(0), JobOptions::new()).await?;
    events.finished(1, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        record(&queue, next.id()).await?.state,
        JobState::Completed,
        "the next job, on the freed slot"
    );
    ensure_cancelled(&queue, job.id(), 0).await
}

/// With a long grace, a processor that ignores its token is dropped at its timeout, and the
/// timeout does not turn the cancelled job into a retry (attempts remain).
pub async fn a_processor_ignoring_its_token_is_dropped_at_its_timeout(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let job = queue
        .add(
            "stubborn",
            json!(0),
            JobOptions::new()
                .attempts(3)
                .timeout(Duration::from_millis(600)),
        )
        .await?;
    let (started_tx, mut started) = mpsc::unbounded_channel::<JobId>();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<JobId>();
    let recorder = Recorder::new();
    let (options, mut events) = listen(
        h.worker_options()
            .concurrency(1)
            .cancel_grace(Duration::from_secs(3600)),
    );
    let worker = Worker::start(&queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let (started_tx, dropped_tx) = (started_tx.clone(), dropped_tx.clone());
            async move {
                if job.name() == "stubborn" {
                    let _guard = DropSignal(dropped_tx, job.id().clone());
                    let _ = started_tx.send(job.id().clone());
                    std::future::pending::<()>().await;
                }
                Ok::<_, BoxError>(Value::Null)
            }
        }
    });
    receive(&mut started, "the job to start").await?;
    queue.cancel(job.id()).await?;
    h.clock().advance(h.worker_options().lock_duration / 4);
    events
        .wait_for("the worker's Cancelled event", WAIT, |e| {
            matches!(e, WorkerEvent::Cancelled { .. })
        })
        .await?;
    receive(&mut dropped, "the processor to be dropped at its timeout").await?;
    let next = queue.add("next", json!(0), JobOptions::new()).await?;
    events.finished(1, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        record(&queue, next.id()).await?.state,
        JobState::Completed,
        "the next job"
    );
    ensure_cancelled(&queue, job.id(), 0).await?;
    ensure_eq!(
        recorder.attempts_of(job.id()).len(),
        1,
        "runs of the cancelled job"
    );
    Ok(())
}

/// The next message on `rx`, or a failure naming `what` after [`WAIT`].
async fn receive<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> CaseResult<T> {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(TestError::msg(format!("channel closed waiting for {what}"))),
        Err(_) => Err(TestError::msg(format!(
            "timed out after {WAIT:?} waiting for {what}"
        ))),
    }
}

/// A guard that sends `id` on `tx` when dropped (for the timeout cases too).
pub(crate) fn drop_signal(tx: mpsc::UnboundedSender<JobId>, id: JobId) -> impl Drop + Send {
    DropSignal(tx, id)
}
