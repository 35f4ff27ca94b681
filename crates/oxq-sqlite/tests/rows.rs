//! What the SQLite store leaves in its file: rows with JSON it cannot decode still read back,
//! and jobs that go away (removed, retained away, obliterated) leave no rows behind.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use oxq_core::backend::{AddLog, ObliterateQueue, RemoveJob};
use oxq_core::{Backend, JobOptions, KeepJobs};

#[tokio::test]
async fn rows_with_undecodable_json_still_come_back() {
    let h = Harness::new().await;
    let id = h.add("x", JobOptions::new().attempts(4)).await;
    h.sql()
        .execute(
            "UPDATE jobs SET options = '{broken', stacktrace = 'nope', progress = '7' WHERE id = ?1",
            [id.as_str()],
        )
        .unwrap();
    let job = h.get(&id).await.unwrap();
    assert_eq!(job.options, JobOptions::default());
    assert!(job.stacktrace.is_empty());
    assert_eq!(job.progress, "7");
}

fn count(h: &Harness, table: &str) -> i64 {
    h.sql()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn jobs_that_go_away_leave_no_rows() {
    let h = Harness::new().await;
    let retained_away = h.add("a", JobOptions::new()).await;
    let removed = h.add("b", JobOptions::new()).await;
    let kept = h.add("c", JobOptions::new()).await;
    for id in [&retained_away, &removed, &kept] {
        h.store
            .job_log_add(AddLog {
                queue: h.queue.clone(),
                job_id: id.clone(),
                line: "hello".into(),
                keep_logs: None,
                now: T0,
            })
            .await
            .unwrap();
    }
    let fetched = h.fetch("t", 1, T0).await;
    h.finish(&fetched.jobs[0], "t", completed(KeepJobs::None), T0 + 1)
        .await;
    let gone = h
        .store
        .job_remove(RemoveJob {
            queue: h.queue.clone(),
            job_id: removed.clone(),
            now: T0,
        })
        .await
        .unwrap();
    assert!(gone.existed);
    assert_eq!(
        (count(&h, "jobs"), count(&h, "logs")),
        (1, 1),
        "only job c's rows"
    );

    h.store
        .queue_obliterate(ObliterateQueue {
            queue: h.queue.clone(),
            force: true,
        })
        .await
        .unwrap();
    for table in ["jobs", "logs", "events", "queues"] {
        assert_eq!(count(&h, table), 0, "rows left in {table}");
    }
}
