//! Adding and reading jobs: ids, duplicates, options and payload round trips.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::{AddJobs, NewJob};
use oxq_core::{Backend, Backoff, Event, JobId, JobOptions, JobState, KeepJobs};

#[tokio::test]
async fn add_then_get_round_trips_every_field() {
    let h = Harness::new().await;
    let options = JobOptions::new()
        .attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(100)))
        .timeout(Duration::from_secs(5))
        .remove_on_complete(KeepJobs::Count(10));
    let id = h.add("email", options.clone()).await;
    assert_eq!(id.as_str(), "1");
    let job = h.get(&id).await;
    assert_eq!(job.id, id);
    assert_eq!(job.name, "email");
    assert_eq!(job.data, r#"{"name":"email"}"#);
    assert_eq!(job.options, options);
    assert_eq!(job.state, JobState::Waiting);
    assert_eq!(job.timestamp, T0);
    assert_eq!(job.progress, "0");
    assert_eq!(
        (job.attempts_made, job.attempts_started, job.stalled_count),
        (0, 0, 0)
    );
    assert_eq!(job.processed_on, None);
    assert_eq!(job.finished_on, None);
    assert!(job.stacktrace.is_empty());
    assert_eq!(
        h.event_names().await,
        vec!["added", "waiting"],
        "a fresh add emits added then waiting"
    );
    assert!(
        h.store
            .job_get(&h.queue, &JobId::from("nope"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn payload_is_stored_exactly_as_given() {
    let h = Harness::new().await;
    let data = "{ \"b\": 1,\n  \"a\": [1.50, \"é\"] }";
    let added = h
        .store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![NewJob {
                name: "raw".into(),
                data: data.into(),
                options: JobOptions::new(),
            }],
            now: T0,
        })
        .await
        .unwrap();
    assert_eq!(h.get(&added[0].id).await.data, data);
}

#[tokio::test]
async fn automatic_ids_count_up_and_custom_ids_bump_the_counter() {
    let h = Harness::new().await;
    assert_eq!(h.add("a", JobOptions::new()).await.as_str(), "1");
    assert_eq!(
        h.add("b", JobOptions::new().job_id("custom"))
            .await
            .as_str(),
        "custom"
    );
    // BullMQ bumps the counter for custom ids too.
    assert_eq!(h.add("c", JobOptions::new()).await.as_str(), "3");
    let custom = h.get(&JobId::from("custom")).await;
    assert_eq!(custom.options.job_id, Some(JobId::from("custom")));
    // The custom job took counter value 2, but it is not job "2".
    assert!(
        h.store
            .job_get(&h.queue, &JobId::from("2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !h.store
            .job_remove(&h.queue, &JobId::from("2"))
            .await
            .unwrap()
    );
    assert_eq!(h.get(&JobId::from("3")).await.name, "c");
}

#[tokio::test]
async fn duplicate_custom_id_writes_nothing_and_emits_duplicated() {
    let h = Harness::new().await;
    let first = h
        .add("first", JobOptions::new().job_id("order-7").priority(3))
        .await;
    let added = h
        .store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![
                NewJob {
                    name: "second".into(),
                    data: "1".into(),
                    options: JobOptions::new().job_id("order-7"),
                },
                NewJob {
                    name: "third".into(),
                    data: "2".into(),
                    options: JobOptions::new(),
                },
            ],
            now: T0 + 5,
        })
        .await
        .unwrap();
    assert_eq!(added[0].id, first);
    assert!(added[0].duplicate);
    assert!(!added[1].duplicate);
    let job = h.get(&first).await;
    assert_eq!(job.name, "first", "the existing job stands");
    assert_eq!(job.state, JobState::Prioritized);
    assert_eq!(
        h.job_events(&first).await,
        vec![
            Event::Added {
                job_id: first.clone(),
                name: "first".into()
            },
            Event::Waiting {
                job_id: first.clone(),
                prev: None
            },
            Event::Duplicated {
                job_id: first.clone()
            },
        ]
    );
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().total(), 2);
}

#[tokio::test]
async fn invalid_custom_ids_are_refused_before_anything_is_written() {
    let h = Harness::new().await;
    let mut bad = JobOptions::new();
    bad.job_id = Some(JobId::from("12"));
    let err = h
        .store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![
                NewJob {
                    name: "ok".into(),
                    data: "1".into(),
                    options: JobOptions::new(),
                },
                NewJob {
                    name: "bad".into(),
                    data: "1".into(),
                    options: bad,
                },
            ],
            now: T0,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, oxq_core::Error::InvalidOptions(_)), "{err}");
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().total(), 0);
}

#[tokio::test]
async fn initial_states_follow_delay_then_priority() {
    let h = Harness::new().await;
    let delayed = h
        .add(
            "d",
            JobOptions::new().delay(Duration::from_secs(10)).priority(2),
        )
        .await;
    let prioritized = h.add("p", JobOptions::new().priority(2)).await;
    let waiting = h.add("w", JobOptions::new()).await;
    let d = h.get(&delayed).await;
    assert_eq!(d.state, JobState::Delayed);
    assert_eq!(d.due_at, Some(T0 + 10_000));
    assert_eq!(h.get(&prioritized).await.state, JobState::Prioritized);
    assert_eq!(h.get(&waiting).await.state, JobState::Waiting);
    let events = h.job_events(&delayed).await;
    assert_eq!(
        events[1],
        Event::Delayed {
            job_id: delayed.clone(),
            due_at: T0 + 10_000
        }
    );
    let counts = h.store.jobs_count(&h.queue).await.unwrap();
    assert_eq!(
        (counts.waiting, counts.prioritized, counts.delayed),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn rows_with_undecodable_json_still_come_back() {
    let h = Harness::new().await;
    let id = h.add("x", JobOptions::new().attempts(4)).await;
    let conn = rusqlite::Connection::open(h.dir.path().join("oxq.db")).unwrap();
    conn.execute(
        "UPDATE jobs SET options = '{broken', stacktrace = 'nope', progress = '7' WHERE id = ?1",
        [id.as_str()],
    )
    .unwrap();
    let job = h.get(&id).await;
    assert_eq!(job.options, JobOptions::default());
    assert!(job.stacktrace.is_empty());
    assert_eq!(job.progress, "7");
}

#[tokio::test]
async fn concurrent_adds_share_commits_and_get_unique_ids() {
    let h = Harness::new().await;
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = h.store.clone();
        let queue = h.queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                let added = store
                    .job_add_bulk(AddJobs {
                        queue: queue.clone(),
                        jobs: vec![NewJob {
                            name: format!("{t}-{i}"),
                            data: "null".into(),
                            options: JobOptions::new(),
                        }],
                        now: T0,
                    })
                    .await
                    .unwrap();
                ids.push(added[0].id.0.parse::<u64>().unwrap());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_custom_id_repeated_in_one_call_is_added_once() {
    let h = Harness::new().await;
    let job = |name: &str| NewJob {
        name: name.into(),
        data: "null".into(),
        options: JobOptions::new().job_id("same"),
    };
    let added = h
        .store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![job("first"), job("second")],
            now: T0,
        })
        .await
        .unwrap();
    assert_eq!(
        added.iter().map(|a| a.duplicate).collect::<Vec<_>>(),
        vec![false, true]
    );
    assert_eq!(h.get(&JobId::from("same")).await.name, "first");
    assert_eq!(
        h.event_names().await,
        vec!["added", "waiting", "duplicated"]
    );
}
