//! Reading a queue: `get_jobs` pages by state and order, `counts` per state.

use std::collections::BTreeSet;
use std::time::Duration;

use oxq_core::{JobCounts, JobId, JobOptions, JobState, Queue, Worker};
use serde_json::{Value, json};

use crate::support::{Gate, Recorder, WAIT, add_numbered, run_to_end};
use crate::{CaseResult, Harness, ensure_eq};

async fn page(
    queue: &Queue<Value>,
    states: &[JobState],
    offset: u64,
    limit: u64,
    ascending: bool,
) -> CaseResult<Vec<JobId>> {
    let jobs = queue.get_jobs(states, offset, limit, ascending).await?;
    Ok(jobs.iter().map(|j| j.id().clone()).collect())
}

fn reversed(ids: &[JobId]) -> Vec<JobId> {
    ids.iter().rev().cloned().collect()
}

/// Pages of waiting jobs come in queue order (reversed when descending), delayed jobs by due
/// time, completed jobs by finish time; several states list the union.
pub async fn get_jobs_pages_by_state(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let mut done = Vec::new();
    for i in 0..3 {
        done.push(
            queue
                .add("done", json!(i), JobOptions::new())
                .await?
                .id()
                .clone(),
        );
        run_to_end(&queue, h.worker_options(), 1).await?;
        // Finish times are in ms: keep the three apart so their order is defined.
        h.clock().advance(Duration::from_millis(5));
    }
    let waiting = add_numbered(&queue, 10, JobOptions::new()).await?;
    let late = queue
        .add(
            "late",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    let soon = queue
        .add(
            "soon",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(30)),
        )
        .await?;

    let w = [JobState::Waiting];
    ensure_eq!(
        page(&queue, &w, 0, 4, true).await?,
        waiting[0..4],
        "waiting page 0..4"
    );
    ensure_eq!(
        page(&queue, &w, 4, 4, true).await?,
        waiting[4..8],
        "waiting page 4..8"
    );
    ensure_eq!(
        page(&queue, &w, 8, 4, true).await?,
        waiting[8..],
        "waiting page 8..12"
    );
    ensure_eq!(
        page(&queue, &w, 10, 4, true).await?,
        Vec::<JobId>::new(),
        "waiting page past the end"
    );
    ensure_eq!(
        page(&queue, &w, 0, 3, false).await?,
        reversed(&waiting[7..]),
        "first descending waiting page"
    );
    let jobs = queue.get_jobs(&w, 0, 1, true).await?;
    ensure_eq!(
        jobs[0].data(),
        &json!({"n": 0}),
        "data of the first waiting job"
    );

    let d = [JobState::Delayed];
    let both = vec![soon.id().clone(), late.id().clone()];
    ensure_eq!(
        page(&queue, &d, 0, 10, true).await?,
        both,
        "delayed jobs, soonest first"
    );
    ensure_eq!(
        page(&queue, &d, 0, 10, false).await?,
        reversed(&both),
        "delayed jobs, latest first"
    );

    let c = [JobState::Completed];
    ensure_eq!(
        page(&queue, &c, 0, 10, true).await?,
        done,
        "completed jobs, earliest first"
    );
    ensure_eq!(
        page(&queue, &c, 0, 2, false).await?,
        reversed(&done[1..]),
        "newest completed page"
    );

    let mixed = page(
        &queue,
        &[JobState::Waiting, JobState::Delayed],
        0,
        100,
        true,
    )
    .await?;
    ensure_eq!(mixed.len(), 12, "jobs listed for waiting + delayed");
    let expected: BTreeSet<JobId> = waiting.iter().chain(&both).cloned().collect();
    ensure_eq!(
        mixed.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "waiting + delayed jobs"
    );
    ensure_eq!(
        page(&queue, &[JobState::Failed], 0, 10, true).await?,
        Vec::<JobId>::new(),
        "failed jobs"
    );
    Ok(())
}

/// Counts reflect every state at once: 2 waiting, 3 prioritized, 1 delayed, 1 active,
/// 2 completed, 1 failed.
pub async fn counts_by_state(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    ensure_eq!(
        queue.counts().await?,
        JobCounts::default(),
        "counts of a new queue"
    );
    add_numbered(&queue, 2, JobOptions::new()).await?;
    queue.add("fail", json!(0), JobOptions::new()).await?;
    run_to_end(&queue, h.worker_options(), 3).await?;

    queue.add("held", json!(0), JobOptions::new()).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options(), {
        let (recorder, gate) = (recorder.clone(), gate.clone());
        move |job: oxq_core::Job<Value>| {
            recorder.record(&job);
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, oxq_core::worker::BoxError>(Value::Null)
            }
        }
    });
    recorder.wait_len(1, WAIT).await?;
    add_numbered(&queue, 2, JobOptions::new()).await?;
    add_numbered(&queue, 3, JobOptions::new().priority(7)).await?;
    queue
        .add(
            "later",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    let expected = JobCounts {
        waiting: 2,
        prioritized: 3,
        delayed: 1,
        active: 1,
        waiting_children: 0,
        completed: 2,
        failed: 1,
    };
    ensure_eq!(queue.counts().await?, expected, "counts by state");
    ensure_eq!(queue.counts().await?.total(), 10, "total");

    // Paused, the worker starts nothing after the held job, so the counts below are exact.
    queue.pause().await?;
    gate.open();
    worker.close().await?;
    let counts = queue.counts().await?;
    ensure_eq!(
        (
            counts.active,
            counts.completed,
            counts.waiting,
            counts.prioritized
        ),
        (0, 3, 2, 3),
        "(active, completed, waiting, prioritized) after the held job finished"
    );
    Ok(())
}
