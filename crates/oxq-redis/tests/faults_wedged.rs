//! Fault: the wedged worker, the failure BullMQ users report most. Idle workers (blocked in
//! `queue_wait`) live through a Redis outage longer than every timeout and block time, and
//! after the restart the SAME workers consume again, with no restart and no manual action:
//!
//! * the server comes back empty, and jobs a producer adds afterwards are processed;
//! * the server comes back from its AOF holding jobs that were already waiting before the
//!   outage, with no wake-up marker, and they are processed with no new job added.
//!
//! Both the dedicated blocking connection (`BZPOPMIN` on the marker) and the managed
//! connection (fetch and finish scripts) must recover: the tests see the workers blocked in
//! `BZPOPMIN` again on the server's `CLIENT LIST`, a job added after the restart wakes one of
//! them well before the block time would have, and every job is fetched and finished (which
//! only the managed connection does).

mod faults_support;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faults_support::{FaultServer, Persistence};
use oxq_core::{JobOptions, Queue, QueueRef, Worker, WorkerEvent, WorkerOptions};
use oxq_redis::RedisOptions;
use support::eventually;

/// How long Redis stays down: longer than every timeout and block time involved, so every
/// connection, retry loop and backoff has run out and settled into its steady "down" state —
/// `command_timeout` and `connect_timeout` (5 s), the managed connection's reconnect cycle
/// (6 retries, at most ~6.3 s), the blocking margin (5 s), the workers' block time
/// (`drain_delay`, 5 s and 20 s below), the dispatcher's error backoff cap (5 s) and the lock
/// duration (30 s, so a lock taken before the outage would have expired).
const OUTAGE: Duration = Duration::from_secs(40);
const WORKERS: usize = 2;

struct Fleet {
    workers: Vec<Worker>,
    /// Jobs each worker processed, with the time they ran.
    processed: Arc<Mutex<Vec<(usize, String, Instant)>>>,
    errors: Arc<[AtomicUsize; WORKERS]>,
}

impl Fleet {
    /// `WORKERS` workers, each with a store of its own (own managed and blocking connections).
    async fn start(url: &str, queue: &QueueRef, options: WorkerOptions) -> Self {
        let processed: Arc<Mutex<Vec<(usize, String, Instant)>>> = Arc::default();
        let errors: Arc<[AtomicUsize; WORKERS]> = Arc::default();
        let mut workers = Vec::new();
        for index in 0..WORKERS {
            let backend = oxq_redis::connect(url, RedisOptions::default())
                .await
                .expect("worker store");
            let queue: Queue<u32> = Queue::from_ref(backend, queue.clone());
            let seen = processed.clone();
            let errs = errors.clone();
            let options = options.clone().on_event(move |event| {
                if let WorkerEvent::Error { .. } = event {
                    errs[index].fetch_add(1, Ordering::Relaxed);
                }
            });
            workers.push(Worker::start(
                &queue,
                options,
                move |job: oxq_core::Job<u32>| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().expect("processed").push((
                            index,
                            job.id().to_string(),
                            Instant::now(),
                        ));
                        // long enough that one worker cannot take every job alone
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, String>(())
                    }
                },
            ));
        }
        Self {
            workers,
            processed,
            errors,
        }
    }

    fn processed(&self) -> Vec<(usize, String, Instant)> {
        self.processed.lock().expect("processed").clone()
    }

    async fn close(self) {
        for worker in &self.workers {
            worker.close().await.expect("close");
        }
    }
}

fn queue_ref() -> QueueRef {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    QueueRef::with_prefix(format!("{{w{}}}", &tag[..8]), "jobs").expect("queue")
}

async fn all_blocked(server: &FaultServer, what: &str) {
    eventually(Duration::from_secs(30), what, || async {
        server.blocked_in_bzpopmin() == WORKERS
    })
    .await;
}

/// Keeps the server down for [`OUTAGE`], then starts it again; returns when it answers.
async fn outage(server: &mut FaultServer) -> Instant {
    // the outage itself: nothing to wait on but time
    tokio::time::sleep(OUTAGE).await;
    tokio::task::block_in_place(|| server.start_again());
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_consume_again_after_a_long_outage_and_an_empty_restart() {
    let mut server = FaultServer::start(Persistence::None);
    let queue = queue_ref();
    let fleet = Fleet::start(&server.url, &queue, WorkerOptions::new().concurrency(5)).await;
    let producer_backend = oxq_redis::connect(&server.url, RedisOptions::default())
        .await
        .expect("producer store");
    let producer: Queue<u32> = Queue::from_ref(producer_backend, queue.clone());
    all_blocked(&server, "both workers blocked in BZPOPMIN").await;

    tokio::task::block_in_place(|| server.shutdown());
    let up_at = outage(&mut server).await;
    // the dedicated blocking connections come back on their own, with nothing to wake them
    all_blocked(
        &server,
        "both workers blocked in BZPOPMIN after the restart",
    )
    .await;
    let blocking_back = up_at.elapsed();

    // a producer adds jobs (retrying while its own store reconnects)
    let added_at = Instant::now();
    let jobs: Vec<_> = (0..20u32)
        .map(|n| ("n".to_owned(), n, JobOptions::new()))
        .collect();
    eventually(Duration::from_secs(30), "the add after the restart", || {
        let producer = producer.clone();
        let jobs = jobs.clone();
        async move { producer.add_bulk(jobs).await.is_ok() }
    })
    .await;
    eventually(Duration::from_secs(30), "20 jobs processed", || async {
        fleet.processed().len() >= 20
    })
    .await;
    let processed = fleet.processed();
    let first = processed
        .iter()
        .map(|(_, _, at)| *at)
        .min()
        .expect("a job ran");
    // woken by the marker over the blocking connection, not by the 5 s block timing out
    assert!(
        first - added_at < Duration::from_secs(3),
        "the first job ran {:?} after the add",
        first - added_at
    );
    assert_done(&fleet, &producer, 20).await;
    all_blocked(&server, "both workers waiting again").await;
    eprintln!(
        "empty restart: blocking connections back {blocking_back:?} after the restart; first job \
         ran {:?} after the add; worker errors {:?}",
        first - added_at,
        errors(&fleet)
    );
    fleet.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_run_jobs_persisted_before_a_long_outage() {
    let mut server = FaultServer::start(Persistence::AofAlways);
    let queue = queue_ref();
    // a block time far above how soon the jobs must run after the restart: they must not wait
    // for a wake-up that is gone, nor for the block to time out
    let drain_delay = Duration::from_secs(20);
    let fleet = Fleet::start(
        &server.url,
        &queue,
        WorkerOptions::new().concurrency(5).drain_delay(drain_delay),
    )
    .await;
    let producer_backend = oxq_redis::connect(&server.url, RedisOptions::default())
        .await
        .expect("producer store");
    let producer: Queue<u32> = Queue::from_ref(producer_backend, queue.clone());
    all_blocked(&server, "both workers blocked in BZPOPMIN").await;

    // 20 jobs waiting while the idle workers keep blocking: added to a paused queue (no
    // wake-up marker), then unpaused and shut down in one breath, so Redis goes down — and
    // comes back from its AOF — with jobs in `wait` and no marker, the shape a lost wake-up
    // leaves (a marker popped by a worker whose reply died with the connection).
    producer.pause().await.expect("pause");
    let jobs: Vec<_> = (0..20u32)
        .map(|n| ("n".to_owned(), n, JobOptions::new()))
        .collect();
    producer.add_bulk(jobs).await.expect("add");
    assert_eq!(server.blocked_in_bzpopmin(), WORKERS, "still idle");
    let meta = format!("{}:{}:meta", queue.prefix, queue.name);
    tokio::task::block_in_place(|| server.shutdown_after(&[&["HDEL", &meta, "paused"]]));
    assert!(
        fleet.processed().is_empty(),
        "nothing ran before the outage"
    );

    let up_at = outage(&mut server).await;
    eventually(
        Duration::from_secs(15),
        "the 20 persisted jobs, with no new job added",
        || async { fleet.processed().len() >= 20 },
    )
    .await;
    let last = fleet
        .processed()
        .iter()
        .map(|(_, _, at)| *at)
        .max()
        .expect("jobs ran");
    assert_done(&fleet, &producer, 20).await;
    all_blocked(&server, "both workers waiting again").await;
    eprintln!(
        "AOF restart: the 20 persisted jobs ran within {:?} of the restart; worker errors {:?}",
        last - up_at,
        errors(&fleet)
    );
    fleet.close().await;
}

/// Every job completed exactly once, by the same workers, both of which saw the outage.
async fn assert_done(fleet: &Fleet, producer: &Queue<u32>, jobs: usize) {
    let processed = fleet.processed();
    assert_eq!(processed.len(), jobs, "each job ran once");
    let mut ids: Vec<_> = processed.iter().map(|(_, id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), jobs, "no job ran twice");
    eventually(Duration::from_secs(10), "completed counts", || async {
        producer
            .counts()
            .await
            .is_ok_and(|c| c.completed == jobs as u64)
    })
    .await;
    for index in 0..WORKERS {
        assert!(
            processed.iter().any(|(w, _, _)| *w == index),
            "worker {index} processed nothing after the outage"
        );
        assert!(
            fleet.errors[index].load(Ordering::Relaxed) > 0,
            "worker {index} never saw the outage"
        );
    }
}

fn errors(fleet: &Fleet) -> Vec<usize> {
    fleet
        .errors
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect()
}
