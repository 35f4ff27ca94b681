//! SIGTERM on a worker process whose processor never returns (`echo_worker --sleep-ms` far
//! beyond the test): a second SIGTERM abandons the job at once and another worker runs it long
//! before its lock would expire; with the store gone (the test's own `redis-server` killed),
//! one SIGTERM still ends the process within `--close-timeout-ms` plus the release budget.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oxq::prelude::*;
use oxq::worker::RELEASE_BUDGET;
use oxq_testkit::redis_server::RedisServer;
use support::{example, signal, spawn, summary};

/// An `echo_worker` whose stderr (its logs at `info`) is also sent, line by line, to the
/// returned channel.
fn spawn_logged(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(example("echo_worker"))
        .args(args)
        .env("RUST_LOG", "oxq_core=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo_worker");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[echo_worker] {line}");
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Waits for a log line containing `needle`.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("no log line containing {needle:?}: {e}"),
        }
    }
}

/// Waits up to `limit` for the child to exit; answers its output and how long that took.
async fn exit_within(child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let output = tokio::time::timeout(
        limit,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .unwrap_or_else(|_| panic!("the worker did not exit within {limit:?}"))
    .expect("join")
    .expect("wait for the worker");
    (output, started.elapsed())
}

fn last_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "worker failed: {:?}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad summary {line:?}: {e}"))
}

/// Waits until the worker's processor has the job in hand. The store's `active` count is not
/// enough: a signal that comes between the store handing the job out and the worker reading
/// that answer finds no job to abandon.
fn wait_processing(lines: &mpsc::Receiver<String>) {
    wait_for_line(lines, "started, sleeping", Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_abandons_a_hung_job_to_another_worker_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("signals.db").display());
    let queue: Queue = Queue::connect(&url, "signals").await.expect("connect");
    queue
        .add("hangs", serde_json::json!({}), JobOptions::new())
        .await
        .expect("add");
    let common = ["--url", &url, "--queue", "signals"];
    // a 10-minute job, a 10-minute close deadline and a 30 s lock: only the second signal can
    // end this worker quickly, and only the release can let another worker run the job soon
    let (hung, logs) = spawn_logged(
        &[
            &common[..],
            &["--sleep-ms", "600000", "--close-timeout-ms", "600000"],
        ]
        .concat(),
    );
    wait_processing(&logs);
    signal(&hung, "TERM");
    wait_for_line(&logs, "signal received", Duration::from_secs(10));
    let second = Instant::now();
    signal(&hung, "TERM");
    let (output, took) = exit_within(hung, Duration::from_secs(20)).await;
    let result = last_json(&output);
    assert_eq!(result["abandoned"], 1, "summary: {result}");
    assert!(
        second.elapsed() < Duration::from_secs(1) + RELEASE_BUDGET + Duration::from_secs(1),
        "the worker took {took:?} to exit after the second SIGTERM"
    );

    let rescued = Instant::now();
    let rescuer = spawn("echo_worker", &[&common[..], &["--count", "1"]].concat());
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || summary(rescuer)),
    )
    .await
    .expect("the rescuer finished in time")
    .expect("join");
    assert_eq!(result["completed"], 1, "rescuer summary: {result}");
    assert!(
        rescued.elapsed() < Duration::from_secs(10),
        "the released job ran again only after {:?} (its lock had 30 s left)",
        rescued.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_the_store_down_exits_within_the_close_timeout() {
    let server = RedisServer::start();
    let url = server.url();
    let queue: Queue = Queue::connect(&url, "signals").await.expect("connect");
    queue
        .add("hangs", serde_json::json!({}), JobOptions::new())
        .await
        .expect("add");
    let (hung, logs) = spawn_logged(&[
        "--url",
        &url,
        "--queue",
        "signals",
        "--sleep-ms",
        "600000",
        "--close-timeout-ms",
        "2000",
    ]);
    wait_processing(&logs);
    drop(queue);
    drop(server);
    signal(&hung, "TERM");
    let signalled = Instant::now();
    let (output, _) = exit_within(hung, Duration::from_secs(20)).await;
    let took = signalled.elapsed();
    let result = last_json(&output);
    assert_eq!(result["abandoned"], 1, "summary: {result}");
    let limit = Duration::from_secs(2) + RELEASE_BUDGET + Duration::from_millis(500);
    assert!(
        took < limit,
        "the worker took {took:?} to exit with the store down (limit {limit:?})"
    );
    drop(logs);
}
