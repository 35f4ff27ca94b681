//! One-job and queue administration: remove, promote, retry, bulk retry/promote, drain, clean,
//! obliterate, queue listing, progress and logs.

mod support;

use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, Error, JobId, JobOptions, JobState, KeepJobs, LockToken, QueueRef};
use support::{World, ids, now};

async fn fail_for_good(w: &World, id: &str) {
    let fetched = w.fetch("t", 1).await;
    assert_eq!(ids(&fetched), [id]);
    let result = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![Finish {
                job_id: JobId::from(id),
                token: LockToken("t".into()),
                outcome: Outcome::Failed {
                    reason: "no".into(),
                    retry: Retry::Never {
                        keep: KeepJobs::All,
                    },
                },
            }],
            fetch_next: None,
        })
        .await
        .expect("finish");
    assert!(result.items[0].is_ok());
}

fn at(w: &World, id: &str) -> JobAt {
    JobAt {
        queue: w.queue.clone(),
        job_id: JobId::from(id),
        now: now(),
    }
}

#[tokio::test]
async fn remove_refuses_locked_jobs_and_records_the_state() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 1).await;
    assert!(matches!(
        w.backend.job_remove(&w.queue, &"1".into()).await,
        Err(Error::Conflict(_))
    ));
    assert!(
        w.backend
            .job_remove(&w.queue, &"2".into())
            .await
            .expect("remove")
    );
    assert!(
        !w.backend
            .job_remove(&w.queue, &"2".into())
            .await
            .expect("remove")
    );
    let removed = w
        .events()
        .await
        .into_iter()
        .find(|(e, _)| e == "removed")
        .expect("event")
        .1;
    assert_eq!(
        (removed["jobId"].as_str(), removed["prev"].as_str()),
        ("2", "wait")
    );
    let exists: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("2"))).await;
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn promote_and_retry_single_jobs() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new().delay(Duration::from_secs(60)))
        .await;
    assert!(matches!(
        w.backend.job_promote(at(&w, "9")).await,
        Err(Error::JobNotFound(_))
    ));
    w.backend.job_promote(at(&w, "1")).await.expect("promote");
    assert!(matches!(
        w.backend.job_promote(at(&w, "1")).await,
        Err(Error::JobNotInState { .. })
    ));
    fail_for_good(&w, "1").await;
    w.backend.job_retry(at(&w, "1")).await.expect("retry");
    let record = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(record.state, JobState::Waiting);
    assert_eq!(record.failed_reason, None);
    assert_eq!(record.stacktrace, ["no"], "history is kept");
    assert_eq!(record.attempts_made, 1);
}

#[tokio::test]
async fn bulk_retry_and_promote() {
    let w = World::new().await;
    for i in 0..3 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    for id in ["1", "2", "3"] {
        fail_for_good(&w, id).await;
    }
    for _ in 0..2 {
        w.add("d", "x", JobOptions::new().delay(Duration::from_secs(60)))
            .await;
    }
    let moved = w
        .backend
        .jobs_retry(RetryJobs {
            queue: w.queue.clone(),
            state: JobState::Failed,
            finished_before: now(),
            limit: 2,
            now: now(),
        })
        .await
        .expect("retry");
    assert_eq!(moved, 2);
    let promoted = w
        .backend
        .jobs_promote(PromoteJobs {
            queue: w.queue.clone(),
            limit: 10,
            now: now(),
        })
        .await
        .expect("promote");
    assert_eq!(promoted, 2);
    let counts = w.backend.jobs_count(&w.queue).await.expect("counts");
    assert_eq!((counts.waiting, counts.failed, counts.delayed), (4, 1, 0));
}

#[tokio::test]
async fn drain_removes_jobs_waiting_to_run() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new().priority(2)).await;
    w.add("a", "3", JobOptions::new().delay(Duration::from_secs(60)))
        .await;
    w.add("a", "4", JobOptions::new()).await;
    w.fetch("t", 1).await; // 1 active
    let drained = w
        .backend
        .queue_drain(DrainQueue {
            queue: w.queue.clone(),
            include_delayed: false,
        })
        .await
        .expect("drain");
    assert_eq!(drained, 2);
    let counts = w.backend.jobs_count(&w.queue).await.expect("counts");
    assert_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.active
        ),
        (0, 0, 1, 1)
    );
    let with_delayed = w
        .backend
        .queue_drain(DrainQueue {
            queue: w.queue.clone(),
            include_delayed: true,
        })
        .await
        .expect("drain");
    assert_eq!(with_delayed, 1);
}

#[tokio::test]
async fn clean_by_state_grace_and_limit() {
    let w = World::new().await;
    let old = now() - 60_000;
    for i in 0..3 {
        w.add_at("a", &i.to_string(), JobOptions::new(), old).await;
    }
    w.add("a", "new", JobOptions::new()).await;
    let clean = |state, limit| CleanQueue {
        queue: w.queue.clone(),
        state,
        grace: Duration::from_secs(10),
        limit,
        now: now(),
    };
    let removed = w
        .backend
        .queue_clean(clean(JobState::Waiting, 2))
        .await
        .expect("clean");
    assert_eq!(
        removed,
        [JobId::from("1"), JobId::from("2")],
        "oldest first, up to the limit"
    );
    let removed = w
        .backend
        .queue_clean(clean(JobState::Waiting, 0))
        .await
        .expect("clean");
    assert_eq!(
        removed,
        [JobId::from("3")],
        "the new job is within the grace period"
    );
    fail_for_good(&w, "4").await;
    assert!(
        w.backend
            .queue_clean(clean(JobState::Failed, 0))
            .await
            .expect("clean")
            .is_empty()
    );
    let cleaned = w
        .events()
        .await
        .into_iter()
        .filter(|(e, _)| e == "cleaned")
        .map(|(_, f)| f["count"].clone());
    assert_eq!(cleaned.collect::<Vec<_>>(), ["2", "1", "0"]);
}

#[tokio::test]
async fn obliterate_refuses_active_jobs_unless_forced() {
    let w = World::new().await;
    for i in 0..1500 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    w.backend
        .job_log_add(AddLog {
            queue: w.queue.clone(),
            job_id: "5".into(),
            line: "hello".into(),
            keep_logs: None,
        })
        .await
        .expect("log");
    w.fetch("t", 1).await;
    let req = |force| ObliterateQueue {
        queue: w.queue.clone(),
        force,
    };
    assert!(matches!(
        w.backend.queue_obliterate(req(false)).await,
        Err(Error::Conflict(_))
    ));
    let other = QueueRef::with_prefix(w.queue.prefix.clone(), "jobs2").expect("queue");
    w.backend
        .job_add_bulk(AddJobs {
            queue: other.clone(),
            jobs: vec![NewJob {
                name: "keep".into(),
                data: "1".into(),
                options: JobOptions::new(),
            }],
            now: now(),
        })
        .await
        .expect("add");
    let listed = w.backend.queues_list(&w.queue.prefix).await.expect("list");
    assert_eq!(listed, [w.queue.clone(), other.clone()]);
    w.backend
        .queue_obliterate(req(true))
        .await
        .expect("obliterate");
    let left: Vec<String> = w
        .cmd(redis::cmd("KEYS").arg(format!("{}:jobs:*", w.queue.prefix)))
        .await;
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        w.backend
            .job_get(&other, &"1".into())
            .await
            .expect("get")
            .is_some()
    );
    assert_eq!(
        w.backend.queues_list(&w.queue.prefix).await.expect("list"),
        [other]
    );
}

#[tokio::test]
async fn progress_and_logs() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    let progress = |p: &str| UpdateProgress {
        queue: w.queue.clone(),
        job_id: "1".into(),
        progress: p.into(),
    };
    w.backend
        .job_update_progress(progress("42"))
        .await
        .expect("progress");
    assert!(
        w.backend
            .job_update_progress(progress("not json"))
            .await
            .is_err()
    );
    let missing = UpdateProgress {
        job_id: "9".into(),
        ..progress("1")
    };
    assert!(matches!(
        w.backend.job_update_progress(missing).await,
        Err(Error::JobNotFound(_))
    ));
    assert_eq!(w.hash("1").await["progress"], "42");
    for i in 0..5 {
        let n = w
            .backend
            .job_log_add(AddLog {
                queue: w.queue.clone(),
                job_id: "1".into(),
                line: format!("line {i}"),
                keep_logs: Some(3),
            })
            .await
            .expect("log");
        assert_eq!(n, (i + 1).min(3));
    }
    let logs = w
        .backend
        .job_logs(ReadLogs {
            queue: w.queue.clone(),
            job_id: "1".into(),
            offset: 1,
            limit: 5,
        })
        .await
        .expect("logs");
    assert_eq!(logs.lines, ["line 3", "line 4"]);
    assert_eq!(logs.total, 3);
}
