//! Blocking waits: `queue_wait` and `events_read`, in this process and from another one.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use oxq_core::backend::{AddJobs, NewJob, ReadEvents, WaitForJobs, Wakeup};
use oxq_core::clock::now_ms;
use oxq_core::{Backend, Event, JobOptions};
use oxq_sqlite::SqliteOptions;

fn wait(h: &Harness, timeout: Duration) -> WaitForJobs {
    WaitForJobs {
        queue: h.queue.clone(),
        timeout,
    }
}

async fn add_job(store: &dyn Backend, h: &Harness, options: JobOptions) {
    store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![NewJob {
                name: "x".into(),
                data: "null".into(),
                options,
            }],
            now: now_ms(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn times_out_on_an_empty_queue() {
    let h = Harness::new().await;
    let started = Instant::now();
    let woke = h
        .store
        .queue_wait(wait(&h, Duration::from_millis(120)))
        .await
        .unwrap();
    assert_eq!(woke, Wakeup::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn returns_at_once_when_jobs_are_ready() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    let woke = h
        .store
        .queue_wait(wait(&h, Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn wakes_on_an_add_from_this_process_without_polling() {
    // A poll interval far above the test's timeout: only the in-process signal can wake it.
    let h = Harness::with_options(SqliteOptions::default().poll_interval(Duration::from_secs(60)))
        .await;
    let store = h.store.clone();
    let request = wait(&h, Duration::from_secs(10));
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    // Give the waiter time to block; the add must wake it whether or not it already did.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    add_job(h.store.as_ref(), &h, JobOptions::new()).await;
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn wakes_on_an_add_from_another_process() {
    let h = Harness::new().await; // default poll interval: 50 ms
    let other = h.other_process().await;
    let store = h.store.clone();
    let request = wait(&h, Duration::from_secs(10));
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    // Let the waiter block before the other process writes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    add_job(other.as_ref(), &h, JobOptions::new()).await;
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn reports_the_due_time_of_a_delayed_job_before_the_deadline() {
    let h = Harness::new().await;
    add_job(
        h.store.as_ref(),
        &h,
        JobOptions::new().delay(Duration::from_secs(2)),
    )
    .await;
    let due = match h
        .store
        .queue_wait(wait(&h, Duration::from_secs(10)))
        .await
        .unwrap()
    {
        Wakeup::DueAt(t) => t,
        other => panic!("expected DueAt, got {other:?}"),
    };
    assert!(due > now_ms());
    // Waiting exactly until the due time does not bounce back at once: it blocks, then the
    // job is due.
    let started = Instant::now();
    let timeout = Duration::from_millis(due.saturating_sub(now_ms()));
    let woke = h.store.queue_wait(wait(&h, timeout)).await.unwrap();
    assert!(started.elapsed() >= timeout);
    assert!(
        matches!(woke, Wakeup::JobsReady | Wakeup::TimedOut),
        "{woke:?}"
    );
    assert_eq!(
        h.store.queue_wait(wait(&h, Duration::ZERO)).await.unwrap(),
        Wakeup::JobsReady
    );
}

#[tokio::test]
async fn a_paused_queue_never_reports_jobs_and_resume_wakes_waiters() {
    let h = Harness::with_options(SqliteOptions::default().poll_interval(Duration::from_secs(60)))
        .await;
    h.add("a", JobOptions::new()).await;
    h.store.queue_pause(&h.queue, T0).await.unwrap();
    let woke = h
        .store
        .queue_wait(wait(&h, Duration::from_millis(100)))
        .await
        .unwrap();
    assert_eq!(woke, Wakeup::TimedOut);
    let store = h.store.clone();
    let request = wait(&h, Duration::from_secs(10));
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.store.queue_resume(&h.queue, T0).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn a_dropped_wait_loses_nothing() {
    let h = Harness::new().await;
    let dropped = tokio::time::timeout(
        Duration::from_millis(30),
        h.store.queue_wait(wait(&h, Duration::from_secs(10))),
    )
    .await;
    assert!(dropped.is_err(), "the wait was cancelled");
    h.add("a", JobOptions::new()).await;
    assert_eq!(
        h.store
            .queue_wait(wait(&h, Duration::from_secs(1)))
            .await
            .unwrap(),
        Wakeup::JobsReady
    );
    assert_eq!(h.fetch_ids("t", 1, T0).await, ids(&["1"]));
}

#[tokio::test]
async fn events_read_blocks_until_an_event_arrives_from_another_process() {
    let h = Harness::new().await;
    let other = h.other_process().await;
    let latest = h.store.events_latest(&h.queue).await.unwrap();
    assert_eq!(latest, None);
    let store = h.store.clone();
    let queue = h.queue.clone();
    let reader = tokio::spawn(async move {
        store
            .events_read(ReadEvents {
                queue,
                after: None,
                block: Duration::from_secs(10),
                max: 10,
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    add_job(other.as_ref(), &h, JobOptions::new()).await;
    let events = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        events[0].event,
        Event::Added {
            job_id: "1".into(),
            name: "x".into()
        }
    );
    // Reading after the newest event blocks for `block`, then returns nothing.
    let latest = h.store.events_latest(&h.queue).await.unwrap();
    let started = Instant::now();
    let none = h
        .store
        .events_read(ReadEvents {
            queue: h.queue.clone(),
            after: latest,
            block: Duration::from_millis(100),
            max: 10,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(100));
}
