//! `oxq get` shows a job's durable steps, on both stores: a worker in this test process runs a
//! job whose first step succeeds, whose second fails once and then succeeds, and whose third
//! fails on the job's last attempt; a signal is sent to it; the built binary then prints each
//! step's status, attempts and result or error, and the signal (as text and with `--json`).

mod support;

use std::time::Duration;

use oxq::{Job, JobOptions, Queue, QueueConnect, Worker, WorkerEvent, WorkerOptions};
use serde_json::{Value, json};
use support::Fixture;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

on_both_stores!(get_prints_steps_with_status_attempts_and_results);

fn get_prints_steps_with_status_attempts_and_results(fx: &Fixture) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run_the_job(fx));

    let job = fx.job("shop", "order-1");
    assert_eq!(job["state"], json!("failed"), "{job}");
    assert_eq!(
        job["steps"]["steps"],
        json!([
            {"name": "charge", "status": "failed", "attempts": 1, "result": null,
             "error": "card declined", "until": null},
            {"name": "fetch", "status": "done", "attempts": 1, "result": {"id": 7},
             "error": null, "until": null},
            {"name": "reserve", "status": "done", "attempts": 2, "result": "slot-2",
             "error": null, "until": null},
        ]),
        "{job}"
    );
    assert_eq!(job["steps"]["signals"], json!({"approve": {"by": "ada"}}));

    let text = fx.ok(&["get", "order-1", "--queue", "shop"]);
    for line in [
        r#"step            fetch: done (1 attempt) = {"id":7}"#,
        r#"step            reserve: done (2 attempts) = "slot-2""#,
        "step            charge: failed (1 attempt): card declined",
        r#"signal          approve = {"by":"ada"}"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
}

async fn run_the_job(fx: &Fixture) {
    let queue: Queue = Queue::connect(&fx.url, "shop").await.expect("connect");
    queue
        .add(
            "order",
            json!({"order": 7}),
            JobOptions::new().job_id("order-1").attempts(2),
        )
        .await
        .expect("add");
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        let attempt = job.attempts_made() + 1;
        job.step("fetch", || async { Ok::<_, BoxError>(json!({"id": 7})) })
            .await?;
        job.step("reserve", || async move {
            if attempt == 1 {
                Err(BoxError::from("no slot yet"))
            } else {
                Ok(format!("slot-{attempt}"))
            }
        })
        .await?;
        job.step("charge", || async {
            Err::<String, _>(BoxError::from("card declined"))
        })
        .await?;
        Ok::<_, BoxError>(json!("charged"))
    });
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .expect("the job fails for good within 30 s")
            .expect("the worker is running");
        if matches!(
            event,
            WorkerEvent::Failed {
                retrying: false,
                ..
            }
        ) {
            break;
        }
    }
    worker.close().await.expect("the worker closes");
    queue
        .signal(
            &oxq::JobId("order-1".into()),
            "approve",
            json!({"by": "ada"}),
        )
        .await
        .expect("a signal to a failed job is kept");
}
