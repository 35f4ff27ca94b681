//! Scenario 3: Node's `QueueEvents` hears what oxq workers do: `active`, `progress` (numbers
//! and objects), `completed` (with the return value parsed) and `failed`.

use std::time::Duration;

use oxq::{Job, JobOptions, Worker, WorkerOptions};
use oxq_interop::{Scene, event_is};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

/// Node's `QueueEvents` lines for one job, as (event name, args, types).
fn events_of<'a>(lines: &'a [Value], job_id: &str) -> Vec<(&'a str, &'a Value, &'a Value)> {
    lines
        .iter()
        .filter(|l| event_is(l, "queue-event") && l["args"]["jobId"] == job_id)
        .filter_map(|l| Some((l["name"].as_str()?, &l["args"], &l["types"])))
        .collect()
}

fn names<'a>(events: &[(&'a str, &Value, &Value)]) -> Vec<&'a str> {
    events.iter().map(|(name, _, _)| *name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_queue_events_hear_oxq_workers() {
    let scene = Scene::start("events").await.expect("scene");
    // The listener reads the stream from its start, so it misses nothing it was late for.
    let mut listener = scene
        .node_spawn("events.mjs", json!({}))
        .expect("start QueueEvents");
    listener
        .wait_event("ready", WAIT)
        .await
        .expect("listener ready");

    let worker = Worker::start(
        &scene.queue,
        WorkerOptions::new().concurrency(2),
        |mut job: Job<Value>| async move {
            match job.name() {
                "reports" => {
                    job.update_progress(10).await?;
                    job.update_progress(json!({"stage": "half"})).await?;
                    Ok(json!({"answer": 42}))
                }
                "text" => Ok(json!("plain text")),
                "broken" => Err(BoxError::from("broken on purpose")),
                "retried" if job.attempts_made() == 0 => Err("first try fails".into()),
                "retried" => Ok(json!(7)),
                other => Err(format!("unexpected job {other}").into()),
            }
        },
    );
    let q = &scene.queue;
    let reports = q
        .add("reports", json!({}), JobOptions::new())
        .await
        .expect("add");
    let text = q
        .add("text", json!({}), JobOptions::new())
        .await
        .expect("add");
    let broken = q
        .add("broken", json!({}), JobOptions::new())
        .await
        .expect("add");
    let retried = q
        .add("retried", json!({}), JobOptions::new().attempts(2))
        .await
        .expect("add");

    // 3 completed, 1 failed and its retries-exhausted.
    let finished = |l: &Value| {
        event_is(l, "queue-event")
            && ["completed", "failed", "retries-exhausted"]
                .contains(&l["name"].as_str().unwrap_or(""))
    };
    listener
        .wait_for_count(
            WAIT,
            "completed/failed/retries-exhausted events",
            5,
            finished,
        )
        .await
        .expect("Node hears every job finish");
    worker.close().await.expect("close worker");
    let lines = listener.finish(WAIT).await.expect("listener stops");

    let id = |job: &Job<Value>| job.id().to_string();
    let reports = events_of(&lines, &id(&reports));
    assert_eq!(
        names(&reports),
        [
            "added",
            "waiting",
            "active",
            "progress",
            "progress",
            "completed"
        ],
        "{reports:?}"
    );
    let (_, active, _) = reports[2];
    assert_eq!(active["prev"], "waiting", "{active}");
    let (_, first, first_types) = reports[3];
    assert_eq!(first["data"], json!(10));
    assert_eq!(first_types["data"], "number");
    let (_, second, second_types) = reports[4];
    assert_eq!(second["data"], json!({"stage": "half"}));
    assert_eq!(second_types["data"], "object");
    let (_, completed, completed_types) = reports[5];
    assert_eq!(completed["returnvalue"], json!({"answer": 42}));
    assert_eq!(completed_types["returnvalue"], "object", "parsed by Node");
    assert_eq!(completed["prev"], "active", "{completed}");

    let text = events_of(&lines, &id(&text));
    let (name, completed, types) = *text.last().expect("events for text");
    assert_eq!(name, "completed");
    assert_eq!(completed["returnvalue"], "plain text");
    assert_eq!(types["returnvalue"], "string");

    let broken = events_of(&lines, &id(&broken));
    assert_eq!(
        names(&broken),
        ["added", "waiting", "active", "failed", "retries-exhausted"],
        "{broken:?}"
    );
    let (_, failed, _) = broken[3];
    assert_eq!(failed["failedReason"], "broken on purpose");
    assert_eq!(failed["prev"], "active", "{failed}");
    let (_, exhausted, _) = broken[4];
    assert_eq!(exhausted["attemptsMade"], "1", "{exhausted}");

    // A failed attempt that will be retried is not a `failed` event: the job waits again.
    let retried = events_of(&lines, &id(&retried));
    assert_eq!(
        names(&retried),
        [
            "added",
            "waiting",
            "active",
            "waiting",
            "active",
            "completed"
        ],
        "{retried:?}"
    );
    let (_, again, _) = retried[3];
    assert_eq!(again["prev"], "active", "{again}");
    let (_, completed, types) = retried[5];
    assert_eq!(completed["returnvalue"], json!(7));
    assert_eq!(types["returnvalue"], "number");

    let counts = scene.assert_counts_agree().await.expect("counts after");
    assert_eq!((counts.completed, counts.failed), (3, 1));
}
