//! [`AttemptEnd::Delayed`]: the job goes back to delayed without using an attempt.

use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, Error, Event, JobState, LockToken, QueueRef, Result};

use super::{T0, delayed_until, events, fetch_as, get, held_job, store};

#[tokio::test]
async fn a_delayed_attempt_end_delays_without_using_an_attempt() -> Result<()> {
    let (_dir, store) = store().await?;
    let queue = QueueRef::new("delay")?;
    let id = held_job(&store, &queue, "t1").await?;
    let until = T0 + 60_000;
    let finish = |token: &str| FinishJobs {
        queue: queue.clone(),
        now: T0 + 10,
        items: vec![delayed_until(&id, token, until)],
        fetch_next: None,
        metrics: None,
    };

    let refused = store.job_finish(finish("someone-else")).await?;
    assert!(matches!(&refused.items[0], Err(Error::LockLost(j)) if j == id.as_str()));
    assert_eq!(get(&store, &queue, &id).await?.state, JobState::Active);

    let done = store.job_finish(finish("t1")).await?;
    assert!(done.items[0].is_ok(), "{:?}", done.items);
    let record = get(&store, &queue, &id).await?;
    assert_eq!(record.state, JobState::Delayed);
    assert_eq!(record.due_at, Some(until));
    assert_eq!(record.attempts_made, 0, "a delay is not an attempt");
    assert_eq!(record.attempts_started, 1);
    assert_eq!(record.failed_reason, None);
    assert!(record.stacktrace.is_empty());

    // The lock is released: the old token can neither renew nor finish it.
    let extend = ExtendLocks {
        queue: queue.clone(),
        locks: vec![(id.clone(), LockToken("t1".to_owned()))],
        duration: Duration::from_secs(30),
        now: T0 + 20,
    };
    assert_eq!(store.locks_extend(extend).await?.lost, vec![id.clone()]);
    let again = store.job_finish(finish("t1")).await?;
    assert!(matches!(&again.items[0], Err(Error::LockLost(_))));

    let delayed: Vec<_> = events(&store, &queue)
        .await?
        .into_iter()
        .filter(|e| matches!(e, Event::Delayed { .. }))
        .collect();
    assert_eq!(
        delayed,
        vec![Event::Delayed {
            job_id: id.clone(),
            due_at: until
        }]
    );

    // Not runnable before `until`; runnable from then on, by anyone.
    let early = FetchJobs {
        queue: queue.clone(),
        fetch: fetch_as("t2"),
        now: until - 1,
    };
    let early = store.job_move_to_active(early).await?;
    assert!(early.jobs.is_empty());
    assert_eq!(early.next_due_at, Some(until));
    let due = FetchJobs {
        queue: queue.clone(),
        fetch: fetch_as("t2"),
        now: until,
    };
    let fetched = store.job_move_to_active(due).await?;
    assert_eq!(fetched.jobs.len(), 1);
    assert_eq!(fetched.jobs[0].record.attempts_made, 0);
    assert_eq!(fetched.jobs[0].record.attempts_started, 2);
    Ok(())
}

#[tokio::test]
async fn a_delay_already_due_is_runnable_at_once() -> Result<()> {
    let (_dir, store) = store().await?;
    let queue = QueueRef::new("due")?;
    let id = held_job(&store, &queue, "t1").await?;
    let now = T0 + 50;
    let done = store
        .job_finish(FinishJobs {
            queue: queue.clone(),
            now,
            items: vec![delayed_until(&id, "t1", now - 1)],
            fetch_next: Some(fetch_as("t2")),
            metrics: None,
        })
        .await?;
    assert!(done.items[0].is_ok(), "{:?}", done.items);
    let ids: Vec<_> = done.fetched.jobs.iter().map(|j| &j.record.id).collect();
    assert_eq!(ids, vec![&id], "the fetch-next of the same call takes it");
    assert_eq!(done.fetched.jobs[0].record.attempts_made, 0);
    Ok(())
}
