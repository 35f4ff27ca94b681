//! Fault: a worker resumes by itself after Redis restarts (the data and loaded scripts gone,
//! connections dropped), and producers succeed again. Queue and worker behaviour on this store
//! is the conformance suite (`tests/conformance.rs`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::{JobOptions, Queue, Worker, WorkerOptions};
use support::{World, eventually};

fn options() -> WorkerOptions {
    WorkerOptions::new()
        .concurrency(8)
        .lock_duration(Duration::from_secs(2))
        .stalled_interval(Duration::from_millis(500))
        .drain_delay(Duration::from_millis(250))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_resumes_after_redis_restarts() {
    let mut w = World::new().await;
    if !w.server.owns_server() {
        eprintln!("REDIS_URL is set: this test restarts its own server, skipped");
        return;
    }
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let done = Arc::new(Mutex::new(Vec::new()));
    let record = done.clone();
    let worker = Worker::start(&queue, options(), move |job: oxq_core::Job<u32>| {
        let record = record.clone();
        async move {
            record.lock().expect("lock").push(*job.data());
            Ok::<_, String>(())
        }
    });
    queue.add("n", 1, JobOptions::new()).await.expect("add");
    eventually(Duration::from_secs(10), "the first job", || {
        let done = done.clone();
        async move { done.lock().expect("lock").len() == 1 }
    })
    .await;

    w.server.restart(); // all data and loaded scripts are gone; connections drop
    // producers fail fast while the store is down or reconnecting, then succeed
    eventually(Duration::from_secs(30), "an add after the restart", || {
        let queue = queue.clone();
        async move { queue.add("n", 2, JobOptions::new()).await.is_ok() }
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "the job added after the restart",
        || {
            let done = done.clone();
            async move { done.lock().expect("lock").contains(&2) }
        },
    )
    .await;
    worker.close().await.expect("close");
}
