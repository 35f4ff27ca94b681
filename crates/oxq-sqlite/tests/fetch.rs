//! The worker's fetch: order, promotion of delayed jobs, paused queues, fetched fields.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::{Backend, Event, JobId, JobOptions, JobState};

#[tokio::test]
async fn waiting_jobs_run_fifo_and_lifo_jobs_jump_the_line() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await; // 1
    h.add("b", JobOptions::new()).await; // 2
    h.add("c", JobOptions::new().lifo(true)).await; // 3 → front
    h.add("d", JobOptions::new()).await; // 4
    h.add("e", JobOptions::new().lifo(true)).await; // 5 → front, before 3
    assert_eq!(
        h.fetch_ids("t", 10, T0).await,
        ids(&["5", "3", "1", "2", "4"])
    );
}

#[tokio::test]
async fn waiting_runs_before_prioritized_which_runs_by_priority_then_fifo() {
    let h = Harness::new().await;
    h.add("p5", JobOptions::new().priority(5)).await; // 1
    h.add("p1", JobOptions::new().priority(1)).await; // 2
    h.add("w", JobOptions::new()).await; // 3
    h.add("p1b", JobOptions::new().priority(1)).await; // 4
    h.add("p5b", JobOptions::new().priority(5).lifo(true)).await; // 5: lifo ignored
    assert_eq!(h.fetch_ids("t", 2, T0).await, ids(&["3", "2"]));
    assert_eq!(h.fetch_ids("t", 10, T0).await, ids(&["4", "1", "5"]));
    assert!(h.fetch_ids("t", 10, T0).await.is_empty());
}

#[tokio::test]
async fn fetch_marks_jobs_active_under_the_callers_lock() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    let fetched = h.fetch("tok", 5, T0 + 100).await;
    assert_eq!(fetched.jobs.len(), 1);
    let job = &fetched.jobs[0];
    assert_eq!(job.state, JobState::Active);
    assert_eq!(job.processed_on, Some(T0 + 100));
    assert_eq!(job.attempts_started, 1);
    assert_eq!(job.attempts_made, 0);
    assert_eq!(job.processed_by.as_deref(), Some("w1"));
    assert_eq!(job.data, r#"{"name":"a"}"#);
    assert_eq!(fetched.next_due_at, None);
    // The stored row agrees with what was returned.
    assert_eq!(&h.get(&id).await, job);
    assert_eq!(
        h.job_events(&id).await.last(),
        Some(&Event::Active {
            job_id: id.clone(),
            prev: JobState::Waiting
        })
    );
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().active, 1);
}

#[tokio::test]
async fn due_delayed_jobs_are_promoted_in_due_order_at_fetch() {
    let h = Harness::new().await;
    let later = h
        .add("later", JobOptions::new().delay(Duration::from_millis(300)))
        .await; // 1
    let sooner = h
        .add(
            "sooner",
            JobOptions::new().delay(Duration::from_millis(100)),
        )
        .await; // 2
    let urgent = h
        .add(
            "urgent",
            JobOptions::new()
                .delay(Duration::from_millis(200))
                .priority(1),
        )
        .await; // 3
    h.add("now", JobOptions::new()).await; // 4

    let fetched = h.fetch("t", 10, T0 + 50).await;
    assert_eq!(
        fetched
            .jobs
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        vec!["4"]
    );
    assert_eq!(fetched.next_due_at, Some(T0 + 100));

    // At T0+250 `sooner` and `urgent` are due: sooner joins the line, urgent is prioritized.
    let fetched = h.fetch("t", 10, T0 + 250).await;
    assert_eq!(
        fetched
            .jobs
            .iter()
            .map(|j| j.id.clone())
            .collect::<Vec<_>>(),
        vec![sooner.clone(), urgent.clone()]
    );
    assert_eq!(fetched.next_due_at, Some(T0 + 300));
    assert_eq!(
        h.job_events(&urgent).await[2],
        Event::Waiting {
            job_id: urgent.clone(),
            prev: Some(JobState::Delayed)
        }
    );
    assert_eq!(
        h.job_events(&urgent).await[3],
        Event::Active {
            job_id: urgent.clone(),
            prev: JobState::Prioritized
        }
    );

    let fetched = h.fetch("t", 10, T0 + 300).await;
    assert_eq!(fetched.jobs[0].id, later);
    assert_eq!(fetched.next_due_at, None);
}

#[tokio::test]
async fn a_paused_queue_hands_out_nothing_but_still_promotes() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    let delayed = h
        .add("d", JobOptions::new().delay(Duration::from_millis(10)))
        .await;
    h.store.queue_pause(&h.queue, T0).await.unwrap();
    assert!(h.store.queue_is_paused(&h.queue).await.unwrap());
    let fetched = h.fetch("t", 10, T0 + 20).await;
    assert!(fetched.jobs.is_empty());
    assert_eq!(
        h.get(&delayed).await.state,
        JobState::Waiting,
        "promoted while paused"
    );
    // Jobs keep arriving as waiting.
    let added = h.add("b", JobOptions::new()).await;
    assert_eq!(h.get(&added).await.state, JobState::Waiting);
    h.store.queue_resume(&h.queue, T0).await.unwrap();
    assert!(!h.store.queue_is_paused(&h.queue).await.unwrap());
    assert_eq!(h.fetch_ids("t", 10, T0 + 20).await, ids(&["1", "2", "3"]));
    let names = h.event_names().await;
    assert!(names.contains(&"paused") && names.contains(&"resumed"));
}

#[tokio::test]
async fn fetch_on_an_unknown_queue_is_empty_and_creates_nothing() {
    let h = Harness::new().await;
    let fetched = h.fetch("t", 10, T0).await;
    assert!(fetched.jobs.is_empty());
    assert!(h.store.queues_list("bull").await.unwrap().is_empty());
}

#[tokio::test]
async fn max_jobs_zero_takes_nothing() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    assert!(h.fetch_ids("t", 0, T0).await.is_empty());
    assert_eq!(h.get(&JobId::from("1")).await.state, JobState::Waiting);
}
