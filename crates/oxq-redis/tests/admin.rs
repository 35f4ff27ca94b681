//! Operator calls as they touch Redis: obliterate deletes every key of the queue (in batches,
//! leaving other queues' keys), and progress is stored as JSON text Node can parse. Their
//! behaviour is the store contract (`oxq-testkit`, `store::admin`, `store::read`).

mod support;

use oxq_core::backend::{AddJobs, AddLog, NewJob, ObliterateQueue, UpdateProgress};
use oxq_core::{Backend, Error, JobOptions, QueueRef};
use support::{World, now};

#[tokio::test]
async fn obliterate_deletes_every_key_of_the_queue() {
    let w = World::new().await;
    // More jobs than one batch of the script's deletes.
    let jobs = (0..1500)
        .map(|i| NewJob {
            name: "a".into(),
            data: i.to_string(),
            options: JobOptions::new(),
        })
        .collect();
    w.backend
        .job_add_bulk(AddJobs {
            queue: w.queue.clone(),
            jobs,
            now: now(),
        })
        .await
        .expect("add");
    w.backend
        .job_log_add(AddLog {
            queue: w.queue.clone(),
            job_id: "5".into(),
            line: "hello".into(),
            keep_logs: None,
            now: now(),
        })
        .await
        .expect("log");
    w.fetch("t", 1).await;
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
    let keys_of = |name: &str| format!("{}:{name}:*", w.queue.prefix);
    let before: Vec<String> = w.cmd(redis::cmd("KEYS").arg(keys_of("jobs2"))).await;
    w.backend
        .queue_obliterate(ObliterateQueue {
            queue: w.queue.clone(),
            force: true,
        })
        .await
        .expect("obliterate");
    let left: Vec<String> = w.cmd(redis::cmd("KEYS").arg(keys_of("jobs"))).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    let mut after: Vec<String> = w.cmd(redis::cmd("KEYS").arg(keys_of("jobs2"))).await;
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(after, before, "the other queue's keys");
}

#[tokio::test]
async fn progress_is_json_text_node_can_parse() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    let progress = |p: &str| UpdateProgress {
        queue: w.queue.clone(),
        job_id: "1".into(),
        progress: p.into(),
        now: now(),
    };
    w.backend
        .job_update_progress(progress(r#"{"page":3}"#))
        .await
        .expect("progress");
    assert_eq!(w.hash("1").await["progress"], r#"{"page":3}"#);
    let (name, fields) = w.events().await.pop().expect("an event");
    assert_eq!(
        (
            name.as_str(),
            fields["jobId"].as_str(),
            fields["data"].as_str()
        ),
        ("progress", "1", r#"{"page":3}"#)
    );
    // Node's `Job.fromJSON` parses the field: text that is not JSON is refused.
    let refused = w.backend.job_update_progress(progress("not json")).await;
    assert!(
        matches!(refused, Err(Error::InvalidOptions(_))),
        "{refused:?}"
    );
    assert_eq!(w.hash("1").await["progress"], r#"{"page":3}"#);
}
