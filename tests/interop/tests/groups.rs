//! oxq's job groups next to a Node BullMQ worker (groups are oxq's own extension on Redis:
//! BullMQ has them only in its paid tier). A Node worker on a queue that holds oxq group jobs
//! runs the plain jobs of both sides and never takes a group job, runnable or delayed (it sees
//! none of them waiting or delayed, and finds their hashes in no state); an oxq worker then runs
//! the group jobs, and the two sides' counts agree once the queue is at rest.
//!
//! A group job whose oxq worker died is never Node's either: its lock has no expiry (the
//! holder's heartbeat `<id>:oxq.hb` expires instead), so a Node worker's stalled checks leave
//! it in `active`, and an oxq worker's stalled check recovers it into its group.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq::backend::{Fetch, FetchJobs};
use oxq::{Job, JobOptions, JobState, LockToken, Worker, WorkerOptions};
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

/// A raw connection to the scene's server, for reading the queue's keys.
async fn raw(scene: &Scene) -> redis::aio::MultiplexedConnection {
    redis::Client::open(scene.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

async fn query<T: redis::FromRedisValue>(
    conn: &redis::aio::MultiplexedConnection,
    cmd: &mut redis::Cmd,
) -> T {
    cmd.query_async(&mut conn.clone())
        .await
        .expect("raw command")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_job_left_by_a_dead_oxq_worker_waits_in_active_for_oxq() {
    let scene = Scene::start("groups-dead").await.expect("scene");
    let q = &scene.queue;
    let conn = raw(&scene).await;
    let key = |suffix: &str| format!("{}:{}:{suffix}", scene.prefix(), q.queue_ref().name);
    let job = q
        .add("tenant-job", json!({}), JobOptions::new().group("a"))
        .await
        .expect("add group job");
    let id = job.id().to_string();

    // an oxq worker takes the job and dies: fetched through the store, never renewed
    let fetched = scene
        .backend()
        .job_move_to_active(FetchJobs {
            queue: q.queue_ref().clone(),
            fetch: Fetch {
                token: LockToken("dead-worker".to_owned()),
                lock_duration: Duration::from_millis(300),
                max_jobs: 1,
                worker_name: Some("dead".to_owned()),
                limiter: None,
            },
            now: oxq::clock::now_ms(),
        })
        .await
        .expect("fetch");
    assert_eq!(fetched.jobs.len(), 1, "the dead worker holds the job");
    let hb = key(&format!("{id}:oxq.hb"));
    // real time: the heartbeat's PX expiry runs on the Redis server's clock, which a test cannot
    // move; the wait ends on the key's state
    wait_until(WAIT, "the dead worker's heartbeat to expire", || async {
        Ok(query::<i64>(&conn, redis::cmd("PTTL").arg(&hb)).await == -2)
    })
    .await
    .expect("heartbeat expires");

    // a Node worker checks for stalled jobs every 200 ms: each check rewrites `stalled-check`
    // (with its time) and marks every active job as suspect; the second sighting of a suspect
    // without its lock key would move it to `wait`
    let mut node = scene
        .node_spawn(
            "slow_worker.mjs",
            json!({ "concurrency": 2, "stalledInterval": 200 }),
        )
        .expect("node worker");
    node.wait_event("ready", WAIT).await.expect("node ready");
    let gate = key("stalled-check");
    let checks = Mutex::new(BTreeSet::new());
    // the Node worker's checks run on its own timer in another process: the wait ends on the
    // evidence that they ran (the gate rewritten four times), not on a guessed duration
    wait_until(WAIT, "four stalled checks of the Node worker", || async {
        let at: Option<String> = query(&conn, redis::cmd("GET").arg(&gate)).await;
        let mut seen = checks.lock().expect("checks");
        seen.extend(at);
        Ok(seen.len() >= 4)
    })
    .await
    .expect("Node checks");
    let suspect: bool = query(&conn, redis::cmd("SISMEMBER").arg(key("stalled")).arg(&id)).await;
    assert!(suspect, "Node's checker looked at the job");
    let active: Vec<String> = query(
        &conn,
        redis::cmd("LRANGE").arg(key("active")).arg(0).arg(-1),
    )
    .await;
    assert_eq!(active, std::slice::from_ref(&id), "the job waits in active");
    let wait: u64 = query(&conn, redis::cmd("LLEN").arg(key("wait"))).await;
    assert_eq!(wait, 0, "nothing was moved to wait");
    assert_eq!(
        query::<i64>(&conn, redis::cmd("PTTL").arg(key(&format!("{id}:lock")))).await,
        -1,
        "its lock has no expiry"
    );

    // an oxq worker recovers it into its group (paused: it stays there), then runs it there
    q.pause_group("a").await.expect("pause a");
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = runs.clone();
    let worker = Worker::start(q, WorkerOptions::new(), move |job: Job<Value>| {
        let seen = seen.clone();
        async move {
            seen.lock()
                .expect("runs")
                .push((job.id().to_string(), job.options().group.clone()));
            Ok::<_, std::io::Error>(json!({ "by": "oxq" }))
        }
    });
    let group = key("oxq:g:a");
    // the oxq worker's stalled check runs on its own interval in its own task: the wait ends
    // when the job is back in its group (the state under test)
    wait_until(
        WAIT,
        "oxq's stalled check to put the job back into its group",
        || async {
            let score: Option<f64> = query(&conn, redis::cmd("ZSCORE").arg(&group).arg(&id)).await;
            Ok(score.is_some())
        },
    )
    .await
    .expect("recovered into a");
    let left: u64 = query(
        &conn,
        redis::cmd("EXISTS")
            .arg(key(&format!("{id}:lock")))
            .arg(&hb),
    )
    .await;
    assert_eq!(left, 0, "the recovery deleted the lock");
    q.resume_group("a").await.expect("resume a");
    wait_until(WAIT, "oxq to complete the job", || async {
        Ok(q.counts().await?.completed == 1)
    })
    .await
    .expect("oxq completes it");
    worker.close().await.expect("close oxq worker");
    let lines = node.finish(WAIT).await.expect("node worker stops");

    assert!(
        !lines
            .iter()
            .any(|l| event_is(l, "start") || event_is(l, "stalled")),
        "Node recovered or ran the group job: {lines:?}"
    );
    assert_eq!(
        runs.lock().expect("runs").clone(),
        [(id.clone(), Some("a".to_owned()))],
        "oxq ran it once, in group a"
    );
    let done = q.get_job(job.id()).await.expect("get").expect("job");
    assert_eq!(
        (done.state(), done.stalled_count(), done.attempts_started()),
        (JobState::Completed, 1, 2),
        "(state, stalls, attempts started)"
    );
}
