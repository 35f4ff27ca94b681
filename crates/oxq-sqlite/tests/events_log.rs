//! The SQLite event log: event ids are growing numbers (a Redis stream id is refused as a
//! cursor), timestamps are the caller's `now`, and the log keeps about `max_events` per queue.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::ReadEvents;
use oxq_core::{Backend, EventId, JobOptions, KeepJobs};
use oxq_sqlite::SqliteOptions;

#[tokio::test]
async fn ids_are_growing_numbers_and_times_are_the_callers() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    let fetched = h.fetch("t", 1, T0 + 1).await;
    h.finish(&fetched.jobs[0], "t", completed(KeepJobs::All), T0 + 2)
        .await;
    let events = h.events().await;
    let seqs: Vec<u64> = events.iter().map(|e| e.id.0.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        events.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        vec![T0, T0, T0 + 1, T0 + 2, T0 + 2]
    );
    let bad = h
        .store
        .events_read(ReadEvents {
            queue: h.queue.clone(),
            after: Some(EventId("1-0".into())),
            block: Duration::ZERO,
            max: 2,
        })
        .await;
    assert!(
        matches!(bad, Err(oxq_core::Error::InvalidOptions(_))),
        "{bad:?}"
    );
}

#[tokio::test]
async fn the_log_keeps_about_max_events() {
    let h = Harness::with_options(SqliteOptions::default().max_events(10)).await;
    for i in 0..30 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let events = h.events().await;
    assert!(events.len() >= 10 && events.len() <= 11, "{}", events.len());
    // The newest are kept: 30 adds wrote 60 events.
    assert_eq!(events.last().unwrap().id.0, "60");
}
