//! Steering a whole queue: pause/resume, drain, clean, obliterate.

use std::collections::BTreeSet;
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Error, Job, JobId, JobOptions, JobState, Worker, WorkerEvent};
use serde_json::{Value, json};

use crate::support::{
    Gate, Recorder, WAIT, add_numbered, listen, record, run_to_end, wait_for_counts, wait_for_state,
};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// A processor that records each attempt and then waits for `gate`.
fn held(
    recorder: &std::sync::Arc<Recorder>,
    gate: &std::sync::Arc<Gate>,
) -> impl Fn(Job<Value>) -> futures::future::BoxFuture<'static, Result<Value, BoxError>>
+ Send
+ Sync
+ 'static {
    let (recorder, gate) = (recorder.clone(), gate.clone());
    move |job| {
        recorder.record(&job);
        let gate = gate.clone();
        Box::pin(async move {
            gate.wait().await;
            Ok(Value::Null)
        })
    }
}

/// Pausing lets the running job finish but starts nothing new (the jobs stay waiting);
/// resuming runs them.
pub async fn pause_and_resume(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    ensure!(!queue.is_paused().await?, "a new queue is paused");
    let running = queue.add("running", json!(0), JobOptions::new()).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options(), held(&recorder, &gate));
    recorder.wait_len(1, WAIT).await?;

    queue.pause().await?;
    ensure!(queue.is_paused().await?, "is_paused after pause");
    let waiting = add_numbered(&queue, 3, JobOptions::new()).await?;
    gate.open();
    wait_for_state(&queue, running.id(), JobState::Completed).await?;
    // That nothing starts can only be seen by waiting: 1 s is four of the worker's idle waits.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ensure_eq!(recorder.names(), ["running"], "jobs started while paused");
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.active),
        (3, 0),
        "(waiting, active) while paused"
    );

    queue.resume().await?;
    ensure!(!queue.is_paused().await?, "is_paused after resume");
    recorder.wait_len(4, WAIT).await?;
    wait_for_counts(&queue, "four completed jobs", |c| c.completed == 4).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.ids()[1..].to_vec(),
        waiting,
        "jobs run after resume"
    );
    Ok(())
}

/// `drain(false)` removes waiting and prioritized jobs but keeps delayed and finished ones;
/// `drain(true)` removes the delayed ones too.
pub async fn drain_removes_jobs_waiting_to_run(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let done = queue.add("done", json!(0), JobOptions::new()).await?;
    run_to_end(&queue, h.worker_options(), 1).await?;
    let waiting = add_numbered(&queue, 3, JobOptions::new()).await?;
    let prioritized = add_numbered(&queue, 2, JobOptions::new().priority(3)).await?;
    let delayed = add_numbered(&queue, 2, JobOptions::new().delay(Duration::from_secs(60))).await?;

    ensure_eq!(queue.drain(false).await?, 5, "jobs removed by drain(false)");
    let counts = queue.counts().await?;
    ensure_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.completed
        ),
        (0, 0, 2, 1),
        "(waiting, prioritized, delayed, completed) after drain(false)"
    );
    for id in waiting.iter().chain(&prioritized) {
        ensure!(
            queue.get_record(id).await?.is_none(),
            "drained job {id} still exists"
        );
    }
    for id in &delayed {
        ensure_eq!(
            record(&queue, id).await?.state,
            JobState::Delayed,
            "state of {id}"
        );
    }

    ensure_eq!(queue.drain(true).await?, 2, "jobs removed by drain(true)");
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.total(), counts.completed),
        (1, 1),
        "(all, completed) after drain(true)"
    );
    ensure_eq!(
        record(&queue, done.id()).await?.state,
        JobState::Completed,
        "the finished job"
    );
    Ok(())
}

/// `clean` removes only jobs of the named state, older than the grace period, at most `limit`.
pub async fn clean_by_state_grace_and_limit(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let old = add_numbered(&queue, 3, JobOptions::new()).await?;
    run_to_end(&queue, h.worker_options(), 3).await?;
    // Grace periods are about age: the first batch is 600 ms older than the second.
    h.clock().advance(Duration::from_millis(600));
    let young = add_numbered(&queue, 2, JobOptions::new()).await?;
    for _ in 0..2 {
        queue.add("fail", json!(0), JobOptions::new()).await?;
    }
    run_to_end(&queue, h.worker_options(), 4).await?;
    let pending = add_numbered(&queue, 2, JobOptions::new()).await?;

    let cleaned = queue
        .clean(JobState::Completed, Duration::from_millis(300), 100)
        .await?;
    let cleaned: BTreeSet<JobId> = cleaned.into_iter().collect();
    ensure_eq!(
        cleaned,
        old.iter().cloned().collect::<BTreeSet<_>>(),
        "completed jobs older than 300 ms"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.completed, counts.failed, counts.waiting),
        (2, 2, 2),
        "(completed, failed, waiting) after cleaning old completed jobs"
    );

    let limited = queue.clean(JobState::Completed, Duration::ZERO, 1).await?;
    ensure_eq!(limited.len(), 1, "jobs cleaned with limit 1");
    ensure!(
        young.contains(&limited[0]),
        "cleaned {} which is not a completed job",
        limited[0]
    );
    ensure_eq!(
        queue.counts().await?.completed,
        1,
        "completed after clean with limit 1"
    );

    ensure_eq!(
        queue
            .clean(JobState::Failed, Duration::ZERO, 100)
            .await?
            .len(),
        2,
        "failed jobs cleaned"
    );
    let waiting = queue.clean(JobState::Waiting, Duration::ZERO, 100).await?;
    ensure_eq!(
        waiting.into_iter().collect::<BTreeSet<_>>(),
        pending.into_iter().collect::<BTreeSet<_>>(),
        "waiting jobs cleaned"
    );
    let counts = queue.counts().await?;
    ensure_eq!(counts.total(), 1, "jobs left (one completed) {counts:?}");
    Ok(())
}

/// `obliterate(false)` refuses while a job is active and changes nothing; `obliterate(true)`
/// deletes everything, the running job's late outcome is refused, other queues are untouched,
/// and the queue can be used again.
pub async fn obliterate_refuses_active_jobs_unless_forced(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let neighbour = h.other_queue::<Value>("neighbour")?;
    neighbour.add("other", json!(0), JobOptions::new()).await?;
    let running = queue.add("running", json!(0), JobOptions::new()).await?;
    add_numbered(&queue, 2, JobOptions::new()).await?;
    queue
        .add(
            "later",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, held(&recorder, &gate));
    recorder.wait_len(1, WAIT).await?;

    match queue.obliterate(false).await {
        Err(Error::Conflict(_)) => {}
        other => bail!("obliterate(false) with an active job: expected a Conflict, got {other:?}"),
    }
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.active, counts.waiting, counts.delayed),
        (1, 2, 1),
        "(active, waiting, delayed) after the refused obliterate"
    );

    queue.obliterate(true).await?;
    let counts = queue.counts().await?;
    ensure_eq!(
        counts.total(),
        0,
        "jobs left after obliterate(true) {counts:?}"
    );
    ensure!(
        queue.get_record(running.id()).await?.is_none(),
        "the running job survived"
    );

    gate.open();
    let outcome = events
        .wait_for("the running job's outcome", WAIT, |e| {
            matches!(
                e,
                WorkerEvent::LockLost { .. } | WorkerEvent::Completed { .. }
            )
        })
        .await?;
    ensure!(
        matches!(&outcome, WorkerEvent::LockLost { job_id } if job_id == running.id()),
        "the store accepted the outcome of an obliterated job: {outcome:?}"
    );
    worker.close().await?;
    ensure_eq!(
        queue.counts().await?.total(),
        0,
        "jobs after the late outcome"
    );
    ensure_eq!(
        neighbour.counts().await?.waiting,
        1,
        "the other queue's waiting jobs"
    );

    queue.add("again", json!(0), JobOptions::new()).await?;
    ensure_eq!(
        queue.counts().await?.waiting,
        1,
        "waiting jobs after adding to the obliterated queue"
    );
    neighbour.obliterate(false).await?;
    ensure_eq!(
        neighbour.counts().await?.total(),
        0,
        "jobs after obliterating an idle queue"
    );
    Ok(())
}
