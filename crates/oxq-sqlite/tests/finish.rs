//! Ending attempts: lock checks, each outcome, retention, fetch-next and `drained`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::{Finish, FinishJobs, Outcome, Retry};
use oxq_core::{Backend, Error, Event, JobId, JobOptions, JobState, KeepJobs, LockToken};

#[tokio::test]
async fn a_wrong_token_or_missing_job_is_refused_per_item() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    let b = h.add("b", JobOptions::new()).await;
    h.fetch("mine", 2, T0).await;
    let result = h
        .store
        .job_finish(FinishJobs {
            queue: h.queue.clone(),
            now: T0 + 10,
            items: vec![
                Finish {
                    job_id: a.clone(),
                    token: LockToken("theirs".into()),
                    outcome: completed(),
                },
                Finish {
                    job_id: JobId::from("404"),
                    token: LockToken("mine".into()),
                    outcome: completed(),
                },
                Finish {
                    job_id: b.clone(),
                    token: LockToken("mine".into()),
                    outcome: completed(),
                },
            ],
            fetch_next: None,
        })
        .await
        .unwrap();
    assert!(matches!(&result.items[0], Err(Error::LockLost(id)) if id == "1"));
    assert!(matches!(&result.items[1], Err(Error::JobNotFound(id)) if id == "404"));
    assert!(result.items[2].is_ok());
    let job_a = h.get(&a).await;
    assert_eq!(
        job_a.state,
        JobState::Active,
        "a refused write changes nothing"
    );
    assert_eq!(job_a.attempts_made, 0);
    assert_eq!(h.get(&b).await.state, JobState::Completed);
    // A job that is not active is refused too.
    let again = h.finish(&b, "mine", completed(), T0 + 20).await;
    assert!(matches!(&again.items[0], Err(Error::LockLost(_))));
}

#[tokio::test]
async fn completed_records_the_result_and_emits_completed() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    let result = h.finish(&id, "t", completed(), T0 + 7).await;
    assert!(result.items[0].is_ok());
    let job = h.get(&id).await;
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.finished_on, Some(T0 + 7));
    assert_eq!(job.return_value.as_deref(), Some("42"));
    assert_eq!(job.attempts_made, 1);
    let events = h.events().await;
    let names: Vec<_> = events.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names,
        vec!["added", "waiting", "active", "completed", "drained"]
    );
    assert_eq!(
        events[3].event,
        Event::Completed {
            job_id: id.clone(),
            return_value: "42".into()
        }
    );
    assert_eq!(events[3].timestamp, T0 + 7);
}

#[tokio::test]
async fn failed_now_goes_back_to_waiting_and_keeps_history() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().attempts(3)).await;
    h.add("b", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    h.finish(&id, "t", failed(Retry::Now), T0 + 1).await;
    let job = h.get(&id).await;
    assert_eq!(job.state, JobState::Waiting);
    assert_eq!(job.attempts_made, 1);
    assert_eq!(job.failed_reason.as_deref(), Some("boom"));
    assert_eq!(job.stacktrace, vec!["boom".to_owned()]);
    assert_eq!(
        h.job_events(&id).await.last(),
        Some(&Event::Waiting {
            job_id: id.clone(),
            prev: Some(JobState::Active)
        })
    );
    // Back of the line: "b" runs first.
    assert_eq!(h.fetch_ids("t2", 1, T0 + 2).await, ids(&["2"]));
    assert_eq!(h.fetch_ids("t3", 1, T0 + 2).await, ids(&["1"]));
    h.finish(&id, "t3", failed(Retry::Now), T0 + 3).await;
    assert_eq!(
        h.get(&id).await.stacktrace,
        vec!["boom".to_owned(), "boom".to_owned()]
    );
}

#[tokio::test]
async fn failed_now_of_a_lifo_job_goes_to_the_front() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().lifo(true)).await;
    h.fetch("t", 1, T0).await;
    h.add("b", JobOptions::new()).await;
    h.finish(&id, "t", failed(Retry::Now), T0 + 1).await;
    assert_eq!(h.fetch_ids("t2", 1, T0 + 2).await, ids(&["1"]));
}

#[tokio::test]
async fn failed_now_of_a_prioritized_job_is_prioritized_again() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().priority(4)).await;
    h.fetch("t", 1, T0).await;
    h.finish(&id, "t", failed(Retry::Now), T0 + 1).await;
    assert_eq!(h.get(&id).await.state, JobState::Prioritized);
}

#[tokio::test]
async fn failed_after_a_backoff_is_delayed() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().attempts(2)).await;
    h.fetch("t", 1, T0).await;
    h.finish(
        &id,
        "t",
        failed(Retry::After(Duration::from_secs(2))),
        T0 + 10,
    )
    .await;
    let job = h.get(&id).await;
    assert_eq!(job.state, JobState::Delayed);
    assert_eq!(job.due_at, Some(T0 + 2_010));
    assert_eq!(
        h.job_events(&id).await.last(),
        Some(&Event::Delayed {
            job_id: id.clone(),
            due_at: T0 + 2_010
        })
    );
    let fetched = h.fetch("t2", 1, T0 + 2_000).await;
    assert!(fetched.jobs.is_empty());
    assert_eq!(fetched.next_due_at, Some(T0 + 2_010));
    assert_eq!(h.fetch_ids("t2", 1, T0 + 2_010).await, ids(&["1"]));
}

#[tokio::test]
async fn failed_for_good_emits_failed_and_retries_exhausted() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().attempts(2)).await;
    h.fetch("t", 1, T0).await;
    h.finish(&id, "t", failed(Retry::Now), T0 + 1).await;
    h.fetch("t2", 1, T0 + 2).await;
    h.finish(
        &id,
        "t2",
        failed(Retry::Never {
            keep: KeepJobs::All,
        }),
        T0 + 3,
    )
    .await;
    let job = h.get(&id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.finished_on, Some(T0 + 3));
    assert_eq!(job.attempts_made, 2);
    let events = h.job_events(&id).await;
    let n = events.len();
    assert_eq!(
        events[n - 2],
        Event::Failed {
            job_id: id.clone(),
            failed_reason: "boom".into()
        }
    );
    assert_eq!(
        events[n - 1],
        Event::RetriesExhausted {
            job_id: id.clone(),
            attempts_made: 2
        }
    );
}

#[tokio::test]
async fn failing_early_for_good_does_not_claim_exhausted_retries() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new().attempts(5)).await;
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
    let names: Vec<_> = h.job_events(&id).await.iter().map(|e| e.name()).collect();
    assert_eq!(names.last(), Some(&"failed"));
}

#[tokio::test]
async fn keep_none_deletes_the_job_and_its_logs() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    h.fetch("t", 1, T0).await;
    h.store
        .job_log_add(oxq_core::backend::AddLog {
            queue: h.queue.clone(),
            job_id: id.clone(),
            line: "hello".into(),
            keep_logs: None,
        })
        .await
        .unwrap();
    let outcome = Outcome::Completed {
        return_value: "1".into(),
        keep: KeepJobs::None,
    };
    assert!(h.finish(&id, "t", outcome, T0 + 1).await.items[0].is_ok());
    assert!(h.store.job_get(&h.queue, &id).await.unwrap().is_none());
    let conn = rusqlite::Connection::open(h.dir.path().join("oxq.db")).unwrap();
    let logs: i64 = conn
        .query_row("SELECT count(*) FROM logs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logs, 0);
    assert!(h.event_names().await.contains(&"completed"));
}

#[tokio::test]
async fn keep_count_and_age_trim_the_oldest_finished_jobs() {
    let h = Harness::new().await;
    for i in 0..5 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let fetched = h.fetch("t", 5, T0).await;
    // Finish jobs 1..=4 one by one at increasing times, keeping everything.
    for (i, job) in fetched.jobs.iter().take(4).enumerate() {
        h.finish(&job.id, "t", completed(), T0 + 100 * (i as u64 + 1))
            .await;
    }
    // Job 5 finishes with Count(2): only the two newest completed jobs stay.
    let keep = Outcome::Completed {
        return_value: "1".into(),
        keep: KeepJobs::Count(2),
    };
    h.finish(&fetched.jobs[4].id, "t", keep, T0 + 500).await;
    let completed_ids = |h: &Harness| {
        let store = h.store.clone();
        let queue = h.queue.clone();
        async move {
            let list = store
                .jobs_list(oxq_core::backend::ListJobs {
                    queue,
                    states: vec![JobState::Completed],
                    offset: 0,
                    limit: 100,
                    ascending: true,
                })
                .await
                .unwrap();
            list.into_iter().map(|j| j.id.0).collect::<Vec<_>>()
        }
    };
    assert_eq!(completed_ids(&h).await, ids(&["4", "5"]));

    // Age: a job finishing at T0+1000 with max_age 550 ms removes those finished <= T0+450.
    h.add("late", JobOptions::new()).await;
    let late = h.fetch("t2", 1, T0 + 900).await.jobs.remove(0);
    let keep = Outcome::Completed {
        return_value: "1".into(),
        keep: KeepJobs::Age {
            max_age: Duration::from_millis(550),
            count: None,
        },
    };
    h.finish(&late.id, "t2", keep, T0 + 1000).await;
    assert_eq!(completed_ids(&h).await, ids(&["5", "6"]));
}

#[tokio::test]
async fn fetch_next_takes_more_jobs_in_the_same_call() {
    let h = Harness::new().await;
    for i in 0..4 {
        h.add(&format!("j{i}"), JobOptions::new()).await;
    }
    let first = h.fetch("t1", 2, T0).await.jobs;
    let result = h
        .store
        .job_finish(FinishJobs {
            queue: h.queue.clone(),
            now: T0 + 1,
            items: first
                .iter()
                .map(|j| Finish {
                    job_id: j.id.clone(),
                    token: LockToken("t1".into()),
                    outcome: completed(),
                })
                .collect(),
            fetch_next: Some(h.fetch_req("t2", 5, T0 + 1)),
        })
        .await
        .unwrap();
    assert!(result.items.iter().all(|r| r.is_ok()));
    let next: Vec<_> = result.fetched.jobs.iter().map(|j| j.id.0.clone()).collect();
    assert_eq!(next, ids(&["3", "4"]));
    assert!(
        result
            .fetched
            .jobs
            .iter()
            .all(|j| j.state == JobState::Active)
    );
    // No `drained` while jobs are active.
    assert!(!h.event_names().await.contains(&"drained"));
}

#[tokio::test]
async fn drained_is_emitted_once_when_nothing_is_left() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    let b = h.add("b", JobOptions::new()).await;
    h.fetch("t", 2, T0).await;
    let result = h
        .store
        .job_finish(FinishJobs {
            queue: h.queue.clone(),
            now: T0 + 1,
            items: vec![
                Finish {
                    job_id: a,
                    token: LockToken("t".into()),
                    outcome: completed(),
                },
                Finish {
                    job_id: b,
                    token: LockToken("t".into()),
                    outcome: completed(),
                },
            ],
            fetch_next: None,
        })
        .await
        .unwrap();
    assert!(result.items.iter().all(|r| r.is_ok()));
    let names = h.event_names().await;
    assert_eq!(names.iter().filter(|n| **n == "drained").count(), 1);
    assert_eq!(names.last(), Some(&"drained"));
}

#[tokio::test]
async fn a_failure_clears_a_deferred_failure() {
    let h = Harness::new().await;
    let id = h.add("a", JobOptions::new()).await;
    let conn = rusqlite::Connection::open(h.dir.path().join("oxq.db")).unwrap();
    conn.execute("UPDATE jobs SET deferred_failure = 'x' WHERE id = '1'", [])
        .unwrap();
    let fetched = h.fetch("t", 1, T0).await;
    assert_eq!(fetched.jobs[0].deferred_failure.as_deref(), Some("x"));
    h.finish(
        &id,
        "t",
        failed(Retry::Never {
            keep: KeepJobs::All,
        }),
        T0 + 1,
    )
    .await;
    assert_eq!(h.get(&id).await.deferred_failure, None);
}
