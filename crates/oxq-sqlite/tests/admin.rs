//! Operator calls: remove, promote, retry, drain, clean, obliterate, progress, logs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::*;
use oxq_core::{Backend, Error, Event, JobId, JobOptions, JobState, KeepJobs, QueueRef};

#[tokio::test]
async fn remove_refuses_a_locked_job_and_deletes_others() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    let b = h.add("b", JobOptions::new()).await;
    h.fetch("t", 1, oxq_core::clock::now_ms()).await; // a, locked for 30 s from now
    let err = h.store.job_remove(&h.queue, &a).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(h.store.job_remove(&h.queue, &b).await.unwrap());
    assert!(!h.store.job_remove(&h.queue, &b).await.unwrap());
    assert!(
        !h.store
            .job_remove(&h.queue, &JobId::from("nope"))
            .await
            .unwrap()
    );
    assert_eq!(
        h.job_events(&b).await.last(),
        Some(&Event::Removed {
            job_id: b.clone(),
            prev: Some(JobState::Waiting)
        })
    );
}

#[tokio::test]
async fn an_active_job_whose_lock_expired_can_be_removed() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    h.fetch("t", 1, T0).await; // lock expired long ago (T0 is in the past)
    assert!(h.store.job_remove(&h.queue, &a).await.unwrap());
}

#[tokio::test]
async fn promote_makes_a_delayed_job_runnable_now() {
    let h = Harness::new().await;
    let d = h
        .add("d", JobOptions::new().delay(Duration::from_secs(60)))
        .await;
    let p = h
        .add(
            "p",
            JobOptions::new().delay(Duration::from_secs(60)).priority(2),
        )
        .await;
    let w = h.add("w", JobOptions::new()).await;
    let at = |id: &JobId| JobAt {
        queue: h.queue.clone(),
        job_id: id.clone(),
        now: T0 + 1,
    };
    h.store.job_promote(at(&d)).await.unwrap();
    h.store.job_promote(at(&p)).await.unwrap();
    assert_eq!(h.get(&d).await.state, JobState::Waiting);
    assert_eq!(h.get(&d).await.due_at, None);
    assert_eq!(h.get(&p).await.state, JobState::Prioritized);
    let err = h.store.job_promote(at(&w)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::JobNotInState {
                expected: "delayed",
                ..
            }
        ),
        "{err}"
    );
    let err = h
        .store
        .job_promote(at(&JobId::from("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::JobNotFound(_)));
    assert_eq!(
        h.job_events(&d).await.last(),
        Some(&Event::Waiting {
            job_id: d.clone(),
            prev: Some(JobState::Delayed)
        })
    );
    // Promoted jobs join the back of the line.
    assert_eq!(h.fetch_ids("t", 10, T0 + 2).await, ids(&["3", "1", "2"]));
}

#[tokio::test]
async fn jobs_promote_moves_up_to_the_limit_soonest_first() {
    let h = Harness::new().await;
    h.add("late", JobOptions::new().delay(Duration::from_secs(30)))
        .await;
    h.add("soon", JobOptions::new().delay(Duration::from_secs(10)))
        .await;
    h.add("mid", JobOptions::new().delay(Duration::from_secs(20)))
        .await;
    let moved = h
        .store
        .jobs_promote(PromoteJobs {
            queue: h.queue.clone(),
            limit: 2,
            now: T0,
        })
        .await
        .unwrap();
    assert_eq!(moved, 2);
    assert_eq!(h.fetch_ids("t", 10, T0).await, ids(&["2", "3"]));
}

#[tokio::test]
async fn retry_brings_a_finished_job_back_and_keeps_its_history() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    h.finish(
        &id,
        "t",
        failed(Retry::Never {
            keep: KeepJobs::All,
        }),
        T0 + 1,
    )
    .await;
    let at = JobAt {
        queue: h.queue.clone(),
        job_id: id.clone(),
        now: T0 + 2,
    };
    h.store.job_retry(at.clone()).await.unwrap();
    let job = h.get(&id).await;
    assert_eq!(job.state, JobState::Waiting);
    assert_eq!(
        (
            job.finished_on,
            job.failed_reason.as_deref(),
            job.processed_on
        ),
        (None, None, None)
    );
    assert_eq!(job.attempts_made, 1);
    assert_eq!(job.stacktrace, vec!["boom".to_owned()]);
    assert_eq!(
        h.job_events(&id).await.last(),
        Some(&Event::Waiting {
            job_id: id.clone(),
            prev: Some(JobState::Failed)
        })
    );
    let err = h.store.job_retry(at).await.unwrap_err();
    assert!(matches!(err, Error::JobNotInState { .. }), "{err}");
}

#[tokio::test]
async fn jobs_retry_moves_finished_jobs_back_in_bulk() {
    let h = Harness::new().await;
    for i in 0..3 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let jobs = h.fetch("t", 3, T0).await.jobs;
    for (i, job) in jobs.iter().enumerate() {
        let outcome = if i < 2 {
            failed(Retry::Never {
                keep: KeepJobs::All,
            })
        } else {
            completed()
        };
        h.finish(&job.id, "t", outcome, T0 + 10 * i as u64).await;
    }
    let retry = |state, limit| RetryJobs {
        queue: h.queue.clone(),
        state,
        finished_before: T0 + 100,
        limit,
        now: T0 + 100,
    };
    assert_eq!(
        h.store
            .jobs_retry(retry(JobState::Failed, 1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.store
            .jobs_retry(retry(JobState::Failed, 0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.store
            .jobs_retry(retry(JobState::Completed, 10))
            .await
            .unwrap(),
        1
    );
    assert!(
        h.store
            .jobs_retry(retry(JobState::Waiting, 10))
            .await
            .is_err()
    );
    let counts = h.store.jobs_count(&h.queue).await.unwrap();
    assert_eq!((counts.waiting, counts.failed, counts.completed), (3, 0, 0));
    assert_eq!(h.fetch_ids("t2", 10, T0 + 200).await, ids(&["1", "2", "3"]));
}

#[tokio::test]
async fn drain_removes_runnable_jobs_but_not_active_ones() {
    let h = Harness::new().await;
    h.add("active", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    h.add("w", JobOptions::new()).await;
    h.add("p", JobOptions::new().priority(1)).await;
    h.add("d", JobOptions::new().delay(Duration::from_secs(9)))
        .await;
    let drain = |include_delayed| DrainQueue {
        queue: h.queue.clone(),
        include_delayed,
    };
    assert_eq!(h.store.queue_drain(drain(false)).await.unwrap(), 2);
    let counts = h.store.jobs_count(&h.queue).await.unwrap();
    assert_eq!((counts.active, counts.delayed, counts.total()), (1, 1, 2));
    assert_eq!(h.store.queue_drain(drain(true)).await.unwrap(), 1);
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().total(), 1);
}

#[tokio::test]
async fn clean_removes_old_jobs_of_one_state_up_to_the_limit() {
    let h = Harness::new().await;
    for i in 0..4 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let jobs = h.fetch("t", 3, T0).await.jobs;
    for (i, job) in jobs.iter().enumerate() {
        h.finish(&job.id, "t", completed(), T0 + 1_000 * (i as u64 + 1))
            .await;
    }
    let clean = |state, grace_ms, limit| CleanQueue {
        queue: h.queue.clone(),
        state,
        grace: Duration::from_millis(grace_ms),
        limit,
        now: T0 + 3_500,
    };
    // Finished at T0+1000, +2000, +3000; grace 1000 ms → cutoff T0+2500: two qualify, limit 1.
    let removed = h
        .store
        .queue_clean(clean(JobState::Completed, 1_000, 1))
        .await
        .unwrap();
    assert_eq!(removed, vec![JobId::from("1")]);
    let removed = h
        .store
        .queue_clean(clean(JobState::Completed, 1_000, 0))
        .await
        .unwrap();
    assert_eq!(removed, vec![JobId::from("2")]);
    // Waiting jobs are cleaned by the time they were added (T0).
    let removed = h
        .store
        .queue_clean(clean(JobState::Waiting, 0, 0))
        .await
        .unwrap();
    assert_eq!(removed, vec![JobId::from("4")]);
    let events = h.events().await;
    let cleaned: Vec<_> = events
        .iter()
        .filter_map(|e| match e.event {
            Event::Cleaned { count } => Some(count),
            _ => None,
        })
        .collect();
    assert_eq!(cleaned, vec![1, 1, 1]);
}

#[tokio::test]
async fn obliterate_refuses_active_jobs_unless_forced() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    h.add("b", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    let obliterate = |force| ObliterateQueue {
        queue: h.queue.clone(),
        force,
    };
    let err = h
        .store
        .queue_obliterate(obliterate(false))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().total(), 2);
    let before = h.store.events_latest(&h.queue).await.unwrap().unwrap();
    h.store.queue_obliterate(obliterate(true)).await.unwrap();
    assert_eq!(h.store.jobs_count(&h.queue).await.unwrap().total(), 0);
    assert!(h.events().await.is_empty());
    assert!(h.store.queues_list("bull").await.unwrap().is_empty());
    // A queue created again under the name starts at id 1, but event ids keep growing.
    assert_eq!(h.add("again", JobOptions::new()).await.as_str(), "1");
    let first = h.events().await.remove(0);
    assert!(first.id.0.parse::<u64>().unwrap() > before.0.parse::<u64>().unwrap());
}

#[tokio::test]
async fn progress_and_logs() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    h.store
        .job_update_progress(UpdateProgress {
            queue: h.queue.clone(),
            job_id: id.clone(),
            progress: "{\"pct\":50}".into(),
        })
        .await
        .unwrap();
    assert_eq!(h.get(&id).await.progress, "{\"pct\":50}");
    assert_eq!(
        h.job_events(&id).await.last(),
        Some(&Event::Progress {
            job_id: id.clone(),
            data: "{\"pct\":50}".into()
        })
    );
    let log = |line: &str, keep| AddLog {
        queue: h.queue.clone(),
        job_id: id.clone(),
        line: line.into(),
        keep_logs: keep,
    };
    assert_eq!(h.store.job_log_add(log("one", None)).await.unwrap(), 1);
    assert_eq!(h.store.job_log_add(log("two", None)).await.unwrap(), 2);
    assert_eq!(h.store.job_log_add(log("three", Some(2))).await.unwrap(), 2);
    let read = |offset, limit| ReadLogs {
        queue: h.queue.clone(),
        job_id: id.clone(),
        offset,
        limit,
    };
    let logs = h.store.job_logs(read(0, 10)).await.unwrap();
    assert_eq!(
        logs,
        JobLogs {
            lines: vec!["two".into(), "three".into()],
            total: 2
        }
    );
    assert_eq!(
        h.store.job_logs(read(1, 1)).await.unwrap().lines,
        vec!["three".to_owned()]
    );
    let missing = AddLog {
        queue: h.queue.clone(),
        job_id: JobId::from("x"),
        line: "l".into(),
        keep_logs: None,
    };
    assert!(matches!(
        h.store.job_log_add(missing).await.unwrap_err(),
        Error::JobNotFound(_)
    ));
    let missing = UpdateProgress {
        queue: h.queue.clone(),
        job_id: JobId::from("x"),
        progress: "1".into(),
    };
    assert!(matches!(
        h.store.job_update_progress(missing).await.unwrap_err(),
        Error::JobNotFound(_)
    ));
}

#[tokio::test]
async fn queues_list_filters_by_prefix() {
    let h = Harness::new().await;
    h.add("a", JobOptions::new()).await;
    let other = QueueRef::with_prefix("other", "q").unwrap();
    h.store.queue_pause(&other, T0).await.unwrap();
    let second = QueueRef::new("alpha").unwrap();
    h.store.queue_pause(&second, T0).await.unwrap();
    assert_eq!(
        h.store.queues_list("bull").await.unwrap(),
        vec![second, h.queue.clone()]
    );
    assert_eq!(h.store.queues_list("other").await.unwrap(), vec![other]);
}
