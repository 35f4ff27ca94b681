//! In-process wake-ups: a commit wakes this process's waiters through the store's signal, not
//! its polling of the file. Each store here polls only once a minute, so a wake-up within the
//! test's limit can only come from the signal.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::{ReadEvents, SetPaused, WaitForJobs, Wakeup};
use oxq_core::clock::now_ms;
use oxq_core::{Backend, JobOptions};
use oxq_sqlite::SqliteOptions;

/// Far above every wait below: only the in-process signal can wake a waiter in time.
const NO_POLLING: Duration = Duration::from_secs(60);

async fn harness() -> Harness {
    Harness::with_options(SqliteOptions::default().poll_interval(NO_POLLING)).await
}

fn wait(h: &Harness) -> WaitForJobs {
    WaitForJobs {
        queue: h.queue.clone(),
        timeout: Duration::from_secs(30),
        now: now_ms(),
    }
}

#[tokio::test]
async fn an_add_wakes_a_waiter_without_polling() {
    let h = harness().await;
    let store = h.store.clone();
    let request = wait(&h);
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    until_parked(&h.store, &h.queue).await;
    add_to(h.store.as_ref(), &h.queue, "x", JobOptions::new(), now_ms()).await;
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn a_resume_wakes_a_waiter_without_polling() {
    let h = harness().await;
    h.add("a", JobOptions::new()).await;
    let pause = |paused| SetPaused {
        queue: h.queue.clone(),
        paused,
        now: T0,
    };
    h.store.queue_set_paused(pause(true)).await.unwrap();
    let store = h.store.clone();
    let request = wait(&h);
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    until_parked(&h.store, &h.queue).await;
    h.store.queue_set_paused(pause(false)).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn an_event_wakes_a_blocked_read_without_polling() {
    let h = harness().await;
    let store = h.store.clone();
    let request = ReadEvents {
        queue: h.queue.clone(),
        after: None,
        block: Duration::from_secs(30),
        max: 10,
    };
    let reader = tokio::spawn(async move { store.events_read(request).await });
    until_parked(&h.store, &h.queue).await;
    h.add("a", JobOptions::new()).await;
    let events = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(events[0].event.name(), "added");
}
