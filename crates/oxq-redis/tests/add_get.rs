//! Adding jobs, as Node BullMQ sees them: the exact job hash and `opts` JSON, the `id` counter
//! (bumped by every add, a duplicate's included), the wake-up marker and the raw events. What
//! an add answers and reads back is the store contract (`oxq-testkit`, `store::add`).

mod support;

use std::time::Duration;

use oxq_core::backend::{AddJobs, AddedJob, NewJob};
use oxq_core::{Backend, Backoff, JobOptions, KeepJobs};
use serde_json::{Value, json};
use support::{World, now};

#[tokio::test]
async fn add_writes_the_bullmq_hash() {
    let w = World::new().await;
    let at = now();
    let options = JobOptions::new()
        .attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(250)).with_jitter(0.25))
        .timeout(Duration::from_secs(7))
        .remove_on_complete(KeepJobs::Count(10))
        .remove_on_fail(KeepJobs::Age {
            max_age: Duration::from_secs(60),
            count: None,
        });
    let id = w.add_at("send", r#"{"to":"a@b.c"}"#, options, at).await;
    assert_eq!(id.as_str(), "1", "automatic ids come from INCR id");

    let hash = w.hash("1").await;
    let mut names: Vec<_> = hash.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["data", "delay", "name", "opts", "priority", "timestamp"]
    );
    assert_eq!(hash["name"], "send");
    assert_eq!(hash["data"], r#"{"to":"a@b.c"}"#);
    assert_eq!(hash["timestamp"], at.to_string());
    assert_eq!(hash["delay"], "0");
    assert_eq!(hash["priority"], "0");
    let opts: Value = serde_json::from_str(&hash["opts"]).expect("opts is JSON");
    assert_eq!(
        opts,
        json!({
            "attempts": 3,
            "backoff": {"type": "exponential", "delay": 250, "jitter": 0.25},
            "removeOnComplete": 10,
            "removeOnFail": {"age": 60},
            "oxq": {"timeout": 7000}
        })
    );
    let id_counter: u64 = w.cmd(redis::cmd("GET").arg(w.key("id"))).await;
    assert_eq!(id_counter, 1);
    let marker: Vec<(String, f64)> = w
        .cmd(
            redis::cmd("ZRANGE")
                .arg(w.key("marker"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await;
    assert_eq!(
        marker,
        [("0".to_owned(), 0.0)],
        "a base marker wakes workers"
    );
}

#[tokio::test]
async fn a_duplicate_add_takes_a_number_as_bullmq_does() {
    let w = World::new().await;
    let opts = JobOptions::new()
        .job_id("order-1")
        .priority(4)
        .delay(Duration::from_secs(60));
    let first = w.add("a", "1", opts.clone()).await;
    assert_eq!(first.as_str(), "order-1");
    let added = w
        .backend
        .job_add_bulk(AddJobs {
            queue: w.queue.clone(),
            jobs: vec![NewJob {
                name: "b".into(),
                data: "2".into(),
                options: opts,
            }],
            now: now(),
        })
        .await
        .expect("add again");
    assert!(matches!(&added.jobs[0], AddedJob::Existing(job) if job.name == "a"));
    let hash = w.hash("order-1").await;
    let opts: Value = serde_json::from_str(&hash["opts"]).expect("json");
    assert_eq!(opts["jobId"], "order-1");
    assert_eq!(opts["priority"], 4);
    assert_eq!(opts["delay"], 60000);
    let counter: u64 = w.cmd(redis::cmd("GET").arg(w.key("id"))).await;
    assert_eq!(counter, 2, "every add increments id, as BullMQ does");
    let events: Vec<String> = w.events().await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(events, ["added", "delayed", "duplicated"]);
}
