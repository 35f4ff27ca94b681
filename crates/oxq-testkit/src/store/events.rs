//! The event log (`events_read`, `events_latest`): order and fields, reading after a cursor a
//! page at a time, queues kept apart, and blocking reads.
//!
//! Real time: a blocking read blocks for a real duration (its request carries no `now`); the
//! cases wait for the reader to block through the store's probe
//! ([`Harness::until_blocked`]), never by sleeping.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use oxq_core::backend::{OfQueue, ReadEvents, SetPaused};
use oxq_core::{Event, EventId, JobId, JobOptions, JobState, StoredEvent};

use super::kit::{Kit, completed};
use crate::support::WAIT;
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn read(k: &Kit, after: Option<EventId>, block: Duration, max: usize) -> ReadEvents {
    ReadEvents {
        queue: k.queue.clone(),
        after,
        block,
        max,
    }
}

async fn latest(k: &Kit) -> CaseResult<Option<EventId>> {
    Ok(k.store
        .events_latest(OfQueue {
            queue: k.queue.clone(),
        })
        .await?)
}

/// A new queue has no events. Then every transition's events come in the order they
/// happened, with their fields; `events_latest` names the newest; reading after a cursor
/// answers the next `max` events.
pub async fn events_come_in_order_and_page_after_a_cursor(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    ensure_eq!(latest(&k).await?, None, "the latest event of a new queue");
    ensure!(k.events().await?.is_empty(), "a new queue has events");
    let id = k.add("a", JobOptions::new()).await?;
    let fetched = k.fetch("t", 1, k.t0 + 1).await?;
    k.finish(&fetched.jobs[0], "t", completed(), k.t0 + 2)
        .await?;
    let events = k.events().await?;
    let kinds: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
    ensure_eq!(
        kinds,
        vec![
            Event::Added {
                job_id: id.clone(),
                name: "a".into()
            },
            Event::Waiting {
                job_id: id.clone(),
                prev: None
            },
            Event::Active {
                job_id: id.clone(),
                prev: JobState::Waiting
            },
            Event::Completed {
                job_id: id.clone(),
                return_value: "42".into()
            },
            Event::Drained,
        ],
        "events"
    );
    let distinct: BTreeSet<_> = events.iter().map(|e| e.id.clone()).collect();
    ensure_eq!(distinct.len(), events.len(), "distinct event ids");
    ensure!(
        events.iter().all(|e| e.timestamp > 0)
            && events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "timestamps: {:?}",
        events.iter().map(|e| e.timestamp).collect::<Vec<_>>()
    );
    ensure_eq!(
        latest(&k).await?,
        Some(events[4].id.clone()),
        "the latest event"
    );
    let page = k
        .store
        .events_read(read(&k, Some(events[1].id.clone()), Duration::ZERO, 2))
        .await?;
    ensure_eq!(page, events[2..4].to_vec(), "the page after event 2");
    let rest = k
        .store
        .events_read(read(&k, Some(events[4].id.clone()), Duration::ZERO, 10))
        .await?;
    ensure!(rest.is_empty(), "events after the newest: {rest:?}");
    Ok(())
}

/// Each queue has its own log: events of one never show in another.
pub async fn events_of_queues_are_separate(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let other = k.sibling(h, "other")?;
    k.add("a", JobOptions::new()).await?;
    other
        .store
        .queue_set_paused(SetPaused {
            queue: other.queue.clone(),
            paused: true,
            now: k.t0,
        })
        .await?;
    ensure_eq!(
        k.event_names().await?,
        ["added", "waiting"],
        "the case's queue"
    );
    let theirs = other.events().await?;
    ensure_eq!(
        theirs.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        vec![Event::Paused],
        "the other queue"
    );
    ensure_eq!(
        latest(&other).await?,
        Some(theirs[0].id.clone()),
        "the other queue's latest"
    );
    Ok(())
}

/// Reads `after` with a 10 s block in a task, waits until the store shows it blocked, runs
/// `act`, and answers what the read returned and how long after `act` began.
async fn blocked_read<F>(
    h: &Harness,
    k: &Kit,
    after: Option<EventId>,
    act: F,
) -> CaseResult<(Vec<StoredEvent>, Duration)>
where
    F: AsyncFnOnce() -> CaseResult,
{
    let store = k.store.clone();
    let request = read(k, after, Duration::from_secs(10), 10);
    let reader = tokio::spawn(async move { store.events_read(request).await });
    h.until_blocked(1).await?;
    let started = Instant::now();
    act().await?;
    let read = tokio::time::timeout(WAIT, reader)
        .await
        .map_err(|_| TestError::msg("the blocked read did not return"))?
        .map_err(|e| TestError::msg(e.to_string()))??;
    Ok((read, started.elapsed()))
}

/// A blocked read returns as soon as an event arrives: from the start of an empty log, and
/// after the newest event.
pub async fn a_blocked_read_wakes_on_the_next_event(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let (first, took) = blocked_read(h, &k, None, async || {
        k.add("a", JobOptions::new()).await.map(|_| ())
    })
    .await?;
    ensure_eq!(
        first.first().map(|e| e.event.clone()),
        Some(Event::Added {
            job_id: JobId::from("1"),
            name: "a".into()
        }),
        "the first read"
    );
    ensure!(
        took < Duration::from_secs(5),
        "woken {took:?} after the add"
    );
    let newest = latest(&k).await?;
    let (next, took) = blocked_read(h, &k, newest, async || {
        let pause = SetPaused {
            queue: k.queue.clone(),
            paused: true,
            now: k.t0,
        };
        Ok(k.store.queue_set_paused(pause).await?)
    })
    .await?;
    ensure_eq!(
        next.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        vec![Event::Paused],
        "the read after the newest"
    );
    ensure!(
        took < Duration::from_secs(5),
        "woken {took:?} after the pause"
    );
    Ok(())
}

/// A read after the newest event with nothing arriving blocks for its block time (real time:
/// the request carries no `now`), then answers no events.
pub async fn a_blocking_read_with_nothing_new_times_out_empty(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let newest = latest(&k).await?;
    let block = Duration::from_millis(300);
    let started = Instant::now();
    let none = k.store.events_read(read(&k, newest, block, 10)).await?;
    let took = started.elapsed();
    ensure!(none.is_empty(), "events: {none:?}");
    // 10 ms of tolerance: a server may round its block time to its own timer.
    ensure!(
        took + Duration::from_millis(10) >= block,
        "returned after {took:?}, before {block:?}"
    );
    Ok(())
}
