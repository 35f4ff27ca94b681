//! Operator calls on a whole queue: pause and resume, drain, clean, obliterate, and the list of
//! queues under a prefix.

use std::collections::BTreeSet;
use std::time::Duration;

use oxq_core::backend::{
    AddLog, CleanQueue, DrainQueue, ListQueues, ObliterateQueue, OfQueue, ReadEvents, SetPaused,
};
use oxq_core::{Error, Event, EventId, JobId, JobOptions, JobState, QueueRef};

use super::kit::{Kit, completed, expect_err};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// The queues listed under `prefix`, as `prefix:name` keys.
async fn queues(k: &Kit, prefix: &str) -> CaseResult<BTreeSet<String>> {
    let listed = k
        .store
        .queues_list(ListQueues {
            prefix: prefix.to_owned(),
        })
        .await?;
    Ok(listed.iter().map(QueueRef::key).collect())
}

async fn latest(k: &Kit) -> CaseResult<Option<EventId>> {
    Ok(k.store
        .events_latest(OfQueue {
            queue: k.queue.clone(),
        })
        .await?)
}

async fn paused(k: &Kit) -> CaseResult<bool> {
    Ok(k.store
        .queue_status(OfQueue {
            queue: k.queue.clone(),
        })
        .await?
        .paused)
}

/// A queue is not paused until paused; pause and resume are reported by `queue_status` and
/// emit `paused` and `resumed`.
pub async fn pause_and_resume_are_reported_and_emitted(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    ensure!(!paused(&k).await?, "a new queue is paused");
    let set = |paused, now| SetPaused {
        queue: k.queue.clone(),
        paused,
        now,
    };
    k.store.queue_set_paused(set(true, k.t0 + 1)).await?;
    ensure!(paused(&k).await?, "not paused after a pause");
    k.store.queue_set_paused(set(false, k.t0 + 2)).await?;
    ensure!(!paused(&k).await?, "paused after a resume");
    let events: Vec<Event> = k.events().await?.into_iter().map(|e| e.event).collect();
    ensure!(
        events.ends_with(&[Event::Paused, Event::Resumed]),
        "events: {events:?}"
    );
    Ok(())
}

/// `drain` removes waiting and prioritized jobs, and delayed ones only when asked; active and
/// finished jobs stay. It answers how many it removed.
pub async fn drain_removes_jobs_waiting_to_run(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("done", JobOptions::new()).await?;
    let done = k.fetch("t", 1, k.t0).await?;
    k.finish(&done.jobs[0], "t", completed(), k.t0 + 1).await?;
    k.add("active", JobOptions::new()).await?;
    k.fetch("t", 1, k.t0 + 2).await?;
    k.add("w", JobOptions::new()).await?;
    k.add("p", JobOptions::new().priority(1)).await?;
    k.add("d", JobOptions::new().delay(Duration::from_secs(9)))
        .await?;
    let drain = |include_delayed| DrainQueue {
        queue: k.queue.clone(),
        include_delayed,
    };
    ensure_eq!(
        k.store.queue_drain(drain(false)).await?.count,
        2,
        "drained without delayed"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.active,
            counts.completed
        ),
        (0, 0, 1, 1, 1),
        "(waiting, prioritized, delayed, active, completed)"
    );
    ensure_eq!(
        k.store.queue_drain(drain(true)).await?.count,
        1,
        "drained with delayed"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (
            counts.delayed,
            counts.active,
            counts.completed,
            counts.total()
        ),
        (0, 1, 1, 2),
        "(delayed, active, completed, total) after draining delayed"
    );
    Ok(())
}

/// `clean` removes up to `limit` jobs (0: no limit) of one state older than the grace period
/// at `now`, oldest first: finished jobs by finish time, waiting ones by add time. Each call
/// emits `cleaned` with its count, 0 included.
pub async fn clean_by_state_grace_and_limit(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..4 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 3, k.t0).await?;
    for (i, job) in fetched.jobs.iter().enumerate() {
        k.finish(job, "t", completed(), k.t0 + 1_000 * (i as u64 + 1))
            .await?;
    }
    let clean = |state, grace_ms, limit| CleanQueue {
        queue: k.queue.clone(),
        state,
        grace: Duration::from_millis(grace_ms),
        limit,
        now: k.t0 + 3_500,
    };
    // Finished at +1000, +2000, +3000; a grace of 1000 ms at +3500 cuts at +2500.
    let cleaned = k
        .store
        .queue_clean(clean(JobState::Completed, 1_000, 1))
        .await?;
    ensure_eq!(cleaned.ids, vec![JobId::from("1")], "limit 1");
    let cleaned = k
        .store
        .queue_clean(clean(JobState::Completed, 1_000, 0))
        .await?;
    ensure_eq!(
        cleaned.ids,
        vec![JobId::from("2")],
        "no limit, within the grace period"
    );
    let cleaned = k.store.queue_clean(clean(JobState::Waiting, 0, 0)).await?;
    ensure_eq!(cleaned.ids, vec![JobId::from("4")], "waiting, by add time");
    let cleaned = k.store.queue_clean(clean(JobState::Failed, 0, 0)).await?;
    ensure!(
        cleaned.ids.is_empty(),
        "failed jobs cleaned: {:?}",
        cleaned.ids
    );
    let counts: Vec<u64> = k
        .events()
        .await?
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Cleaned { count } => Some(count),
            _ => None,
        })
        .collect();
    ensure_eq!(counts, vec![1, 1, 1, 0], "cleaned events");
    ensure_eq!(
        k.get(&JobId::from("3")).await?.state,
        JobState::Completed,
        "job 3"
    );
    Ok(())
}

/// `obliterate` refuses a queue with active jobs unless forced; forced, it deletes the jobs,
/// their logs, the events and the queue itself (a new job starts at id 1 again), and leaves
/// other queues alone. A cursor read before still sees the events of the queue made again.
pub async fn obliterate_refuses_active_jobs_unless_forced(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let other = k.sibling(h, "other")?;
    let kept = other.add("kept", JobOptions::new()).await?;
    let a = k.add("a", JobOptions::new()).await?;
    k.add("b", JobOptions::new()).await?;
    k.store
        .job_log_add(AddLog {
            queue: k.queue.clone(),
            job_id: a.clone(),
            line: "hello".into(),
            keep_logs: None,
            now: k.t0,
        })
        .await?;
    k.fetch("t", 1, k.t0).await?;
    let obliterate = |force| ObliterateQueue {
        queue: k.queue.clone(),
        force,
    };
    expect_err(
        k.store.queue_obliterate(obliterate(false)).await,
        "Conflict",
        |e| matches!(e, Error::Conflict(_)),
    )?;
    ensure_eq!(
        k.counts().await?.total(),
        2,
        "jobs after a refused obliterate"
    );
    let before = latest(&k).await?;
    k.store.queue_obliterate(obliterate(true)).await?;
    ensure_eq!(k.counts().await?.total(), 0, "jobs after obliterate");
    ensure!(k.try_get(&a).await?.is_none(), "job a survived");
    ensure!(k.events().await?.is_empty(), "events survived");
    let listed = queues(&k, &k.queue.prefix).await?;
    ensure_eq!(listed, BTreeSet::from([other.queue.key()]), "queues left");
    ensure_eq!(
        other.get(&kept).await?.name,
        "kept",
        "the other queue's job"
    );
    ensure_eq!(
        k.add("again", JobOptions::new()).await?.as_str(),
        "1",
        "the next id"
    );
    // A reader that kept its cursor from before sees the new queue's events.
    let after = k
        .store
        .events_read(ReadEvents {
            queue: k.queue.clone(),
            after: before,
            block: Duration::ZERO,
            max: 10,
        })
        .await?;
    let names: Vec<_> = after.iter().map(|e| e.event.name()).collect();
    ensure_eq!(names, ["added", "waiting"], "events after the old cursor");
    Ok(())
}

/// `queues_list` names every queue that holds anything under a prefix, and none of another.
pub async fn queues_list_names_the_queues_under_a_prefix(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let sibling = k.sibling(h, "alpha")?;
    sibling.add("b", JobOptions::new()).await?;
    let elsewhere = QueueRef::with_prefix(format!("{}x", k.queue.prefix), k.queue.name.clone())?;
    let far = Kit::on(h, elsewhere.clone());
    far.add("c", JobOptions::new()).await?;
    ensure_eq!(
        queues(&k, &k.queue.prefix).await?,
        BTreeSet::from([k.queue.key(), sibling.queue.key()]),
        "queues under the case's prefix"
    );
    ensure_eq!(
        queues(&k, &elsewhere.prefix).await?,
        BTreeSet::from([elsewhere.key()]),
        "queues under the other prefix"
    );
    Ok(())
}
