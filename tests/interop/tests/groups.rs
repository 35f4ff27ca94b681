//! oxq's job groups next to a Node BullMQ worker (groups are oxq's own extension on Redis:
//! BullMQ has them only in its paid tier). A Node worker on a queue that holds oxq group jobs
//! runs the plain jobs of both sides and never takes a group job, runnable or delayed (it sees
//! none of them waiting or delayed, and finds their hashes in no state); an oxq worker then runs
//! the group jobs, and the two sides' counts agree once the queue is at rest.

use std::time::Duration;

use oxq::{Job, JobOptions, Worker, WorkerOptions};
use oxq_interop::{Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_worker_leaves_group_jobs_to_oxq() {
    let scene = Scene::start("groups").await.expect("scene");
    let q = &scene.queue;
    let mut group_ids = Vec::new();
    for (name, group) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")] {
        let job = q
            .add(name, json!({}), JobOptions::new().group(group))
            .await
            .expect("add group job");
        group_ids.push(job.id().to_string());
    }
    // due at once: a Node fetch would promote it if it sat in `delayed`
    let delayed = q
        .add(
            "a-later",
            json!({}),
            JobOptions::new().group("a").delay(Duration::from_millis(1)),
        )
        .await
        .expect("add delayed group job");
    group_ids.push(delayed.id().to_string());
    let mut plain_ids = Vec::new();
    for n in 0..3 {
        let job = q
            .add("plain-oxq", json!({ "n": n }), JobOptions::new())
            .await
            .expect("add plain job");
        plain_ids.push(job.id().to_string());
    }
    plain_ids.extend(
        scene
            .node_add(json!([
                {"add": {"name": "plain-node", "data": {}}},
                {"add": {"name": "plain-node", "data": {}}},
                {"add": {"name": "plain-node", "data": {}}}
            ]))
            .await
            .expect("node adds"),
    );

    let mut node = scene
        .node_spawn(
            "worker.mjs",
            json!({"concurrency": 4, "record": "ids", "tag": "node"}),
        )
        .expect("start node worker");
    node.wait_event("ready", WAIT)
        .await
        .expect("node worker ready");
    wait_until(WAIT, "the six plain jobs completed", || async {
        Ok(q.counts().await?.completed == 6)
    })
    .await
    .expect("node runs the plain jobs");

    // Node sees the group jobs neither waiting nor delayed; oxq counts them
    let node_counts = scene.node_counts().await.expect("node counts");
    let seen = |state: &str| node_counts.get(state).copied().unwrap_or(0);
    assert_eq!(
        (
            seen("waiting"),
            seen("prioritized"),
            seen("delayed"),
            seen("active")
        ),
        (0, 0, 0, 0),
        "{node_counts:?}"
    );
    assert_eq!(seen("completed"), 6, "{node_counts:?}");
    let counts = q.counts().await.expect("oxq counts");
    assert_eq!(
        (counts.waiting + counts.delayed, counts.active),
        (5, 0),
        "{counts:?}"
    );
    let ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
    let node_view = scene.node_inspect(&ids).await.expect("node inspect");
    for id in &ids {
        assert_eq!(node_view[*id]["found"], true, "{id}: {:?}", node_view[*id]);
        assert_eq!(
            node_view[*id]["state"], "unknown",
            "{id}: {:?}",
            node_view[*id]
        );
    }

    // an oxq worker runs the group jobs while the Node worker is still running
    let worker = Worker::start(
        q,
        WorkerOptions::new().concurrency(2),
        |_job: Job<Value>| async { Ok::<_, std::io::Error>(json!({"by": "oxq"})) },
    );
    wait_until(WAIT, "all eleven jobs completed", || async {
        Ok(q.counts().await?.completed == 11)
    })
    .await
    .expect("oxq runs the group jobs");
    worker.close().await.expect("close oxq worker");
    let lines = node.finish(WAIT).await.expect("node worker stops");
    let mut ran_by_node: Vec<String> = lines
        .iter()
        .find(|l| event_is(l, "closed"))
        .and_then(|l| l["processed"].as_array())
        .expect("node's processed ids")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    ran_by_node.sort();
    plain_ids.sort();
    assert_eq!(
        ran_by_node, plain_ids,
        "node ran the plain jobs, only once each"
    );
    let done = scene.node_inspect(&ids).await.expect("node inspect");
    for id in &ids {
        assert_eq!(done[*id]["state"], "completed", "{id}: {:?}", done[*id]);
        assert_eq!(
            done[*id]["job"]["returnvalue"]["by"], "oxq",
            "{id}: {:?}",
            done[*id]
        );
    }
    scene
        .assert_counts_agree()
        .await
        .expect("counts agree at rest");
}
