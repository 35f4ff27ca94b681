//! The event log (order, ids, trimming) and listings of jobs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::{ListJobs, ReadEvents};
use oxq_core::{Backend, EventId, JobOptions, JobState};
use oxq_sqlite::SqliteOptions;

#[tokio::test]
async fn events_come_in_commit_order_with_growing_ids() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    h.fetch("t", 1, T0 + 1).await;
    h.finish(&id, "t", completed(), T0 + 2).await;
    let events = h.events().await;
    let names: Vec<_> = events.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names,
        vec!["added", "waiting", "active", "completed", "drained"]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.id.0.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        events.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        vec![T0, T0, T0 + 1, T0 + 2, T0 + 2]
    );
    assert_eq!(
        h.store.events_latest(&h.queue).await.unwrap(),
        Some(events[4].id.clone())
    );
    // Reading after a cursor, a page at a time.
    let page = h
        .store
        .events_read(ReadEvents {
            queue: h.queue.clone(),
            after: Some(events[1].id.clone()),
            block: Duration::ZERO,
            max: 2,
        })
        .await
        .unwrap();
    assert_eq!(page, events[2..4].to_vec());
    let bad = h
        .store
        .events_read(ReadEvents {
            queue: h.queue.clone(),
            after: Some(EventId("1-0".into())),
            block: Duration::ZERO,
            max: 2,
        })
        .await;
    assert!(matches!(bad, Err(oxq_core::Error::InvalidOptions(_))));
}

#[tokio::test]
async fn the_log_keeps_about_max_events() {
    let h = Harness::with_options(SqliteOptions::default().max_events(10)).await;
    for i in 0..30 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let events = h.events().await;
    assert!(events.len() >= 10 && events.len() <= 11, "{}", events.len());
    // The newest are kept.
    assert_eq!(events.last().unwrap().id.0, "60");
}

#[tokio::test]
async fn events_of_queues_are_separate() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    let other = oxq_core::QueueRef::new("other").unwrap();
    h.store.queue_pause(&other, T0).await.unwrap();
    assert_eq!(h.event_names().await, vec!["added", "waiting"]);
    let latest = h.store.events_latest(&other).await.unwrap();
    assert_eq!(latest, Some(EventId("1".into())));
}

fn list(h: &Harness, states: &[JobState], offset: u64, limit: u64, ascending: bool) -> ListJobs {
    ListJobs {
        queue: h.queue.clone(),
        states: states.to_vec(),
        offset,
        limit,
        ascending,
    }
}

async fn listed(h: &Harness, req: ListJobs) -> Vec<String> {
    h.store
        .jobs_list(req)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id.0)
        .collect()
}

#[tokio::test]
async fn lists_follow_each_states_natural_order() {
    let h = Harness::new().await;
    h.add("w1", JobOptions::new()).await; // 1
    h.add("w2", JobOptions::new().lifo(true)).await; // 2 (front)
    h.add("p9", JobOptions::new().priority(9)).await; // 3
    h.add("p1", JobOptions::new().priority(1)).await; // 4
    h.add("d2", JobOptions::new().delay(Duration::from_secs(2)))
        .await; // 5
    h.add("d1", JobOptions::new().delay(Duration::from_secs(1)))
        .await; // 6
    h.add("w3", JobOptions::new()).await; // 7

    assert_eq!(
        listed(&h, list(&h, &[JobState::Waiting], 0, 10, true)).await,
        ids(&["2", "1", "7"])
    );
    assert_eq!(
        listed(&h, list(&h, &[JobState::Waiting], 0, 10, false)).await,
        ids(&["7", "1", "2"])
    );
    assert_eq!(
        listed(&h, list(&h, &[JobState::Prioritized], 0, 10, true)).await,
        ids(&["4", "3"])
    );
    assert_eq!(
        listed(&h, list(&h, &[JobState::Delayed], 0, 10, true)).await,
        ids(&["6", "5"])
    );
    // Several states: concatenated in the order asked, paged over the whole.
    let all = [JobState::Waiting, JobState::Prioritized, JobState::Delayed];
    assert_eq!(
        listed(&h, list(&h, &all, 0, 100, true)).await,
        ids(&["2", "1", "7", "4", "3", "6", "5"])
    );
    assert_eq!(
        listed(&h, list(&h, &all, 2, 3, true)).await,
        ids(&["7", "4", "3"])
    );
    assert_eq!(
        listed(&h, list(&h, &all, 5, 10, true)).await,
        ids(&["6", "5"])
    );
    assert_eq!(
        listed(&h, list(&h, &all, 0, 0, true)).await,
        Vec::<String>::new()
    );

    let counts = h.store.jobs_count(&h.queue).await.unwrap();
    assert_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.total()
        ),
        (3, 2, 2, 7)
    );
}

#[tokio::test]
async fn finished_jobs_list_by_finish_time() {
    let h = Harness::new().await;
    for i in 0..3 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let jobs = h.fetch("t", 3, T0).await.jobs;
    // Finish in reverse order of id.
    for (i, job) in jobs.iter().rev().enumerate() {
        h.finish(&job.id, "t", completed(), T0 + 10 * (i as u64 + 1))
            .await;
    }
    assert_eq!(
        listed(&h, list(&h, &[JobState::Completed], 0, 10, true)).await,
        ids(&["3", "2", "1"])
    );
    assert_eq!(
        listed(&h, list(&h, &[JobState::Completed], 0, 2, false)).await,
        ids(&["1", "2"])
    );
}
