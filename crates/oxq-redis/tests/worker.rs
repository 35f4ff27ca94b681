//! The oxq runtime (`Queue` + `Worker`) on this store, end to end: every job processed exactly
//! once, retries, and a worker that resumes by itself after Redis restarts.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::{Backoff, JobOptions, Queue, Worker, WorkerOptions};
use support::{World, eventually};

fn options() -> WorkerOptions {
    WorkerOptions::new()
        .concurrency(8)
        .lock_duration(Duration::from_secs(2))
        .stalled_interval(Duration::from_millis(500))
        .drain_delay(Duration::from_millis(250))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_runs_exactly_once_and_failures_retry() {
    let w = World::new().await;
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let seen: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
    let counter = seen.clone();
    let worker = Worker::start(&queue, options(), move |job: oxq_core::Job<u32>| {
        let counter = counter.clone();
        async move {
            let n = *job.data();
            let runs = {
                let mut map = counter.lock().expect("lock");
                let runs = map.entry(n).or_insert(0);
                *runs += 1;
                *runs
            };
            if n % 10 == 0 && runs == 1 {
                return Err(format!("first attempt of {n} fails"));
            }
            Ok(n * 2)
        }
    });
    let retrying = JobOptions::new()
        .attempts(2)
        .backoff(Backoff::fixed(Duration::from_millis(50)));
    let jobs = (0..300u32)
        .map(|n| ("n".to_owned(), n, retrying.clone()))
        .collect();
    queue.add_bulk(jobs).await.expect("add");
    eventually(Duration::from_secs(30), "300 completed jobs", || {
        let queue = queue.clone();
        async move {
            queue
                .counts()
                .await
                .map(|c| c.completed == 300)
                .unwrap_or(false)
        }
    })
    .await;
    worker.close().await.expect("close");
    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 300);
        for (n, runs) in seen.iter() {
            let expected = if n % 10 == 0 { 2 } else { 1 };
            assert_eq!(*runs, expected, "job {n}");
        }
    }
    let counts = queue.counts().await.expect("counts");
    assert_eq!((counts.waiting, counts.active, counts.failed), (0, 0, 0));
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
