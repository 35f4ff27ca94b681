//! `oxq cancel` through the built binary, on both stores, as the other process of a
//! cancellation: a worker in this test process runs a job whose processor waits for its
//! token, the binary (a process of its own) cancels it, the processor sees its token at the
//! worker's next lock renewal, and the job reads back failed with the reason `cancelled`. Also
//! a delayed job cancelled before it runs, a second cancel of a finished job (nothing changes)
//! and an unknown id (exit 3).

mod support;

use std::time::Duration;

use oxq::{Job, JobOptions, Queue, QueueConnect, Worker, WorkerOptions};
use serde_json::{Value, json};
use support::Fixture;
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

on_both_stores!(a_running_job_is_cancelled_from_another_process);

fn a_running_job_is_cancelled_from_another_process(fx: &Fixture) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(cancel_scenario(fx));
}

/// Runs the binary with `args` (and `--json`) off the async threads; answers its JSON.
async fn oxq_json(fx: &Fixture, args: &[&str]) -> Value {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let fx_command = fx.command(&[]);
    let program = fx_command.get_program().to_owned();
    let base: Vec<_> = fx_command.get_args().map(|a| a.to_owned()).collect();
    let dir = fx.dir().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(program);
        command
            .args(base)
            .args(&args)
            .arg("--json")
            .current_dir(dir)
            .env_remove("OXQ_URL")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        let run = support::run(command);
        assert_eq!(run.code, Some(0), "oxq {args:?}: {run:?}");
        serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("oxq {args:?}: {:?}: {e}", run.stdout))
    })
    .await
    .expect("the binary's thread")
}

async fn cancel_scenario(fx: &Fixture) {
    let queue: Queue = Queue::connect(&fx.url, "jobs").await.expect("connect");
    queue
        .add(
            "long",
            json!(1),
            JobOptions::new().job_id("long").attempts(3),
        )
        .await
        .expect("add");
    queue
        .add(
            "later",
            json!(2),
            JobOptions::new()
                .job_id("later")
                .delay(Duration::from_secs(3600)),
        )
        .await
        .expect("add");
    let (started_tx, mut started) = mpsc::unbounded_channel::<String>();
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<String>();
    // renewals every 200 ms
    let options = WorkerOptions::new()
        .concurrency(1)
        .lock_duration(Duration::from_millis(800));
    let worker = Worker::start(&queue, options, move |job: Job<Value>| {
        let (started_tx, seen_tx) = (started_tx.clone(), seen_tx.clone());
        async move {
            let _ = started_tx.send(job.id().to_string());
            job.cancelled().await;
            let _ = seen_tx.send(job.id().to_string());
            Ok::<_, BoxError>(json!("ignored"))
        }
    });
    let first = tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("the job starts")
        .expect("channel");
    assert_eq!(first, "long");

    let answer = oxq_json(fx, &["cancel", "long", "--queue", "jobs"]).await;
    assert_eq!(
        answer,
        json!({"cancelled": "long", "outcome": "requested", "state": null})
    );
    let heard = tokio::time::timeout(WAIT, seen.recv())
        .await
        .expect("the processor sees its token")
        .expect("channel");
    assert_eq!(heard, "long");

    let answer = oxq_json(fx, &["cancel", "later", "--queue", "jobs"]).await;
    assert_eq!(
        answer,
        json!({"cancelled": "later", "outcome": "cancelled", "state": "delayed"})
    );
    let answer = oxq_json(fx, &["cancel", "long", "--queue", "jobs"]).await;
    assert_eq!(
        answer,
        json!({"cancelled": "long", "outcome": "already-finished", "state": "failed"})
    );
    worker.close().await.expect("close");

    for id in ["long", "later"] {
        let job = oxq_json(fx, &["get", id, "--queue", "jobs"]).await;
        assert_eq!(job["state"], json!("failed"), "{job}");
        assert_eq!(job["failed_reason"], json!("cancelled"), "{job}");
        assert_eq!(job["attempts_made"], json!(0), "{job}");
    }
    let sentence = fx.ok(&["cancel", "later", "--queue", "jobs"]);
    assert!(
        sentence.contains("job later is failed already"),
        "{sentence}"
    );
    fx.fails(&["cancel", "missing", "--queue", "jobs"], 3);
}
