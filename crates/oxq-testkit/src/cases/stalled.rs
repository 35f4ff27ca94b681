//! Jobs whose worker died: recovered once their lock expires and run exactly once more, or
//! failed once they stalled more often than allowed.
//!
//! A dead worker is simulated through the store itself: `Backend::job_move_to_active` takes the
//! job under a short lock that nobody renews and nobody finishes.

use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, Fetch, FetchJobs, Finish, FinishJobs, RecoverStalled, StoreMemo,
};
use oxq_core::clock::now_ms;
use oxq_core::{
    Error, Event, JobId, JobOptions, JobState, KeepJobs, LockToken, Worker, WorkerEvent,
};
use serde_json::{Value, json};

use crate::support::{
    Recorder, WAIT, events_until, is_subsequence, listen, names_for, record, wait_for_state,
    wait_until,
};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// Takes the only runnable job as a worker that will never renew or finish it.
async fn take_and_die(h: &Harness, token: &str, lock: Duration) -> CaseResult<JobId> {
    let fetched = h
        .backend()
        .job_move_to_active(FetchJobs {
            queue: h.queue_ref().clone(),
            fetch: Fetch {
                token: LockToken(token.to_owned()),
                lock_duration: lock,
                max_jobs: 1,
                worker_name: Some("dead-worker".to_owned()),
                limiter: None,
            },
            now: now_ms(),
        })
        .await?;
    match fetched.jobs.as_slice() {
        [job] => Ok(job.record.id.clone()),
        other => bail!("the dead worker fetched {} jobs instead of 1", other.len()),
    }
}

/// A job held by a dead worker under a 500 ms lock is not touched before the lock expires,
/// then recovered by a real worker's stalled check (with `stalled` events), run exactly once
/// and completed with `stalled_count == 1`; the dead worker's late outcome is refused.
pub async fn stalled_job_is_recovered_exactly_once(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    let job = queue.add("orphan", json!(0), JobOptions::new()).await?;
    let taken_at = now_ms();
    let id = take_and_die(h, "dead-worker:1", Duration::from_millis(500)).await?;
    ensure_eq!(&id, job.id(), "job taken by the dead worker");
    ensure_eq!(
        record(&queue, &id).await?.state,
        JobState::Active,
        "state of the orphan"
    );

    let recorder = Recorder::new();
    let (options, mut worker_events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, recorder.processor());
    recorder.wait_len(1, WAIT).await?;
    wait_for_state(&queue, &id, JobState::Completed).await?;
    worker_events
        .wait_for(
            "the worker's stalled event",
            WAIT,
            |e| matches!(e, WorkerEvent::Stalled { job_ids } if job_ids.contains(&id)),
        )
        .await?;
    // A recovery wrongly repeated would run the job again within two stalled intervals.
    tokio::time::sleep(Duration::from_secs(1)).await;
    worker.close().await?;

    let runs = recorder.attempts();
    ensure_eq!(runs.len(), 1, "runs of the recovered job");
    ensure!(
        runs[0].started_at >= taken_at + 500,
        "the job ran again {} ms before the dead worker's lock expired",
        taken_at + 500 - runs[0].started_at
    );
    ensure_eq!(runs[0].stalled_count, 1, "stalled_count the processor saw");
    let done = record(&queue, &id).await?;
    ensure_eq!(done.stalled_count, 1, "stalled_count");
    ensure_eq!(done.state, JobState::Completed, "state");

    let seen = events_until(
        &mut events,
        WAIT,
        |e| matches!(e, Event::Completed { job_id, .. } if job_id == &id),
    )
    .await?;
    let lifecycle = names_for(&seen, &id);
    ensure!(
        is_subsequence(
            &["added", "active", "stalled", "active", "completed"],
            &lifecycle
        ),
        "events of the recovered job: {lifecycle:?}"
    );

    let late = h
        .backend()
        .job_finish(FinishJobs {
            queue: h.queue_ref().clone(),
            now: now_ms(),
            items: vec![Finish {
                job_id: id.clone(),
                token: LockToken("dead-worker:1".to_owned()),
                end: AttemptEnd::Completed {
                    return_value: r#""zombie""#.to_owned(),
                    keep: KeepJobs::All,
                },
                memo: StoreMemo::none(),
            }],
            fetch_next: None,
            metrics: None,
        })
        .await?;
    ensure!(
        matches!(late.items.as_slice(), [Err(Error::LockLost(_))]),
        "the dead worker's late outcome: expected LockLost, got {:?}",
        late.items
    );
    ensure_eq!(
        record(&queue, &id).await?.return_value.as_deref(),
        Some("null"),
        "return value after the late outcome"
    );
    Ok(())
}

/// With `max_stalled_count` 1, a job that stalls twice is failed ("job stalled more than
/// allowable limit") without its processor ever running.
pub async fn stalled_beyond_limit_fails_the_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("doomed", json!(0), JobOptions::new()).await?;
    let backend = h.backend();
    let recover = || {
        backend.stalled_recover(RecoverStalled {
            queue: h.queue_ref().clone(),
            max_stalled_count: 1,
            interval: Duration::from_millis(100),
            now: now_ms(),
        })
    };

    take_and_die(h, "dead-worker:1", Duration::from_millis(200)).await?;
    wait_until("the first stall to be recovered", WAIT, || async {
        Ok(recover().await?.job_ids.contains(job.id()))
    })
    .await?;
    let once = record(&queue, job.id()).await?;
    ensure_eq!(
        (once.state, once.stalled_count),
        (JobState::Waiting, 1),
        "(state, stalled_count) after the first stall"
    );

    take_and_die(h, "dead-worker:2", Duration::from_millis(200)).await?;
    wait_until("the second stall to be handled", WAIT, || async {
        recover().await?;
        Ok(record(&queue, job.id()).await?.state != JobState::Active)
    })
    .await?;

    let recorder = Recorder::new();
    let worker = Worker::start(
        &queue,
        h.worker_options().max_stalled_count(1),
        recorder.processor(),
    );
    let failed = wait_for_state(&queue, job.id(), JobState::Failed).await?;
    worker.close().await?;
    ensure_eq!(recorder.len(), 0, "runs of the job that stalled too often");
    let reason = failed.failed_reason.unwrap_or_default();
    ensure!(
        reason.contains("stalled more than allowable limit"),
        "failed_reason {reason:?} should say the job stalled more than allowable limit"
    );
    Ok(())
}
