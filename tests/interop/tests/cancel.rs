//! Cancellation seen from Node BullMQ 6: jobs Node added and oxq cancelled (one waiting, one
//! delayed, one running in an oxq worker) read back through Node's `getJob`/`getState` as
//! ordinary failed jobs with the reason `cancelled`, and Node's `getJobCounts` counts them as
//! failed, agreeing with oxq's counts. The running job's processor sees its token.

use std::time::Duration;

use oxq::{CancelOutcome, Job, JobState, Worker, WorkerOptions};
use oxq_interop::Scene;
use serde_json::{Value, json};
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reads_jobs_oxq_cancelled_as_failed_with_reason_cancelled() {
    let scene = Scene::start("cancel").await.expect("scene");
    let q = &scene.queue;
    let ids = scene
        .node_add(json!([
            {"add": {"name": "running", "data": {"n": 1}, "opts": {"attempts": 3}}},
            {"add": {"name": "waiting", "data": {"n": 2}}},
            {"add": {"name": "delayed", "data": {"n": 3}, "opts": {"delay": 3_600_000}}}
        ]))
        .await
        .expect("node adds");
    let (running, waiting, delayed) = (&ids[0], &ids[1], &ids[2]);

    // one slot: the worker takes the first job and holds it until it is cancelled
    let (started_tx, mut started) = mpsc::unbounded_channel::<String>();
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<String>();
    let worker = Worker::start(
        q,
        WorkerOptions::new()
            .concurrency(1)
            .lock_duration(Duration::from_millis(800)),
        move |job: Job<Value>| {
            let (started_tx, seen_tx) = (started_tx.clone(), seen_tx.clone());
            async move {
                let _ = started_tx.send(job.id().to_string());
                job.cancelled().await;
                let _ = seen_tx.send(job.id().to_string());
                Ok::<_, BoxError>(json!("ignored"))
            }
        },
    );
    let first = tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("a job starts")
        .expect("channel");
    assert_eq!(&first, running, "Node's first job runs first");
    // the others first, while the one slot is held: once the running job's processor returns,
    // the worker would take the waiting one
    for (id, prev) in [(waiting, JobState::Waiting), (delayed, JobState::Delayed)] {
        assert_eq!(
            q.cancel(&id.as_str().into()).await.expect("cancel"),
            CancelOutcome::Cancelled { prev },
            "job {id}"
        );
    }
    assert_eq!(
        q.cancel(&running.as_str().into()).await.expect("cancel"),
        CancelOutcome::Requested
    );
    // the worker renews every 200 ms: its processor hears of it then
    let heard = tokio::time::timeout(WAIT, seen.recv())
        .await
        .expect("the processor sees its token")
        .expect("channel");
    assert_eq!(&heard, running);
    worker.close().await.expect("close");

    let lines = scene
        .node_inspect(&[running, waiting, delayed])
        .await
        .expect("node inspect");
    for id in [running, waiting, delayed] {
        let line = &lines[id.as_str()];
        assert_eq!(line["found"], json!(true), "Node finds job {id}: {line}");
        assert_eq!(line["state"], json!("failed"), "job {id}: {line}");
        let job = &line["job"];
        assert_eq!(job["failedReason"], json!("cancelled"), "job {id}: {job}");
        assert_eq!(job["attemptsMade"], json!(0), "job {id}: {job}");
        assert!(job["finishedOn"].is_number(), "job {id}: {job}");
    }
    let counts = scene.assert_counts_agree().await.expect("counts agree");
    assert_eq!(counts.failed, 3);
    assert_eq!(counts.total(), 3);
}
