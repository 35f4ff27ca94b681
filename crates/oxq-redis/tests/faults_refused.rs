//! Fault: a Redis that answers but refuses the work. The test's own server is made a replica of
//! a port nobody listens on (`REPLICAOF`: every write answers `-READONLY`) or is given
//! `maxmemory 1` under `noeviction` (every script answers `-OOM`). The worker reports each
//! refusal as `WorkerEvent::StoreFailing` and logs it at `ERROR`; with
//! `stop_after_permanent_errors` it stops and `run_until_signal` returns an error naming the
//! cause.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use oxq_core::{Job, JobOptions, Queue, Worker, WorkerEvent, WorkerOptions};
use support::World;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

/// Every `ERROR` line the tests' workers log, from all tests of this file (each test looks
/// for its own queue's prefix).
fn error_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        log
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn error_lines_about(queue: &str) -> Vec<String> {
    let log = error_log();
    let text = String::from_utf8_lossy(&log.lock().expect("log")).into_owned();
    text.lines()
        .filter(|l| l.contains("ERROR") && l.contains(queue))
        .map(str::to_owned)
        .collect()
}

fn options(events: mpsc::UnboundedSender<WorkerEvent>) -> WorkerOptions {
    WorkerOptions::new()
        .lock_duration(Duration::from_secs(2))
        .stalled_interval(Duration::from_millis(500))
        .drain_delay(Duration::from_millis(250))
        .on_event(move |e| {
            let _ = events.send(e.clone());
        })
}

/// Waits for the `n`-th `StoreFailing` in a row; answers its message.
async fn store_failing(events: &mut mpsc::UnboundedReceiver<WorkerEvent>, n: u32) -> String {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no StoreFailing #{n} within {WAIT:?}"))
            .expect("the listener lives");
        eprintln!("worker event: {event:?}");
        if let WorkerEvent::StoreFailing {
            message,
            consecutive,
        } = event
            && consecutive >= n
        {
            return message;
        }
    }
}

fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_is_reported_and_stops_the_worker_when_asked() {
    let w = World::new().await;
    if !w.server.owns_server() {
        eprintln!("REDIS_URL is set: this test turns its own server into a replica, skipped");
        return;
    }
    error_log();
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    queue.add("n", 1, JobOptions::new()).await.expect("add");
    let port = unused_port().to_string();
    let _: () = w
        .cmd(redis::cmd("REPLICAOF").arg("127.0.0.1").arg(&port))
        .await;

    let (tx, mut events) = mpsc::unbounded_channel();
    let worker = Worker::start(
        &queue,
        options(tx).stop_after_permanent_errors(3),
        |_job: Job<u32>| async move { Ok::<_, String>(()) },
    );
    let message = store_failing(&mut events, 1).await;
    assert!(message.contains("read-only replica"), "{message}");
    let stopped = tokio::time::timeout(WAIT, worker.run_until_signal())
        .await
        .expect("the worker stops by itself after 3 refusals in a row");
    let error = stopped.expect_err("run_until_signal reports why the worker stopped");
    let text = error.to_string();
    assert!(
        text.contains("3 permanent store errors") && text.contains("read-only replica"),
        "{text}"
    );
    let logged = error_lines_about(&w.queue.prefix);
    assert!(
        logged.iter().any(|l| l.contains("read-only replica")),
        "no ERROR log naming the read-only replica: {logged:?}"
    );
    assert_eq!(queue.counts().await.expect("counts").waiting, 1);
}

/// Under `maxmemory` with `noeviction` Redis refuses only the scripts whose first write would
/// grow memory: here the stalled-job check. The worker keeps running its jobs and reports the
/// refusal (event and `ERROR` log) naming `maxmemory` and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_is_reported_as_a_store_failure_and_logged_at_error() {
    let w = World::new().await;
    if !w.server.owns_server() {
        eprintln!("REDIS_URL is set: this test sets maxmemory on its own server, skipped");
        return;
    }
    error_log();
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let config = |key: &'static str, value: &'static str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("SET").arg(key).arg(value);
        cmd
    };
    let _: () = w.cmd(&mut config("maxmemory-policy", "noeviction")).await;
    let _: () = w.cmd(&mut config("maxmemory", "1")).await;

    let (tx, mut events) = mpsc::unbounded_channel();
    let worker = Worker::start(&queue, options(tx), |_job: Job<u32>| async move {
        Ok::<_, String>(())
    });
    let message = store_failing(&mut events, 2).await;
    assert!(
        message.contains("OOM") && message.contains("raise maxmemory"),
        "{message}"
    );
    let logged = error_lines_about(&w.queue.prefix);
    assert!(
        logged.iter().any(|l| l.contains("OOM")),
        "no ERROR log naming OOM: {logged:?}"
    );
    let _: () = w.cmd(&mut config("maxmemory", "0")).await;
    worker.close().await.expect("close");
}

/// Without `stop_after_permanent_errors` the worker keeps trying a read-only replica and runs
/// the waiting job once the server is a primary again (`REPLICAOF NO ONE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_keeps_trying_a_read_only_replica_and_resumes_when_it_is_writable() {
    let w = World::new().await;
    if !w.server.owns_server() {
        eprintln!("REDIS_URL is set: this test turns its own server into a replica, skipped");
        return;
    }
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    queue.add("n", 7, JobOptions::new()).await.expect("add");
    let port = unused_port().to_string();
    let _: () = w
        .cmd(redis::cmd("REPLICAOF").arg("127.0.0.1").arg(&port))
        .await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let worker = Worker::start(&queue, options(tx), move |job: Job<u32>| {
        let done_tx = done_tx.clone();
        async move {
            let _ = done_tx.send(*job.data());
            Ok::<_, String>(())
        }
    });
    store_failing(&mut events, 4).await;
    let _: () = w.cmd(redis::cmd("REPLICAOF").arg("NO").arg("ONE")).await;
    let ran = tokio::time::timeout(WAIT, done.recv())
        .await
        .expect("the job runs once the server takes writes again");
    assert_eq!(ran, Some(7));
    worker.close().await.expect("close");
}
