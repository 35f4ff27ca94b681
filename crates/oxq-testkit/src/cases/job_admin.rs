//! Steering single jobs: remove, retry one, retry all failed.

use std::sync::Arc;
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Error, Job, JobId, JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{Gate, Recorder, WAIT, listen, record, run_to_end, wait_for_state};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// A processor that fails the first run of every job named `flaky` and completes all others.
fn flaky_once(
    recorder: &Arc<Recorder>,
) -> impl Fn(Job<Value>) -> futures::future::Ready<Result<Value, BoxError>> + Send + Sync + 'static
{
    let recorder = recorder.clone();
    move |job| {
        let first_run = recorder.attempts_of(job.id()).is_empty();
        recorder.record(&job);
        futures::future::ready(if first_run && job.name() == "flaky" {
            Err("first run fails".into())
        } else {
            Ok(Value::Null)
        })
    }
}

/// Removing works in every state but active: the job and its record are gone, a second
/// remove answers `false`; an active job is refused with a Conflict.
pub async fn remove_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let done = queue.add("done", json!(0), JobOptions::new()).await?;
    run_to_end(&queue, h.worker_options(), 1).await?;
    let waiting = queue.add("waiting", json!(0), JobOptions::new()).await?;
    let delayed = queue
        .add(
            "delayed",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    let prioritized = queue
        .add("prioritized", json!(0), JobOptions::new().priority(2))
        .await?;
    for id in [done.id(), waiting.id(), delayed.id(), prioritized.id()] {
        ensure!(queue.remove(id).await?, "remove({id}) answered false");
        ensure!(
            queue.get_record(id).await?.is_none(),
            "job {id} exists after remove"
        );
    }
    ensure!(
        !queue.remove(waiting.id()).await?,
        "a second remove answered true"
    );
    ensure!(
        !queue.remove(&JobId::from("no-such-job")).await?,
        "removing a job that never existed answered true"
    );
    ensure_eq!(queue.counts().await?.total(), 0, "jobs after removing all");

    let running = queue.add("running", json!(0), JobOptions::new()).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options(), {
        let (recorder, gate) = (recorder.clone(), gate.clone());
        move |job: Job<Value>| {
            recorder.record(&job);
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, BoxError>(Value::Null)
            }
        }
    });
    recorder.wait_len(1, WAIT).await?;
    match queue.remove(running.id()).await {
        Err(Error::Conflict(_)) => {}
        other => bail!("removing an active job: expected a Conflict, got {other:?}"),
    }
    ensure_eq!(
        record(&queue, running.id()).await?.state,
        JobState::Active,
        "state after the refused remove"
    );
    gate.open();
    wait_for_state(&queue, running.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure!(
        queue.remove(running.id()).await?,
        "removing the finished job answered false"
    );
    Ok(())
}

/// `retry_jobs` moves failed jobs (at most `limit` per call, never completed ones) back to
/// waiting; they run again and keep their history (attempts made, earlier errors).
pub async fn retry_failed_jobs(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut flaky = Vec::new();
    for i in 0..3 {
        flaky.push(
            queue
                .add("flaky", json!(i), JobOptions::new())
                .await?
                .id()
                .clone(),
        );
    }
    let ok = queue.add("ok", json!(0), JobOptions::new()).await?;
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, flaky_once(&recorder));
    events.finished(4, WAIT).await?;
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.failed, counts.completed),
        (3, 1),
        "(failed, completed) before retrying"
    );

    ensure_eq!(queue.retry_jobs(2).await?, 2, "jobs moved by retry_jobs(2)");
    ensure_eq!(
        queue.retry_jobs(100).await?,
        1,
        "jobs moved by the next retry_jobs(100)"
    );
    events.finished(3, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        queue.retry_jobs(100).await?,
        0,
        "jobs moved with none failed"
    );
    for id in &flaky {
        let job = record(&queue, id).await?;
        ensure_eq!(job.state, JobState::Completed, "state of retried job {id}");
        ensure_eq!(
            recorder.attempts_of(id).len(),
            2,
            "runs of retried job {id}"
        );
        ensure_eq!(job.attempts_made, 2, "attempts_made of retried job {id}");
        ensure_eq!(
            job.stacktrace,
            ["first run fails"],
            "stacktrace of retried job {id}"
        );
    }
    ensure_eq!(
        recorder.attempts_of(ok.id()).len(),
        1,
        "runs of the completed job"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.completed, counts.total()),
        (4, 4),
        "(completed, all) at the end"
    );
    Ok(())
}

/// `retry_job` runs one failed or completed job again; it refuses jobs that are not finished
/// and jobs that do not exist.
pub async fn retry_one_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("flaky", json!(0), JobOptions::new()).await?;
    let other = queue.add("flaky", json!(1), JobOptions::new()).await?;
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, flaky_once(&recorder));
    events.finished(2, WAIT).await?;
    ensure_eq!(
        record(&queue, job.id()).await?.state,
        JobState::Failed,
        "state after the first run"
    );

    queue.retry_job(job.id()).await?;
    events.finished(1, WAIT).await?;
    let retried = record(&queue, job.id()).await?;
    ensure_eq!(
        retried.state,
        JobState::Completed,
        "state after retry_job of a failed job"
    );
    ensure_eq!(retried.attempts_made, 2, "attempts_made after one retry");
    ensure_eq!(
        record(&queue, other.id()).await?.state,
        JobState::Failed,
        "the other failed job"
    );

    queue.retry_job(job.id()).await?;
    events.finished(1, WAIT).await?;
    let again = record(&queue, job.id()).await?;
    ensure_eq!(
        again.state,
        JobState::Completed,
        "state after retry_job of a completed job"
    );
    ensure_eq!(
        recorder.attempts_of(job.id()).len(),
        3,
        "runs of the job retried twice"
    );
    worker.close().await?;

    let delayed = queue
        .add(
            "delayed",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    ensure!(
        queue.retry_job(delayed.id()).await.is_err(),
        "retry_job of a delayed job was accepted"
    );
    ensure_eq!(
        record(&queue, delayed.id()).await?.state,
        JobState::Delayed,
        "the delayed job"
    );
    ensure!(
        queue.retry_job(&JobId::from("no-such-job")).await.is_err(),
        "retry_job of a job that does not exist was accepted"
    );
    Ok(())
}
