//! Job schedulers across Node BullMQ 6 and oxq on one queue: a scheduler Node's
//! `upsertJobScheduler` creates keeps firing with only oxq workers (the oxq worker that takes a
//! run creates the next, as Node's does), and one oxq upserts is listed by Node's
//! `getJobSchedulers` with the same next run and run by a Node worker.
//!
//! Real time is unavoidable here: Node reads the system clock, so these schedulers use `every`
//! of 300 ms and the tests wait (with time limits) for runs instead of moving a manual clock.

use std::collections::BTreeSet;
use std::time::Duration;

use oxq::{Job, JobState, JobTemplate, Repeat, Worker, WorkerOptions};
use oxq_interop::{Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const EVERY_MS: u64 = 300;

/// Ids of the completed runs of scheduler `id`.
async fn completed_runs(scene: &Scene, id: &str) -> oxq_interop::Result<BTreeSet<String>> {
    let jobs = scene
        .queue
        .get_jobs(&[JobState::Completed], 0, 1_000, true)
        .await?;
    Ok(jobs
        .iter()
        .map(|j| j.id().to_string())
        .filter(|j| j.starts_with(&format!("repeat:{id}:")))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_node_upserts_runs_five_ticks_on_oxq_workers_alone() {
    let scene = Scene::start("sched-node-to-oxq").await.expect("scene");
    scene
        .node_run(
            "schedulers.mjs",
            json!({"steps": [{"upsert": {
                "id": "node-tick",
                "repeat": {"every": EVERY_MS},
                "name": "tick",
                "data": {"n": 1},
                "opts": {"attempts": 2}
            }}]}),
        )
        .await
        .expect("node upserts");
    let workers: Vec<Worker> = (0..2)
        .map(|_| {
            Worker::start(
                &scene.queue,
                WorkerOptions::new(),
                |job: Job<Value>| async move { Ok::<Value, oxq::BoxError>(job.data().clone()) },
            )
        })
        .collect();
    wait_until(WAIT, "five runs on oxq workers", || async {
        Ok(completed_runs(&scene, "node-tick").await?.len() >= 5)
    })
    .await
    .expect("five runs");
    for worker in workers {
        worker.close().await.expect("close an oxq worker");
    }
    let runs = completed_runs(&scene, "node-tick").await.expect("runs");
    let times: Vec<u64> = runs
        .iter()
        .filter_map(|id| id.rsplit(':').next()?.parse().ok())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    for pair in sorted.windows(2) {
        assert!(
            pair[1] - pair[0] >= EVERY_MS,
            "two runs closer than one interval: {sorted:?}"
        );
    }
    for id in &runs {
        let record = scene
            .queue
            .get_record(&oxq::JobId::from(id.as_str()))
            .await
            .expect("read a run")
            .expect("the run exists");
        assert_eq!(record.name, "tick", "{id}");
        assert_eq!(record.return_value.as_deref(), Some("{\"n\":1}"), "{id}");
    }
    let scheduler = scene
        .queue
        .get_job_scheduler("node-tick")
        .await
        .expect("read the scheduler")
        .expect("the scheduler exists");
    assert!(scheduler.iterations >= 6, "{scheduler:?}");
    assert_eq!(scene.queue.counts().await.expect("counts").delayed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_oxq_upserts_is_listed_by_node_and_run_by_a_node_worker() {
    let scene = Scene::start("sched-oxq-to-node").await.expect("scene");
    let every = scene
        .queue
        .upsert_job_scheduler(
            "oxq-tick",
            Repeat::every(Duration::from_millis(EVERY_MS)),
            JobTemplate::new("tock", json!({"from": "oxq"})),
        )
        .await
        .expect("oxq upserts every");
    // A daily cron in a zone, never due during the test: its next run must read the same.
    let daily = scene
        .queue
        .upsert_job_scheduler(
            "oxq-daily",
            Repeat::cron("0 9 * * *").tz("Asia/Seoul"),
            JobTemplate::new("digest", json!({})),
        )
        .await
        .expect("oxq upserts cron");
    let lines = scene
        .node_run("schedulers.mjs", json!({"steps": [{"list": true}]}))
        .await
        .expect("node lists");
    let listed = lines
        .iter()
        .find(|l| event_is(l, "schedulers"))
        .and_then(|l| l["schedulers"].as_array().cloned())
        .expect("a list");
    let by_key = |key: &str| {
        listed
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("node does not list {key}: {listed:?}"))
    };
    let node_every = by_key("oxq-tick");
    assert_eq!(node_every["every"], json!(EVERY_MS), "{node_every}");
    assert_eq!(node_every["name"], "tock", "{node_every}");
    assert_eq!(node_every["next"], json!(every.next_run), "{node_every}");
    assert_eq!(
        node_every["template"]["data"],
        json!({"from": "oxq"}),
        "{node_every}"
    );
    let node_daily = by_key("oxq-daily");
    assert_eq!(node_daily["pattern"], "0 9 * * *", "{node_daily}");
    assert_eq!(node_daily["tz"], "Asia/Seoul", "{node_daily}");
    assert_eq!(node_daily["next"], json!(daily.next_run), "{node_daily}");

    let mut node_worker = scene
        .node_spawn(
            "worker.mjs",
            json!({"concurrency": 1, "record": "full", "tag": "node"}),
        )
        .expect("node worker");
    node_worker
        .wait_event("ready", WAIT)
        .await
        .expect("node ready");
    node_worker
        .wait_for_count(WAIT, "three runs of oxq-tick", 3, |l| {
            event_is(l, "completed")
                && l["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("repeat:oxq-tick:"))
        })
        .await
        .expect("the node worker runs three ticks");
    let seen = node_worker.finish(WAIT).await.expect("node worker stops");
    let starts: Vec<&Value> = seen
        .iter()
        .filter(|l| event_is(l, "start"))
        .filter(|l| {
            l["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("repeat:oxq-tick:"))
        })
        .collect();
    let ids: BTreeSet<&str> = starts.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids.len(), starts.len(), "a run started twice: {starts:?}");
    for start in &starts {
        assert_eq!(start["name"], "tock", "{start}");
        assert_eq!(start["data"], json!({"from": "oxq"}), "{start}");
    }
}
