//! Scenario 5: a Node BullMQ worker and an oxq worker share one queue and process 20,000 jobs
//! added by both sides: every job completes exactly once, none is lost, both workers do a
//! share, and each job's return value names the side that ran it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxq::{Job, JobOptions, JobState, Worker, WorkerOptions};
use oxq_interop::{Scene, event_is, wait_until};
use serde_json::{Value, json};

const PER_SIDE: usize = 10_000;
const TOTAL: usize = 2 * PER_SIDE;
const CHUNK: usize = 1_000;
const WAIT: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_oxq_workers_share_20k_jobs_exactly_once() {
    let started = Instant::now();
    let scene = Scene::start("mixed").await.expect("scene");
    let q = &scene.queue;

    let mut node = scene
        .node_spawn(
            "worker.mjs",
            json!({"concurrency": 16, "record": "ids", "tag": "node"}),
        )
        .expect("start node worker");
    let ran_by_oxq = Arc::new(Mutex::new(Vec::<String>::with_capacity(TOTAL)));
    let worker = {
        let ran = ran_by_oxq.clone();
        Worker::start(
            q,
            WorkerOptions::new().concurrency(16),
            move |job: Job<Value>| {
                let ran = ran.clone();
                async move {
                    ran.lock().expect("oxq ids").push(job.id().to_string());
                    Ok::<_, std::io::Error>(json!({"by": "oxq"}))
                }
            },
        )
    };
    node.wait_event("ready", WAIT)
        .await
        .expect("node worker ready");

    // Both sides add at once: Node through addBulk, oxq through add_bulk.
    let node_adds = scene.node_run(
        "add.mjs",
        json!({"generate": {"count": PER_SIDE, "name": "from-node", "chunk": CHUNK}}),
    );
    let oxq_adds = async {
        let mut ids = Vec::with_capacity(PER_SIDE);
        for start in (0..PER_SIDE).step_by(CHUNK) {
            let batch = (start..start + CHUNK)
                .map(|n| ("from-oxq".to_owned(), json!({"n": n}), JobOptions::new()))
                .collect();
            let jobs = q.add_bulk(batch).await?;
            ids.extend(jobs.iter().map(|j| j.id().to_string()));
        }
        Ok::<_, oxq::Error>(ids)
    };
    let (node_lines, oxq_ids) = tokio::join!(node_adds, oxq_adds);
    let mut added =
        oxq_interop::scene::added_ids(&node_lines.expect("node adds")).expect("node's job ids");
    added.extend(oxq_ids.expect("oxq adds"));
    assert_eq!(added.len(), TOTAL);
    let added_at = started.elapsed();

    wait_until(WAIT, "20,000 completed jobs", || async {
        Ok(q.counts().await?.completed == TOTAL as u64)
    })
    .await
    .expect("every job completes");
    worker.close().await.expect("close oxq worker");
    let lines = node.finish(WAIT).await.expect("node worker stops");
    let ran_by_node: Vec<String> = lines
        .iter()
        .find(|l| event_is(l, "closed"))
        .and_then(|l| l["processed"].as_array())
        .expect("node's processed ids")
        .iter()
        .map(|id| id.as_str().expect("string id").to_owned())
        .collect();
    let ran_by_oxq = ran_by_oxq.lock().expect("oxq ids").clone();

    // Every added id ran exactly once, on one side or the other.
    let mut runs: HashMap<&str, Vec<&str>> = added.iter().map(|id| (id.as_str(), vec![])).collect();
    assert_eq!(runs.len(), TOTAL, "job ids are unique");
    for (side, ids) in [("node", &ran_by_node), ("oxq", &ran_by_oxq)] {
        for id in ids {
            runs.get_mut(id.as_str())
                .unwrap_or_else(|| panic!("{side} ran job {id}, which nobody added"))
                .push(side);
        }
    }
    let twice: Vec<_> = runs.iter().filter(|(_, s)| s.len() > 1).take(10).collect();
    assert!(twice.is_empty(), "jobs run more than once: {twice:?}");
    let never: Vec<_> = runs.iter().filter(|(_, s)| s.is_empty()).take(10).collect();
    assert!(never.is_empty(), "jobs never run: {never:?}");
    let (by_node, by_oxq) = (ran_by_node.len(), ran_by_oxq.len());
    assert!(
        by_node >= TOTAL / 100 && by_oxq >= TOTAL / 100,
        "both sides should do a share: node ran {by_node}, oxq ran {by_oxq}"
    );

    // Each job's stored return value names the side that ran it.
    let completed = q
        .get_jobs(&[JobState::Completed], 0, TOTAL as u64, true)
        .await
        .expect("completed jobs");
    assert_eq!(completed.len(), TOTAL);
    for job in &completed {
        let value: Value = job
            .return_value()
            .expect("a return value")
            .expect("JSON return value");
        let side = runs[job.id().as_str()][0];
        assert_eq!(value["by"], side, "job {} ran on {side}", job.id());
        assert_eq!(
            job.attempts_made(),
            1,
            "job {} was attempted again",
            job.id()
        );
    }

    let counts = scene.assert_counts_agree().await.expect("counts after");
    assert_eq!((counts.completed, counts.failed), (TOTAL as u64, 0));
    eprintln!(
        "mixed fleet: node ran {by_node}, oxq ran {by_oxq}; added in {:.1?}, all done in {:.1?}",
        added_at,
        started.elapsed()
    );
}
