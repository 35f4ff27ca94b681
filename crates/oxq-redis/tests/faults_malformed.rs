//! Fault: job hashes written raw with Redis commands, malformed in the ways foreign writers,
//! partial deletes and bugs leave them — data that is not JSON, a missing `name`, `data` or
//! `opts` field, `opts` that are not a JSON object, a 20 MB payload. Each such job fails at
//! once (no retry) with a reason naming the problem; the worker goes on with the good jobs
//! before and after them; nothing panics.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::{JobId, JobOptions, JobState, Queue, Worker, WorkerEvent, WorkerOptions};
use serde_json::{Value, json};
use support::{World, eventually, now};

/// Panics anywhere in this test binary (processors here never panic, so any is a bug).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

/// One malformed job: its id, the hash fields written raw, and what its failure must say.
struct Bad {
    id: &'static str,
    fields: Vec<(&'static str, String)>,
    reason_mentions: &'static [&'static str],
}

fn bad_jobs() -> Vec<Bad> {
    let ts = now().to_string();
    let opts = r#"{"attempts":3}"#.to_owned();
    let field = |k: &'static str, v: &str| (k, v.to_owned());
    // 20 MB of valid JSON (one string): well-formed, just far over the queue's 5 MiB limit
    let huge = format!("\"{}\"", "x".repeat(20 * 1024 * 1024));
    vec![
        Bad {
            id: "bad-data",
            fields: vec![
                field("name", "n"),
                field("data", "{not json"),
                field("opts", &opts),
                field("timestamp", &ts),
            ],
            reason_mentions: &["cannot decode job bad-data data"],
        },
        Bad {
            id: "no-opts",
            fields: vec![
                field("name", "n"),
                field("data", "{}"),
                field("timestamp", &ts),
            ],
            reason_mentions: &["malformed job hash", "`opts`"],
        },
        Bad {
            id: "no-name",
            fields: vec![
                field("data", "{}"),
                field("opts", &opts),
                field("timestamp", &ts),
            ],
            reason_mentions: &["malformed job hash", "`name`"],
        },
        Bad {
            id: "no-data",
            fields: vec![
                field("name", "n"),
                field("opts", &opts),
                field("timestamp", &ts),
            ],
            reason_mentions: &["malformed job hash", "`data`"],
        },
        Bad {
            id: "opts-not-json",
            fields: vec![
                field("name", "n"),
                field("data", "{}"),
                field("opts", "attempts=3"),
                field("timestamp", &ts),
            ],
            reason_mentions: &["malformed job hash", "`opts` is not a JSON object"],
        },
        Bad {
            id: "opts-an-array",
            fields: vec![
                field("name", "n"),
                field("data", "{}"),
                field("opts", "[3]"),
                field("timestamp", &ts),
            ],
            reason_mentions: &["malformed job hash", "`opts` is not a JSON object"],
        },
        Bad {
            id: "huge",
            fields: vec![
                field("name", "n"),
                field("data", &huge),
                field("opts", &opts),
                field("timestamp", &ts),
            ],
            reason_mentions: &["payload of 20971522 bytes exceeds the limit of 5242880 bytes"],
        },
    ]
}

/// Writes a job the way a producer would, but raw: hash, `wait` list, wake-up marker.
async fn write_raw(w: &World, bad: &Bad) {
    let mut hset = redis::cmd("HSET");
    hset.arg(w.key(bad.id));
    for (k, v) in &bad.fields {
        hset.arg(*k).arg(v.as_str());
    }
    let _: i64 = w.cmd(&mut hset).await;
    let _: i64 = w
        .cmd(redis::cmd("LPUSH").arg(w.key("wait")).arg(bad.id))
        .await;
    let _: i64 = w
        .cmd(redis::cmd("ZADD").arg(w.key("marker")).arg(0).arg("0"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_jobs_fail_with_a_clear_reason_and_good_jobs_still_run() {
    count_panics();
    let w = World::new().await;
    let queue: Queue<Value> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let ran: Arc<Mutex<Vec<String>>> = Arc::default();
    let failures: Arc<Mutex<HashMap<String, (String, bool)>>> = Arc::default();
    let record = ran.clone();
    let failed = failures.clone();
    let options = WorkerOptions::new()
        .concurrency(4)
        .drain_delay(Duration::from_millis(500))
        .on_event(move |event| {
            if let WorkerEvent::Failed {
                job_id,
                reason,
                retrying,
                ..
            } = event
            {
                failed
                    .lock()
                    .expect("failures")
                    .insert(job_id.to_string(), (reason.clone(), *retrying));
            }
        });
    let worker = Worker::start(&queue, options, move |job: oxq_core::Job<Value>| {
        let record = record.clone();
        async move {
            record.lock().expect("ran").push(job.id().to_string());
            Ok::<_, String>(job.data().clone())
        }
    });

    // good jobs before, between and after the malformed ones (FIFO: they run in this order)
    let good = |n: u32| JobOptions::new().job_id(format!("good-{n}"));
    queue.add("g", json!({"n": 0}), good(0)).await.expect("add");
    let bad = bad_jobs();
    for (i, job) in bad.iter().enumerate() {
        write_raw(&w, job).await;
        queue
            .add("g", json!({"n": i + 1}), good(i as u32 + 1))
            .await
            .expect("add");
    }
    let goods = bad.len() + 1;

    eventually(Duration::from_secs(60), "every job finished", || async {
        queue
            .counts()
            .await
            .is_ok_and(|c| c.completed == goods as u64 && c.failed == bad.len() as u64)
    })
    .await;

    // more good jobs after all of that: the worker is still consuming
    for n in 100..110u32 {
        queue.add("g", json!({"n": n}), good(n)).await.expect("add");
    }
    eventually(Duration::from_secs(20), "the later good jobs", || async {
        queue
            .counts()
            .await
            .is_ok_and(|c| c.completed == goods as u64 + 10)
    })
    .await;
    worker.close().await.expect("close");

    let ran = ran.lock().expect("ran").clone();
    assert_eq!(
        ran.len(),
        goods + 10,
        "only the good jobs reached the processor"
    );
    assert!(ran.iter().all(|id| id.starts_with("good-")), "{ran:?}");
    let failures = failures.lock().expect("failures").clone();
    for job in &bad {
        let (reason, retrying) = failures
            .get(job.id)
            .unwrap_or_else(|| panic!("no failure reported for {}", job.id));
        for needle in job.reason_mentions {
            assert!(
                reason.contains(needle),
                "the failure of {} says {reason:?}, not {needle:?}",
                job.id
            );
        }
        assert!(!retrying, "{} was retried", job.id);
        let record = queue
            .get_record(&JobId::from(job.id))
            .await
            .expect("get")
            .expect("job");
        assert_eq!(record.state, JobState::Failed, "{}", job.id);
        assert_eq!(record.attempts_made, 1, "{}: one attempt, no retry", job.id);
        assert_eq!(record.failed_reason.as_deref(), Some(reason.as_str()));
        eprintln!("{:>14}: {reason}", job.id);
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}
