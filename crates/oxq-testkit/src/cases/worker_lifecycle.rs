//! A worker's own life: graceful close, and surviving processors that panic or run too long.

use std::sync::Arc;
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{Gate, Recorder, WAIT, add_numbered, listen, record};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// `close()` waits for the running jobs, records them as completed, and starts nothing else:
/// with concurrency 3 and 5 jobs, 3 end completed, 2 stay waiting, none is left active.
pub async fn graceful_close_finishes_in_flight_jobs(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ids = add_numbered(&queue, 5, JobOptions::new()).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options().concurrency(3), {
        let (recorder, gate) = (recorder.clone(), gate.clone());
        move |job: Job<Value>| {
            recorder.record(&job);
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, BoxError>(json!("finished"))
            }
        }
    });
    recorder.wait_len(3, WAIT).await?;
    let worker = Arc::new(worker);
    let closing = tokio::spawn({
        let worker = worker.clone();
        async move { worker.close().await }
    });
    // A close that does not wait would return now; give it the chance to (wrongly) do so.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        !closing.is_finished(),
        "close() returned while 3 jobs were still running"
    );
    gate.open();
    tokio::time::timeout(WAIT, closing)
        .await
        .map_err(|_| TestError::msg("close() did not return after the jobs finished"))???;

    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.active, counts.completed, counts.waiting),
        (0, 3, 2),
        "(active, completed, waiting) after close"
    );
    let started = recorder.ids();
    ensure_eq!(started.len(), 3, "jobs started");
    for id in &ids {
        let job = record(&queue, id).await?;
        let expected = if started.contains(id) {
            JobState::Completed
        } else {
            JobState::Waiting
        };
        ensure_eq!(job.state, expected, "state of job {id} after close");
        if expected == JobState::Completed {
            ensure_eq!(
                job.return_value.as_deref(),
                Some(r#""finished""#),
                "return value of {id}"
            );
        }
    }
    Ok(())
}

/// A processor that panics (while building its future, or inside it) fails that job with a
/// reason naming the panic; the worker goes on with the next jobs.
pub async fn panic_fails_the_job_and_worker_goes_on(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let sync_panic = queue
        .add("explode-now", json!(0), JobOptions::new())
        .await?;
    let ids = add_numbered(&queue, 1, JobOptions::new()).await?;
    let async_panic = queue
        .add("explode-later", json!(0), JobOptions::new())
        .await?;
    let more = add_numbered(&queue, 1, JobOptions::new()).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, |job: Job<Value>| {
        if job.name() == "explode-now" {
            panic!("kaboom before the future");
        }
        async move {
            if job.name() == "explode-later" {
                panic!("kaboom inside the future");
            }
            Ok::<_, BoxError>(Value::Null)
        }
    });
    events.finished(4, WAIT).await?;
    worker.close().await?;
    for (id, message) in [
        (sync_panic.id(), "kaboom before the future"),
        (async_panic.id(), "kaboom inside the future"),
    ] {
        let failed = record(&queue, id).await?;
        ensure_eq!(
            failed.state,
            JobState::Failed,
            "state of the job that panicked ({message})"
        );
        let reason = failed.failed_reason.unwrap_or_default();
        ensure!(
            reason.contains("panic") && reason.contains(message),
            "failed_reason {reason:?} should mention the panic and {message:?}"
        );
    }
    for id in ids.iter().chain(&more) {
        ensure_eq!(
            record(&queue, id).await?.state,
            JobState::Completed,
            "state of job {id}"
        );
    }
    Ok(())
}

/// A job running past its 300 ms `timeout` fails with a reason saying it timed out, about
/// 300 ms after it started; the worker goes on with the next job.
pub async fn timeout_fails_the_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let slow = queue
        .add(
            "slow",
            json!(0),
            JobOptions::new().timeout(Duration::from_millis(300)),
        )
        .await?;
    let quick = queue.add("quick", json!(0), JobOptions::new()).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        if job.name() == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok::<_, BoxError>(Value::Null)
    });
    events.finished(2, WAIT).await?;
    worker.close().await?;
    let failed = record(&queue, slow.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "state of the slow job");
    let reason = failed.failed_reason.clone().unwrap_or_default();
    ensure!(
        reason.contains("timed out"),
        "failed_reason {reason:?} should say it timed out"
    );
    let ran = failed
        .finished_on
        .unwrap_or(0)
        .saturating_sub(failed.processed_on.unwrap_or(0));
    ensure!(
        (300..5_000).contains(&ran),
        "the slow job ran {ran} ms before failing (timeout 300 ms)"
    );
    ensure_eq!(
        record(&queue, quick.id()).await?.state,
        JobState::Completed,
        "state of the next job"
    );
    Ok(())
}
