//! Stalled-job recovery with Node BullMQ workers and oxq workers on one queue. oxq's check
//! recovers every active job whose lock is gone in one pass, on a short default interval, and
//! takes jobs under a short default lock; Node keeps its 30 s lock and its two-check protocol.
//! Neither may take the other's live jobs, and a Node worker killed outright has its jobs run
//! again by oxq as soon as its lock expires:
//!
//! * Node jobs that run far longer than oxq's lock, while oxq workers check every interval,
//!   are never recovered;
//! * oxq jobs held under oxq's short lock, while Node's checker runs every 500 ms, are never
//!   recovered;
//! * a Node worker (2 s lock) killed with SIGKILL: an oxq worker runs its jobs within its lock
//!   plus one oxq interval.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxq::{Job, JobId, JobOptions, JobState, Worker, WorkerEvent, WorkerOptions};
use oxq_interop::{NodeProcess, Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const JOBS: usize = 4;

async fn add_jobs(scene: &Scene) -> Vec<JobId> {
    let mut ids = Vec::new();
    for n in 0..JOBS {
        let job = scene
            .queue
            .add("slow", json!({ "n": n }), JobOptions::new())
            .await
            .expect("add");
        ids.push(job.id().clone());
    }
    ids
}

/// An oxq worker with the library's defaults whose listener records every stalled recovery
/// it made; its processor sleeps `sleep` and counts its runs.
fn oxq_worker(
    scene: &Scene,
    concurrency: usize,
    sleep: Duration,
) -> (Worker, Arc<Mutex<Vec<JobId>>>, Arc<AtomicUsize>) {
    let stalled = Arc::new(Mutex::new(Vec::new()));
    let runs = Arc::new(AtomicUsize::new(0));
    let (seen, counted) = (stalled.clone(), runs.clone());
    let options = WorkerOptions::new()
        .concurrency(concurrency)
        .on_event(move |event| {
            if let WorkerEvent::Stalled { job_ids } = event {
                seen.lock()
                    .expect("stalled")
                    .extend(job_ids.iter().cloned());
            }
        });
    let worker = Worker::try_start(&scene.queue, options, move |_job: Job<Value>| {
        let runs = counted.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            // simulated work: the job must stay held across the other side's stalled checks
            tokio::time::sleep(sleep).await;
            Ok::<_, std::io::Error>(json!({ "by": "oxq" }))
        }
    })
    .expect("worker options");
    (worker, stalled, runs)
}

async fn node_worker(scene: &Scene, arg: Value) -> NodeProcess {
    let mut node = scene
        .node_spawn("slow_worker.mjs", arg)
        .expect("node worker");
    node.wait_event("ready", WAIT).await.expect("node ready");
    node
}

/// Every job completed once, never recovered as stalled.
async fn completed_once_without_a_stall(scene: &Scene, ids: &[JobId], by: &str) {
    for id in ids {
        let job = scene.queue.get_job(id).await.expect("get").expect("job");
        assert_eq!(job.state(), JobState::Completed, "job {id}");
        assert_eq!(
            (job.stalled_count(), job.attempts_started()),
            (0, 1),
            "job {id}: (stalls, attempts started)"
        );
        let returned = job
            .return_value::<Value>()
            .expect("a return value")
            .expect("JSON");
        assert_eq!(returned, json!({ "by": by }), "job {id} ran on {by}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_jobs_outlive_oxq_locks_while_oxq_checks() {
    let scene = Scene::start("stall-node-held").await.expect("scene");
    let ids = add_jobs(&scene).await;
    // Node's defaults: 30 s lock renewed every 15 s; each job runs 12 s, more than oxq's lock
    // plus two of its check intervals
    let mut node = node_worker(&scene, json!({ "concurrency": JOBS, "sleepMs": 12_000 })).await;
    node.wait_for_count(WAIT, "every job started", JOBS, |l| event_is(l, "start"))
        .await
        .expect("node holds every job");

    let (worker, stalled, runs) = oxq_worker(&scene, 2, Duration::ZERO);
    node.wait_for_count(WAIT, "every job completed", JOBS, |l| {
        event_is(l, "completed")
    })
    .await
    .expect("node completes every job");
    worker.close().await.expect("close");
    let lines = node.finish(WAIT).await.expect("node stops");

    assert_eq!(
        stalled.lock().expect("stalled").clone(),
        Vec::<JobId>::new(),
        "jobs oxq recovered from a live Node worker"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "jobs oxq ran");
    assert!(
        !lines.iter().any(|l| event_is(l, "stalled")),
        "Node saw stalls: {lines:?}"
    );
    completed_once_without_a_stall(&scene, &ids, "node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxq_jobs_under_a_short_lock_outlive_node_checks() {
    let scene = Scene::start("stall-oxq-held").await.expect("scene");
    let ids = add_jobs(&scene).await;
    // oxq's defaults (5 s lock, renewed every 1.25 s); each job runs 7 s
    let (worker, stalled, runs) = oxq_worker(&scene, JOBS, Duration::from_secs(7));
    wait_until(WAIT, "oxq to hold every job", || async {
        Ok(scene.queue.counts().await?.active == JOBS as u64)
    })
    .await
    .expect("oxq holds every job");
    // Node's checker marks every active job, then recovers those still marked without a lock
    let node = node_worker(&scene, json!({ "concurrency": 1, "stalledInterval": 500 })).await;
    wait_until(WAIT, "oxq to complete every job", || async {
        Ok(scene.queue.counts().await?.completed == JOBS as u64)
    })
    .await
    .expect("oxq completes every job");
    worker.close().await.expect("close");
    let lines = node.finish(WAIT).await.expect("node stops");

    assert!(
        !lines
            .iter()
            .any(|l| event_is(l, "stalled") || event_is(l, "start")),
        "Node recovered or ran oxq's jobs: {lines:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), JOBS, "oxq runs");
    assert!(stalled.lock().expect("stalled").is_empty(), "oxq stalls");
    completed_once_without_a_stall(&scene, &ids, "oxq").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_workers_jobs_run_on_oxq_once_its_lock_expires() {
    let scene = Scene::start("stall-node-killed").await.expect("scene");
    let ids = add_jobs(&scene).await;
    let lock = Duration::from_secs(2);
    let mut node = node_worker(
        &scene,
        json!({ "concurrency": JOBS, "sleepMs": 600_000, "lockDuration": lock.as_millis() as u64 }),
    )
    .await;
    node.wait_for_count(WAIT, "every job started", JOBS, |l| event_is(l, "start"))
        .await
        .expect("node holds every job");
    drop(node); // SIGKILL: its locks are left to expire
    let killed_at = Instant::now();

    let (worker, stalled, _runs) = oxq_worker(&scene, JOBS, Duration::ZERO);
    wait_until(WAIT, "oxq to complete the killed worker's jobs", || async {
        Ok(scene.queue.counts().await?.completed == JOBS as u64)
    })
    .await
    .expect("oxq completes every job");
    let recovered_in = killed_at.elapsed();
    worker.close().await.expect("close");
    eprintln!(
        "a Node worker with a {lock:?} lock killed with SIGKILL: its jobs completed on oxq {recovered_in:?} later"
    );

    // its lock, then at most one oxq interval (3 s) and a little slack
    assert!(
        recovered_in <= lock + Duration::from_secs(4),
        "the jobs ran again {recovered_in:?} after the kill"
    );
    let mut recovered = stalled.lock().expect("stalled").clone();
    recovered.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(recovered, expected, "jobs oxq recovered");
    for id in &ids {
        let job = scene.queue.get_job(id).await.expect("get").expect("job");
        assert_eq!(
            (job.state(), job.stalled_count(), job.attempts_started()),
            (JobState::Completed, 1, 2),
            "job {id}: (state, stalls, attempts started)"
        );
    }
}
