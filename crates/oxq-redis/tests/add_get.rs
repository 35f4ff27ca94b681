//! Adding and reading jobs: the exact hash and opts JSON Node BullMQ expects, automatic and
//! duplicate ids, counts and listings.

mod support;

use std::time::Duration;

use oxq_core::backend::{AddJobs, ListJobs, NewJob};
use oxq_core::{Backend, Backoff, JobId, JobOptions, JobState, KeepJobs};
use serde_json::{Value, json};
use support::{World, now};

#[tokio::test]
async fn add_writes_the_bullmq_hash_and_reads_it_back() {
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
    let id = w
        .add_at("send", r#"{"to":"a@b.c"}"#, options.clone(), at)
        .await;
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

    let record = w
        .backend
        .job_get(&w.queue, &id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(record.state, JobState::Waiting);
    assert_eq!(record.name, "send");
    assert_eq!(record.data, r#"{"to":"a@b.c"}"#);
    assert_eq!(record.timestamp, at);
    assert_eq!(record.options, options);
    assert_eq!(record.attempts_made, 0);
    assert_eq!(record.progress, "0");
    assert!(
        w.backend
            .job_get(&w.queue, &JobId::from("nope"))
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn custom_ids_are_idempotent() {
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
    assert_eq!(added[0].id.as_str(), "order-1");
    assert!(added[0].duplicate);
    let hash = w.hash("order-1").await;
    assert_eq!(hash["name"], "a", "the existing job stands");
    let opts: Value = serde_json::from_str(&hash["opts"]).expect("json");
    assert_eq!(opts["jobId"], "order-1");
    assert_eq!(opts["priority"], 4);
    assert_eq!(opts["delay"], 60000);
    let counter: u64 = w.cmd(redis::cmd("GET").arg(w.key("id"))).await;
    assert_eq!(counter, 2, "every add increments id, as BullMQ does");
    let events: Vec<String> = w.events().await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(events, ["added", "delayed", "duplicated"]);
}

#[tokio::test]
async fn bulk_adds_keep_order_across_batches() {
    let w = World::new().await;
    let jobs: Vec<NewJob> = (0..1200)
        .map(|i| NewJob {
            name: "n".into(),
            data: i.to_string(),
            options: JobOptions::new(),
        })
        .collect();
    let added = w
        .backend
        .job_add_bulk(AddJobs {
            queue: w.queue.clone(),
            jobs,
            now: now(),
        })
        .await
        .expect("add");
    let ids: Vec<u64> = added
        .iter()
        .map(|a| a.id.as_str().parse().expect("numeric"))
        .collect();
    assert_eq!(ids, (1..=1200).collect::<Vec<_>>());
    let counts = w.backend.jobs_count(&w.queue).await.expect("counts");
    assert_eq!(counts.waiting, 1200);
}

#[tokio::test]
async fn counts_and_listing_by_state() {
    let w = World::new().await;
    for i in 0..3 {
        w.add("w", &i.to_string(), JobOptions::new()).await; // ids 1..3
    }
    w.add("p", "p", JobOptions::new().priority(2)).await; // 4
    w.add("d", "d", JobOptions::new().delay(Duration::from_secs(30)))
        .await; // 5
    let fetched = w.fetch("tok", 1).await; // job 1 becomes active
    assert_eq!(support::ids(&fetched), ["1"]);

    let counts = w.backend.jobs_count(&w.queue).await.expect("counts");
    assert_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.active
        ),
        (2, 1, 1, 1)
    );
    let list = |states: Vec<JobState>, offset, limit, ascending| ListJobs {
        queue: w.queue.clone(),
        states,
        offset,
        limit,
        ascending,
    };
    let names = |records: Vec<oxq_core::JobRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.id.to_string()).collect()
    };
    let all = JobState::ALL.to_vec();
    let asc = w
        .backend
        .jobs_list(list(all.clone(), 0, 100, true))
        .await
        .expect("list");
    assert_eq!(names(asc), ["2", "3", "4", "5", "1"]);
    let page = w
        .backend
        .jobs_list(list(vec![JobState::Waiting], 1, 1, true))
        .await
        .expect("list");
    assert_eq!(names(page), ["3"]);
    let desc = w
        .backend
        .jobs_list(list(vec![JobState::Waiting], 0, 10, false))
        .await
        .expect("list");
    assert_eq!(names(desc), ["3", "2"]);
    let delayed = w
        .backend
        .jobs_list(list(vec![JobState::Delayed], 0, 10, true))
        .await
        .expect("list");
    assert_eq!(delayed[0].state, JobState::Delayed);
    let due = delayed[0].due_at.expect("due");
    assert!(due >= delayed[0].timestamp + 30_000 && due <= delayed[0].timestamp + 30_001);
}
