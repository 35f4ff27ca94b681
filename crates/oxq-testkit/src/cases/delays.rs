//! Delayed jobs: never started before they are due, started exactly when due, and promotable.
//! On the case's manual clock: time is moved by hand, never waited for.

use std::time::Duration;

use oxq_core::clock::millis;
use oxq_core::{Clock, JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{CANARY, Recorder, WAIT, advance_and_settle, record, wait_for_state};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// Jobs delayed 12, 4 and 8 s on an idle worker, on the case's manual clock: 1 ms before each
/// is due it has not started (a worker fetched at that time); it starts exactly when due, and
/// in due order.
pub async fn delayed_jobs_never_run_early(h: &Harness) -> CaseResult {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let recorder = Recorder::new();
    // The worker is idle and blocked in the store when the jobs arrive: it must wake for them.
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        recorder.processor_skipping(CANARY),
    );
    let mut added = Vec::new();
    for delay_ms in [12_000u64, 4_000, 8_000] {
        let delay = Duration::from_millis(delay_ms);
        let job = queue
            .add(
                &format!("after-{delay_ms}"),
                json!(delay_ms),
                JobOptions::new().delay(delay),
            )
            .await?;
        let stored = record(&queue, job.id()).await?;
        ensure_eq!(
            stored.state,
            JobState::Delayed,
            "state of the job delayed {delay_ms} ms"
        );
        ensure_eq!(
            stored.due_at,
            Some(stored.timestamp + delay_ms),
            "due_at of the job delayed {delay_ms} ms"
        );
        added.push((job.id().clone(), stored.timestamp + delay_ms));
    }
    let counts = queue.counts().await?;
    ensure!(
        counts.delayed == 3 && counts.waiting == 0,
        "three delayed jobs expected right after adding them, got {counts:?}"
    );
    added.sort_by_key(|(_, due)| *due);
    for (ran, (id, due)) in added.iter().enumerate() {
        let early = due.saturating_sub(clock.now_ms()).saturating_sub(1);
        advance_and_settle(clock, &queue, Duration::from_millis(early)).await?;
        ensure_eq!(
            recorder.len(),
            ran,
            "jobs started 1 ms before job {id} was due"
        );
        clock.advance(Duration::from_millis(1));
        recorder.wait_len(ran + 1, WAIT).await?;
        let attempts = recorder.attempts_of(id);
        let [attempt] = attempts.as_slice() else {
            bail!("job {id} ran {} times", attempts.len());
        };
        ensure_eq!(attempt.processed_on, Some(*due), "processed_on of job {id}");
        // recorded before the clock moves on: a move past its lock would make it look stalled
        wait_for_state(&queue, id, JobState::Completed).await?;
    }
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["after-4000", "after-8000", "after-12000"],
        "order in which delayed jobs started"
    );
    Ok(())
}

/// A job delayed a minute runs at once when promoted; `promote_jobs` promotes the rest;
/// promoting a job that is not delayed is refused.
pub async fn promote_runs_a_delayed_job_now(h: &Harness) -> CaseResult {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let minute = JobOptions::new().delay(Duration::from_secs(60));
    let first = queue.add("first", json!(1), minute.clone()).await?;
    let second = queue.add("second", json!(2), minute.clone()).await?;
    let third = queue.add("third", json!(3), minute).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());

    // the clock stands still: the promoted job runs without any time passing
    let promoted_at = clock.now_ms();
    queue.promote(first.id()).await?;
    wait_for_state(&queue, first.id(), JobState::Completed).await?;
    let runs = recorder.attempts();
    ensure_eq!(recorder.names(), ["first"], "jobs run after promoting one");
    ensure_eq!(
        runs[0].processed_on,
        Some(promoted_at),
        "processed_on of the promoted job"
    );
    for id in [second.id(), third.id()] {
        ensure_eq!(
            record(&queue, id).await?.state,
            JobState::Delayed,
            "state of unpromoted {id}"
        );
    }

    let moved = queue.promote_jobs(10).await?;
    ensure_eq!(moved, 2, "jobs moved by promote_jobs");
    recorder.wait_len(3, WAIT).await?;
    wait_for_state(&queue, third.id(), JobState::Completed).await?;
    wait_for_state(&queue, second.id(), JobState::Completed).await?;
    worker.close().await?;
    let finished = record(&queue, first.id()).await?;
    ensure!(
        finished
            .processed_on
            .is_some_and(|p| p < finished.timestamp + millis(Duration::from_secs(60))),
        "the promoted job's processed_on {:?} shows it waited out its delay",
        finished.processed_on
    );
    ensure!(
        queue.promote(first.id()).await.is_err(),
        "promoting a completed job should be refused"
    );
    ensure_eq!(
        queue.promote_jobs(10).await?,
        0,
        "jobs moved by promote_jobs with none delayed"
    );
    ensure_eq!(recorder.len(), 3, "attempts run");
    Ok(())
}
