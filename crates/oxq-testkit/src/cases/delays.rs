//! Delayed jobs: never started before they are due, started promptly once due, and promotable.

use std::time::Duration;

use oxq_core::clock::millis;
use oxq_core::{JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{Recorder, WAIT, record, wait_for_state};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// How late a due job may start on a loaded machine.
const PROMPT: u64 = 1_000;

/// Jobs delayed 1200, 400 and 800 ms on an idle worker: each starts no earlier than
/// `timestamp + delay`, within a second after, and in due order.
pub async fn delayed_jobs_never_run_early(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let recorder = Recorder::new();
    // The worker is idle and blocked in the store when the jobs arrive: it must wake for them.
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    let mut added = Vec::new();
    for delay_ms in [1_200u64, 400, 800] {
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
        added.push((job.id().clone(), delay_ms));
    }
    let counts = queue.counts().await?;
    ensure!(
        counts.delayed == 3 && counts.waiting == 0,
        "three delayed jobs expected right after adding them, got {counts:?}"
    );
    recorder.wait_len(3, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["after-400", "after-800", "after-1200"],
        "order in which delayed jobs started"
    );
    for (id, delay_ms) in added {
        let attempts = recorder.attempts_of(&id);
        let [attempt] = attempts.as_slice() else {
            bail!("job delayed {delay_ms} ms ran {} times", attempts.len());
        };
        let due = attempt.timestamp + delay_ms;
        let processed_on = attempt.processed_on.unwrap_or(0);
        ensure!(
            processed_on >= due,
            "job delayed {delay_ms} ms has processed_on {processed_on}, {} ms before it was due",
            due.saturating_sub(processed_on)
        );
        ensure!(
            attempt.started_at >= due,
            "job delayed {delay_ms} ms started {} ms early",
            due - attempt.started_at
        );
        ensure!(
            attempt.started_at - due <= PROMPT,
            "job delayed {delay_ms} ms started {} ms after it was due (tolerance {PROMPT} ms)",
            attempt.started_at - due
        );
    }
    Ok(())
}

/// A job delayed a minute runs at once when promoted; `promote_jobs` promotes the rest;
/// promoting a job that is not delayed is refused.
pub async fn promote_runs_a_delayed_job_now(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let minute = JobOptions::new().delay(Duration::from_secs(60));
    let first = queue.add("first", json!(1), minute.clone()).await?;
    let second = queue.add("second", json!(2), minute.clone()).await?;
    let third = queue.add("third", json!(3), minute).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());

    // taken before the call: the worker may start the job before `promote` returns
    let promoted_at = oxq_core::clock::now_ms();
    queue.promote(first.id()).await?;
    wait_for_state(&queue, first.id(), JobState::Completed).await?;
    let runs = recorder.attempts();
    ensure_eq!(recorder.names(), ["first"], "jobs run after promoting one");
    let after_promote = runs[0].started_at.saturating_sub(promoted_at);
    ensure!(
        after_promote <= PROMPT,
        "the promoted job started {after_promote} ms after promote"
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
