//! Bull Board on oxq's queues: the real `@bull-board/api` 9.10 with `@bull-board/express`
//! (`node/bull_board.mjs`) serves queues that only oxq wrote and worked, and its JSON API
//! shows what oxq recorded — counts, a completed job's return value, a failed job's reason
//! and logs — and oxq's running worker (by the name of its connection, as Node's
//! `Queue.getWorkers()` reads it). Its "retry all failed" moves oxq's failed jobs back, and the
//! oxq worker completes them. The queues are found by their meta hash before any Node `Queue`
//! touches them, as Bull Board's standalone CLI finds queues.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxq::{Job, JobOptions, Worker, WorkerOptions};
use oxq_interop::{Error, Result, Scene, wait_until};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);
const FAILURE: &str = "smtp down";
const WORKER: &str = "oxq-mailer";

/// One request to the board on `port`, answered as (status, JSON body). HTTP/1.0, so the body
/// is neither chunked nor kept alive: the answer is everything up to the close.
async fn call(port: u16, method: &str, path: &str) -> Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| Error::new(format!("connect to the board: {e}")))?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Length: 0\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| Error::new(format!("send {method} {path}: {e}")))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| Error::new(format!("read {method} {path}: {e}")))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| Error::new(format!("{method} {path}: no HTTP answer: {answer}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::new(format!("{method} {path}: no status in {head}")))?;
    let body = serde_json::from_str(body)
        .map_err(|e| Error::new(format!("{method} {path}: body is not JSON ({e}): {body}")))?;
    Ok((status, body))
}

async fn get(port: u16, path: &str) -> Result<Value> {
    match call(port, "GET", path).await? {
        (200, body) => Ok(body),
        (status, body) => Err(Error::new(format!("GET {path}: {status} {body}"))),
    }
}

/// The board's entry of queue `name`, with the jobs of `status` listed.
async fn board_queue(port: u16, name: &str, status: &str) -> Result<Value> {
    let listing = get(
        port,
        &format!("/api/queues?activeQueue={name}&status={status}&page=1&jobsPerPage=10"),
    )
    .await?;
    listing["queues"]
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["name"] == name))
        .cloned()
        .ok_or_else(|| Error::new(format!("the board lists no queue {name}: {listing}")))
}

/// The worker names the board lists for queue `name` (it shows the part of each connection's
/// name after `:w:`).
async fn board_workers(port: u16, name: &str) -> Result<Vec<String>> {
    let workers = get(port, &format!("/api/queues/{name}/workers")).await?;
    let workers = workers["workers"]
        .as_array()
        .ok_or_else(|| Error::new(format!("no workers array: {workers}")))?;
    Ok(workers
        .iter()
        .map(|w| w["name"].as_str().unwrap_or_default().to_owned())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bull_board_shows_oxqs_queues_jobs_and_workers_and_retries_through_them() {
    let scene = Scene::start("mail").await.expect("scene");
    let reports = scene.sibling("reports").expect("sibling queue");
    let q = &scene.queue;
    q.add(
        "send",
        json!({ "to": "a@example.com" }),
        JobOptions::new().job_id("ok-1"),
    )
    .await
    .expect("add");
    for id in ["bad-1", "bad-2"] {
        q.add(
            "send",
            json!({ "to": "smtp" }),
            JobOptions::new().job_id(id),
        )
        .await
        .expect("add");
    }
    reports
        .queue
        .add("weekly", json!({}), JobOptions::new())
        .await
        .expect("add to reports");

    // The "smtp" jobs fail until the server is "back".
    let smtp_down = Arc::new(AtomicBool::new(true));
    let worker = Worker::start(q, WorkerOptions::new().name(WORKER), {
        let smtp_down = smtp_down.clone();
        move |job: Job<Value>| {
            let smtp_down = smtp_down.clone();
            async move {
                job.log(format!("sending {} to {}", job.id(), job.data()["to"]))
                    .await?;
                if job.data()["to"] == "smtp" && smtp_down.load(Ordering::SeqCst) {
                    return Err(BoxError::from(FAILURE));
                }
                Ok(json!({ "sent": job.id().to_string() }))
            }
        }
    });
    wait_until(WAIT, "ok-1 completed and both bad jobs failed", || async {
        let c = q.counts().await?;
        Ok(c.completed == 1 && c.failed == 2)
    })
    .await
    .expect("oxq worked the queue");

    let mut board = scene
        .node_spawn("bull_board.mjs", json!({ "queues": ["mail", "reports"] }))
        .expect("spawn bull_board.mjs");
    let metas = board.wait_event("metas", WAIT).await.expect("metas");
    assert_eq!(
        metas["queues"],
        json!(["mail", "reports"]),
        "every queue oxq wrote has its meta hash"
    );
    let port = board
        .wait_event("listening", WAIT)
        .await
        .expect("listening")["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .expect("a port");

    // Counts, and the failed jobs with their reason.
    let mail = board_queue(port, "mail", "failed").await.expect("mail");
    assert_eq!(mail["counts"]["completed"], 1, "{mail}");
    assert_eq!(mail["counts"]["failed"], 2, "{mail}");
    let mut failed: Vec<(&str, &str)> = mail["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap_or(""),
                j["failedReason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(failed, [("bad-1", FAILURE), ("bad-2", FAILURE)], "{mail}");
    let reports_entry = board_queue(port, "reports", "waiting")
        .await
        .expect("reports");
    assert_eq!(reports_entry["counts"]["waiting"], 1, "{reports_entry}");

    // One job each: the return value, the failed reason, the logs.
    let ok = get(port, "/api/queues/mail/ok-1").await.expect("ok-1");
    assert_eq!(ok["status"], "completed", "{ok}");
    assert_eq!(ok["job"]["returnValue"], json!({ "sent": "ok-1" }), "{ok}");
    let bad = get(port, "/api/queues/mail/bad-1").await.expect("bad-1");
    assert_eq!(bad["status"], "failed", "{bad}");
    assert_eq!(bad["job"]["failedReason"], FAILURE, "{bad}");
    let logs = get(port, "/api/queues/mail/bad-1/logs")
        .await
        .expect("logs");
    assert_eq!(logs, json!(["sending bad-1 to \"smtp\""]), "{logs}");

    // The running oxq worker is listed, by its name.
    assert_eq!(
        board_workers(port, "mail").await.expect("workers"),
        [WORKER]
    );
    assert_eq!(mail["hasWorkers"], true, "{mail}");

    // Retry every failed job through the board; the oxq worker completes them.
    smtp_down.store(false, Ordering::SeqCst);
    let (status, retried) = call(port, "PUT", "/api/queues/mail/retry/failed")
        .await
        .expect("retry failed");
    assert_eq!((status, &retried["retried"]), (200, &json!(2)), "{retried}");
    wait_until(WAIT, "the retried jobs completed", || async {
        let c = q.counts().await?;
        Ok(c.completed == 3 && c.failed == 0)
    })
    .await
    .expect("oxq completed the retried jobs");
    let mail = board_queue(port, "mail", "completed").await.expect("mail");
    assert_eq!(mail["counts"]["completed"], 3, "{mail}");
    assert_eq!(mail["counts"]["failed"], 0, "{mail}");
    let bad = get(port, "/api/queues/mail/bad-1").await.expect("bad-1");
    assert_eq!(bad["status"], "completed", "{bad}");
    assert_eq!(
        bad["job"]["returnValue"],
        json!({ "sent": "bad-1" }),
        "{bad}"
    );

    // A closed worker is no longer listed.
    worker.close().await.expect("close");
    assert_eq!(
        board_workers(port, "mail").await.expect("workers"),
        Vec::<String>::new()
    );
    board.finish(WAIT).await.expect("bull_board.mjs stops");
    scene.assert_counts_agree().await.expect("counts agree");
}
