//! Errors met while running name the server: a Redis that goes away under a running worker and
//! producer, and one that starts refusing writes (`-READONLY`), give errors and worker events
//! whose text says `redis at 127.0.0.1:<port>`, as sentences (the reply as Redis words it), and
//! never the password of the connection url.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use oxq_core::{Error, Job, JobOptions, Queue, QueueRef, Worker, WorkerEvent, WorkerOptions};
use oxq_redis::RedisOptions;
use support::RedisServer;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);
const PASSWORD: &str = "hunter2-secret";

/// `redis at 127.0.0.1:<port>` for a test server's `redis://127.0.0.1:<port>`.
fn target_of(server: &RedisServer) -> String {
    format!("redis at {}", server.url.trim_start_matches("redis://"))
}

fn options(events: mpsc::UnboundedSender<WorkerEvent>) -> WorkerOptions {
    WorkerOptions::new()
        .drain_delay(Duration::from_millis(200))
        .close_timeout(Duration::from_secs(1))
        .on_event(move |e| {
            let _ = events.send(e.clone());
        })
}

/// The message of the first event `pick` takes.
async fn first_message(
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    pick: impl Fn(&WorkerEvent) -> Option<String>,
) -> String {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no matching worker event within {WAIT:?}"))
            .expect("the listener lives");
        if let Some(message) = pick(&event) {
            return message;
        }
    }
}

async fn run_one_job(queue: &Queue<u32>, events: &mut mpsc::UnboundedReceiver<WorkerEvent>) {
    queue.add("n", 1, JobOptions::new()).await.expect("add");
    first_message(events, |e| {
        matches!(e, WorkerEvent::Completed { .. }).then(String::new)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_mid_run_is_named_by_host_and_port_without_the_password() {
    let mut server = RedisServer::start();
    if !server.owns_server() {
        eprintln!("REDIS_URL is set: this test stops its own server, skipped");
        return;
    }
    let target = target_of(&server);
    let raw = redis::Client::open(server.url.as_str()).expect("client");
    let mut raw = raw
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(PASSWORD)
        .query_async(&mut raw)
        .await
        .expect("set a password");
    let url = server
        .url
        .replace("redis://", &format!("redis://:{PASSWORD}@"));
    let store_options = RedisOptions::default().command_timeout(Duration::from_millis(500));
    let backend = oxq_redis::connect(&url, store_options)
        .await
        .expect("connect");
    let queue: Queue<u32> = Queue::from_ref(backend, QueueRef::new("gone").expect("queue"));
    let (tx, mut events) = mpsc::unbounded_channel();
    let worker = Worker::start(&queue, options(tx), |_job: Job<u32>| async move {
        Ok::<_, String>(())
    });
    run_one_job(&queue, &mut events).await;

    server.stop();
    let err = queue
        .add("n", 2, JobOptions::new())
        .await
        .expect_err("no server to add to");
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("the add failed: {text}");
    assert!(text.contains(&target), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");

    let message = first_message(&mut events, |e| match e {
        WorkerEvent::Error { message } => Some(message.clone()),
        _ => None,
    })
    .await;
    eprintln!("the worker reported: {message}");
    assert!(message.contains(&target), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    let _ = worker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_starts_refusing_writes_is_named_and_its_reply_quoted() {
    let server = RedisServer::start();
    if !server.owns_server() {
        eprintln!("REDIS_URL is set: this test turns its own server into a replica, skipped");
        return;
    }
    let target = target_of(&server);
    let backend = oxq_redis::connect(&server.url, RedisOptions::default())
        .await
        .expect("connect");
    let queue: Queue<u32> = Queue::from_ref(backend, QueueRef::new("refusing").expect("queue"));
    let (tx, mut events) = mpsc::unbounded_channel();
    let worker = Worker::start(&queue, options(tx), |_job: Job<u32>| async move {
        Ok::<_, String>(())
    });
    run_one_job(&queue, &mut events).await;

    let nobody = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let raw = redis::Client::open(server.url.as_str()).expect("client");
    let mut raw = raw
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(nobody)
        .query_async(&mut raw)
        .await
        .expect("make the server a replica");

    let err = queue
        .add("n", 2, JobOptions::new())
        .await
        .expect_err("a replica refuses writes");
    assert!(err.is_permanent(), "{err:?}");
    let text = err.to_string();
    eprintln!("the add failed: {text}");
    assert!(
        text.contains(&format!("{target}: the server answered READONLY")),
        "{text}"
    );
    assert!(text.contains("read-only replica"), "{text}");

    let message = first_message(&mut events, |e| match e {
        WorkerEvent::StoreFailing { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    eprintln!("the worker reported: {message}");
    assert!(message.contains(&target), "{message}");
    let _ = worker.close().await;
}
