//! The worker's fetch (`job_move_to_active`): the order of the line (FIFO, LIFO, priorities),
//! what a fetched job carries, promotion of due delayed jobs, pauses, and the edges (an unknown
//! queue, `max_jobs` of 0).

use std::time::Duration;

use oxq_core::backend::{OfQueue, SetPaused};
use oxq_core::{Event, JobOptions, JobState};

use super::kit::{Kit, WORKER, fetched_ids, ids};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// Waiting jobs run first in, first out; a LIFO job jumps to the front of the line.
pub async fn waiting_jobs_run_fifo_and_lifo_jobs_jump_the_line(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?; // 1
    k.add("b", JobOptions::new()).await?; // 2
    k.add("c", JobOptions::new().lifo(true)).await?; // 3, to the front
    k.add("d", JobOptions::new()).await?; // 4
    k.add("e", JobOptions::new().lifo(true)).await?; // 5, before 3
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0).await?,
        ids(&["5", "3", "1", "2", "4"]),
        "fetch order"
    );
    Ok(())
}

/// Waiting jobs run before prioritized ones, which run by priority (1 first), FIFO within a
/// priority (LIFO is ignored there); a fetch takes at most `max_jobs`.
pub async fn prioritized_jobs_run_by_priority_after_waiting_ones(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("p5", JobOptions::new().priority(5)).await?; // 1
    k.add("p1", JobOptions::new().priority(1)).await?; // 2
    k.add("w", JobOptions::new()).await?; // 3
    k.add("p1b", JobOptions::new().priority(1)).await?; // 4
    k.add("p5b", JobOptions::new().priority(5).lifo(true))
        .await?; // 5
    ensure_eq!(
        k.fetch_ids("t", 2, k.t0).await?,
        ids(&["3", "2"]),
        "first fetch of 2"
    );
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0).await?,
        ids(&["4", "1", "5"]),
        "the rest"
    );
    ensure!(
        k.fetch_ids("t", 10, k.t0).await?.is_empty(),
        "a third fetch found jobs"
    );
    Ok(())
}

/// A fetched job is active: started at the fetch's `now`, one attempt started and none made,
/// run by the fetch's worker; the stored job agrees, `active` is emitted and counted.
pub async fn a_fetched_job_is_active_under_the_callers_lock(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let fetched = k.fetch("tok", 5, k.t0 + 100).await?;
    ensure_eq!(fetched_ids(&fetched), ids(&["1"]), "fetched");
    ensure_eq!(fetched.next_due_at, None, "next due time");
    let job = &fetched.jobs[0].record;
    ensure_eq!(job.state, JobState::Active, "state");
    ensure_eq!(job.processed_on, Some(k.t0 + 100), "processed on");
    ensure_eq!(
        (job.attempts_started, job.attempts_made),
        (1, 0),
        "(attempts started, made)"
    );
    ensure_eq!(job.processed_by.as_deref(), Some(WORKER), "processed by");
    ensure_eq!(job.data, r#"{"name":"a"}"#, "data");
    ensure_eq!(&k.get(&id).await?, job, "the stored job");
    ensure_eq!(
        k.last_event(&id).await?,
        Event::Active {
            job_id: id.clone(),
            prev: JobState::Waiting
        },
        "last event"
    );
    let counts = k.counts().await?;
    ensure_eq!((counts.active, counts.waiting), (1, 0), "(active, waiting)");
    Ok(())
}

/// A fetch first promotes the delayed jobs due at its `now`, in due order (a prioritized one
/// by priority), emitting `waiting` (from delayed) for each, and hints the next due time.
pub async fn due_delayed_jobs_are_promoted_at_fetch(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let delay = |ms| JobOptions::new().delay(Duration::from_millis(ms));
    let later = k.add("later", delay(300)).await?; // 1
    let sooner = k.add("sooner", delay(100)).await?; // 2
    let urgent = k.add("urgent", delay(200).priority(1)).await?; // 3
    k.add("now", JobOptions::new()).await?; // 4

    let fetched = k.fetch("t", 10, k.t0 + 50).await?;
    ensure_eq!(fetched_ids(&fetched), ids(&["4"]), "fetched at +50 ms");
    ensure_eq!(fetched.next_due_at, Some(k.t0 + 100), "hint at +50 ms");

    let fetched = k.fetch("t", 10, k.t0 + 250).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![sooner.0.clone(), urgent.0.clone()],
        "fetched at +250 ms (waiting first, then prioritized)"
    );
    ensure_eq!(fetched.next_due_at, Some(k.t0 + 300), "hint at +250 ms");
    for id in [&sooner, &urgent] {
        let events = k.job_events(id).await?;
        ensure!(
            events.contains(&Event::Waiting {
                job_id: id.clone(),
                prev: Some(JobState::Delayed)
            }),
            "job {id} was promoted without `waiting` from delayed: {events:?}"
        );
    }
    ensure!(
        k.fetch("t", 10, k.t0 + 299).await?.jobs.is_empty(),
        "a job started before its due time"
    );
    let fetched = k.fetch("t", 10, k.t0 + 300).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![later.0.clone()],
        "fetched at +300 ms"
    );
    ensure_eq!(fetched.next_due_at, None, "hint once no job is delayed");
    Ok(())
}

/// A paused queue hands out nothing (its jobs stay waiting, new ones arrive as waiting) but
/// still promotes due delayed jobs; once resumed, everything runs in order.
pub async fn a_paused_queue_hands_out_nothing_but_still_promotes(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let delayed = k
        .add("d", JobOptions::new().delay(Duration::from_millis(10)))
        .await?;
    let pause = |paused| SetPaused {
        queue: k.queue.clone(),
        paused,
        now: k.t0,
    };
    k.store.queue_set_paused(pause(true)).await?;
    let status = k
        .store
        .queue_status(OfQueue {
            queue: k.queue.clone(),
        })
        .await?;
    ensure!(status.paused, "the queue is not paused after a pause");
    ensure!(
        k.fetch("t", 10, k.t0 + 20).await?.jobs.is_empty(),
        "a paused queue handed out jobs"
    );
    ensure_eq!(
        k.get(&delayed).await?.state,
        JobState::Waiting,
        "the due delayed job"
    );
    let added = k.add_at("b", JobOptions::new(), k.t0 + 20).await?;
    ensure_eq!(
        k.get(&added).await?.state,
        JobState::Waiting,
        "a job added while paused"
    );
    k.store.queue_set_paused(pause(false)).await?;
    let status = k
        .store
        .queue_status(OfQueue {
            queue: k.queue.clone(),
        })
        .await?;
    ensure!(!status.paused, "the queue is paused after a resume");
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0 + 20).await?,
        ids(&["1", "2", "3"]),
        "fetched after resume"
    );
    Ok(())
}

/// A fetch on a queue nobody used finds nothing and writes no job or event. (Whether the
/// queue then shows in `queues_list` is the store's own: Redis writes BullMQ's settings hash,
/// as Node's worker does.)
pub async fn a_fetch_on_an_unknown_queue_finds_nothing(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let fetched = k.fetch("t", 10, k.t0).await?;
    ensure!(
        fetched.jobs.is_empty(),
        "fetched {:?}",
        fetched_ids(&fetched)
    );
    ensure_eq!(fetched.next_due_at, None, "next due time");
    ensure_eq!(k.counts().await?.total(), 0, "jobs");
    let names = k.event_names().await?;
    ensure!(names.is_empty(), "events: {names:?}");
    Ok(())
}

/// A fetch of `max_jobs: 0` takes nothing and leaves the job waiting.
pub async fn max_jobs_zero_takes_nothing(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    ensure!(
        k.fetch_ids("t", 0, k.t0).await?.is_empty(),
        "a fetch of 0 took jobs"
    );
    ensure_eq!(k.get(&id).await?.state, JobState::Waiting, "state");
    ensure_eq!(k.counts().await?.active, 0, "active jobs");
    Ok(())
}
