//! How many jobs run at once: exactly the worker's concurrency, never more, never fewer when
//! there is work; several workers never run one job twice.

use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobOptions, Worker};
use serde_json::Value;

use crate::support::{InFlight, Recorder, WAIT, add_numbered, listen, wait_for_counts};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// Simulated work: long enough that every slot fills before the first job ends.
const WORK: Duration = Duration::from_millis(250);

/// Concurrency 5 with 20 sleeping jobs: 5 run at once (the limit is reached) and never 6.
pub async fn concurrency_is_reached_and_never_exceeded(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    add_numbered(&queue, 20, JobOptions::new()).await?;
    let gauge = InFlight::new();
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options().concurrency(5));
    let worker = Worker::start(&queue, options, {
        let (gauge, recorder) = (gauge.clone(), recorder.clone());
        move |job: Job<Value>| {
            let guard = gauge.enter();
            recorder.record(&job);
            async move {
                tokio::time::sleep(WORK).await;
                drop(guard);
                Ok::<_, BoxError>(Value::Null)
            }
        }
    });
    events.finished(20, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        gauge.max(),
        5,
        "most jobs running at once with concurrency 5"
    );
    ensure_eq!(recorder.len(), 20, "attempts run");
    ensure_eq!(queue.counts().await?.completed, 20, "completed jobs");
    Ok(())
}

/// Two workers of concurrency 3 on one queue: 6 jobs run at once, each job exactly once.
pub async fn workers_share_a_queue_without_overlap(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ids = add_numbered(&queue, 24, JobOptions::new()).await?;
    let gauge = InFlight::new();
    let recorder = Recorder::new();
    let processor = {
        let (gauge, recorder) = (gauge.clone(), recorder.clone());
        move |job: Job<Value>| {
            let guard = gauge.enter();
            recorder.record(&job);
            async move {
                tokio::time::sleep(WORK).await;
                drop(guard);
                Ok::<_, BoxError>(Value::Null)
            }
        }
    };
    let first = Worker::start(
        &queue,
        h.worker_options().concurrency(3).name("first"),
        processor.clone(),
    );
    let second = Worker::start(
        &queue,
        h.worker_options().concurrency(3).name("second"),
        processor,
    );
    recorder.wait_len(ids.len(), WAIT).await?;
    wait_for_counts(&queue, "every job completed", |c| c.completed == 24).await?;
    first.close().await?;
    second.close().await?;
    ensure_eq!(
        gauge.max(),
        6,
        "most jobs running at once on two workers of concurrency 3"
    );
    let runs = recorder.runs_per_job();
    for id in &ids {
        ensure_eq!(runs.get(id).copied(), Some(1), "runs of job {id}");
    }
    ensure_eq!(recorder.len(), ids.len(), "attempts run");
    for id in &ids {
        let record = crate::support::record(&queue, id).await?;
        ensure!(
            matches!(record.processed_by.as_deref(), Some("first" | "second")),
            "job {id} processed_by is {:?}",
            record.processed_by
        );
    }
    Ok(())
}
