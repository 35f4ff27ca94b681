//! Fault: Redis (AOF on) is shut down and restarted in the middle of 10,000 jobs while
//! producers add and workers process. Every job completes; a job whose processor ran more than
//! once carries the stall that explains it; producers see `Error::Unavailable` during the outage
//! and succeed by retrying; the same workers resume by themselves.
//!
//! "Ran twice" is defined precisely: the processors never fail, so the only legitimate way for
//! a job to run again is stalled recovery (its lock expired while it was active: a fetch whose
//! reply died with the connection, or a lock that could not be renewed during the outage).
//! Hence for every job: `runs − 1 <= stalled_count` (each extra run needs a recorded recovery)
//! and `runs <= attempts_started` (each run was preceded by an activation Redis persisted).

mod faults_support;
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faults_support::{FaultServer, Persistence};
use oxq_core::{JobOptions, Queue, QueueRef, Worker, WorkerEvent, WorkerOptions};
use oxq_redis::RedisOptions;
use support::eventually;

const JOBS: usize = 10_000;
const PRODUCERS: usize = 4;
const WORKERS: usize = 2;
const CONCURRENCY: usize = 20;
/// "A few seconds": longer than a lock renewal period (lock/4) so renewals fail during it,
/// shorter than the lock so running jobs keep their locks across it.
const OUTAGE: Duration = Duration::from_secs(3);
/// Redis goes down once this many adds were acknowledged (and some jobs completed): in the
/// middle of production and processing.
const DOWN_AFTER_ADDS: usize = 3_000;

#[derive(Default)]
struct Tally {
    /// Processor runs per job id.
    runs: Mutex<HashMap<String, u32>>,
    /// Processor runs per worker after the server came back.
    after_restart: [AtomicUsize; WORKERS],
    /// `WorkerEvent::Error`s per worker (store calls that failed and were retried).
    worker_errors: [AtomicUsize; WORKERS],
    restarted: AtomicBool,
    added: AtomicUsize,
    /// Adds that failed with `Error::Unavailable` (and were retried).
    unavailable: AtomicUsize,
    /// Adds that succeeded after at least one `Unavailable` for the same job.
    recovered_adds: AtomicUsize,
    /// The longest a failed add took to fail, in ms (how fast producers fail while it is down).
    slowest_failure_ms: AtomicU64,
}

impl Tally {
    fn distinct_runs(&self) -> usize {
        self.runs.lock().expect("tally").len()
    }
}

fn worker_options(index: usize, tally: Arc<Tally>) -> WorkerOptions {
    WorkerOptions::new()
        .concurrency(CONCURRENCY)
        // Short enough that jobs lost with a fetch reply are recovered within seconds, long
        // enough (> OUTAGE + a renewal period) that running jobs keep their locks.
        .lock_duration(Duration::from_secs(10))
        .stalled_interval(Duration::from_secs(2))
        .name(format!("fault-worker-{index}"))
        .on_event(move |event| {
            if let WorkerEvent::Error { .. } = event {
                tally.worker_errors[index].fetch_add(1, Ordering::Relaxed);
            }
        })
}

async fn produce(queue: Queue<u64>, first: usize, tally: Arc<Tally>) {
    for n in (first..JOBS).step_by(PRODUCERS) {
        // a custom id makes a retried add idempotent: an add that reached Redis but whose
        // reply was lost is not added twice
        let options = JobOptions::new().job_id(format!("job-{n}"));
        let mut failures = 0;
        loop {
            let attempt = Instant::now();
            match queue.add("n", n as u64, options.clone()).await {
                Ok(_) => break,
                Err(e) if e.is_transient() => {
                    failures += 1;
                    tally.unavailable.fetch_add(1, Ordering::Relaxed);
                    let took = attempt.elapsed().as_millis() as u64;
                    tally.slowest_failure_ms.fetch_max(took, Ordering::Relaxed);
                    // a producer's retry pause while the store is down
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("an add failed with a non-transient error: {e:?}"),
            }
        }
        if failures > 0 {
            tally.recovered_adds.fetch_add(1, Ordering::Relaxed);
        }
        tally.added.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_with_aof_in_the_middle_of_10k_jobs() {
    let started = Instant::now();
    let mut server = FaultServer::start(Persistence::AofAlways);
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let queue_ref = QueueRef::with_prefix(format!("{{f{}}}", &tag[..8]), "jobs").expect("queue");
    let tally = Arc::new(Tally::default());

    // each worker and the producers have their own store (own connections), like processes
    let mut workers = Vec::new();
    for index in 0..WORKERS {
        let backend = oxq_redis::connect(&server.url, RedisOptions::default())
            .await
            .expect("worker store");
        let queue: Queue<u64> = Queue::from_ref(backend, queue_ref.clone());
        let counter = tally.clone();
        workers.push(Worker::start(
            &queue,
            worker_options(index, tally.clone()),
            move |job: oxq_core::Job<u64>| {
                let counter = counter.clone();
                async move {
                    *counter
                        .runs
                        .lock()
                        .expect("tally")
                        .entry(job.id().to_string())
                        .or_insert(0) += 1;
                    if counter.restarted.load(Ordering::Relaxed) {
                        counter.after_restart[index].fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<_, String>(*job.data())
                }
            },
        ));
    }
    let producer_backend = oxq_redis::connect(&server.url, RedisOptions::default())
        .await
        .expect("producer store");
    let queue: Queue<u64> = Queue::from_ref(producer_backend, queue_ref.clone());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| tokio::spawn(produce(queue.clone(), p, tally.clone())))
        .collect();

    eventually(
        Duration::from_secs(60),
        "adds and completions before the outage",
        || {
            let tally = tally.clone();
            async move {
                tally.added.load(Ordering::Relaxed) >= DOWN_AFTER_ADDS
                    && tally.distinct_runs() >= 1_000
            }
        },
    )
    .await;
    let (added_before, ran_before) = (tally.added.load(Ordering::Relaxed), tally.distinct_runs());
    tokio::task::block_in_place(|| server.shutdown());
    let down_at = Instant::now();
    // the outage itself: producers and workers run against a closed port for this long
    tokio::time::sleep(OUTAGE).await;
    let unavailable_during_outage = tally.unavailable.load(Ordering::Relaxed);
    tokio::task::block_in_place(|| server.start_again());
    tally.restarted.store(true, Ordering::Relaxed);
    let up_at = Instant::now();
    eprintln!(
        "down after {added_before} adds / {ran_before} jobs run, for {:?}",
        up_at - down_at
    );

    for producer in producers {
        producer.await.expect("producer task");
    }
    eventually(Duration::from_secs(90), "every job to complete", || {
        let queue = queue.clone();
        let tally = tally.clone();
        async move {
            tally.distinct_runs() == JOBS
                && queue
                    .counts()
                    .await
                    .map(|c| c.completed == JOBS as u64)
                    .unwrap_or(false)
        }
    })
    .await;
    let finished_at = Instant::now();
    for worker in &workers {
        worker.close().await.expect("close");
    }

    // every job completed, none failed or left behind
    let counts = queue.counts().await.expect("counts");
    assert_eq!(counts.completed, JOBS as u64, "{counts:?}");
    assert_eq!(
        (
            counts.waiting,
            counts.active,
            counts.delayed,
            counts.failed,
            counts.prioritized
        ),
        (0, 0, 0, 0, 0),
        "{counts:?}"
    );

    // a job that ran more than once carries the recorded stall that explains it
    let runs = tally.runs.lock().expect("tally").clone();
    assert_eq!(runs.len(), JOBS);
    let (started_counts, stalled_counts) = fetch_counters(&server, &queue_ref, &runs).await;
    let mut reruns = Vec::new();
    for (id, &ran) in &runs {
        let ats = started_counts[id];
        let stc = stalled_counts[id];
        assert!(
            ran <= ats,
            "job {id} ran {ran} times but Redis recorded {ats} starts"
        );
        assert!(
            ran - 1 <= stc,
            "job {id} ran {ran} times but recorded only {stc} stalled recoveries"
        );
        if ran > 1 {
            let record = queue
                .get_record(&id.as_str().into())
                .await
                .expect("get")
                .expect("job");
            assert!(record.stalled_count >= 1 && record.attempts_started >= ran);
            reruns.push(id.clone());
        }
    }
    let stalled = stalled_counts.values().filter(|&&n| n > 0).count();

    // producers saw clear transient errors during the outage and got through by retrying
    assert!(
        unavailable_during_outage > 0,
        "no producer saw Error::Unavailable while Redis was down"
    );
    assert!(tally.recovered_adds.load(Ordering::Relaxed) > 0);
    assert_eq!(tally.added.load(Ordering::Relaxed), JOBS);

    // the same workers noticed the outage and resumed on their own
    for index in 0..WORKERS {
        assert!(
            tally.worker_errors[index].load(Ordering::Relaxed) > 0,
            "worker {index} never saw the outage"
        );
        assert!(
            tally.after_restart[index].load(Ordering::Relaxed) > 0,
            "worker {index} processed nothing after the restart"
        );
    }
    eprintln!(
        "all {JOBS} completed {:?} after the restart; {} adds retried ({} Unavailable errors); \
         slowest failed add {} ms; worker errors {:?}; {} jobs recovered as stalled, {} ran \
         twice {:?}; total {:?}",
        finished_at - up_at,
        tally.recovered_adds.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        tally.slowest_failure_ms.load(Ordering::Relaxed),
        tally
            .worker_errors
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect::<Vec<_>>(),
        stalled,
        reruns.len(),
        reruns.iter().take(10).collect::<Vec<_>>(),
        started.elapsed(),
    );
}

/// `ats` and `stc` of every job, read raw in one pipeline.
async fn fetch_counters(
    server: &FaultServer,
    queue: &QueueRef,
    runs: &HashMap<String, u32>,
) -> (HashMap<String, u32>, HashMap<String, u32>) {
    let mut conn = redis::Client::open(server.url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let ids: Vec<&String> = runs.keys().collect();
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.cmd("HMGET")
            .arg(format!("{}:{}:{id}", queue.prefix, queue.name))
            .arg("ats")
            .arg("stc");
    }
    let rows: Vec<(Option<u32>, Option<u32>)> =
        pipe.query_async(&mut conn).await.expect("HMGET pipeline");
    let mut started = HashMap::new();
    let mut stalled = HashMap::new();
    for (id, (ats, stc)) in ids.into_iter().zip(rows) {
        started.insert(id.clone(), ats.unwrap_or(0));
        stalled.insert(id.clone(), stc.unwrap_or(0));
    }
    (started, stalled)
}
