//! [`Scene`]: one test's world — a Redis server, a queue under a prefix no other test uses,
//! the oxq handle on it, and the Node scripts pointed at the same queue.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use oxq::{Backend, JobCounts, JobState, Queue, QueueRef};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::node::{NodeEnv, NodeProcess, check_node_modules, event_is};
use crate::server::RedisServer;

/// Time limit for a one-shot Node script (start-up included).
pub const NODE_TIMEOUT: Duration = Duration::from_secs(60);

/// A key prefix no other test uses, hash-tagged so a queue stays in one Cluster slot.
pub fn unique_prefix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{{ix-{}}}", &id[..12])
}

/// One test's Redis server, queue and Node environment.
#[derive(Debug)]
pub struct Scene {
    server: Arc<RedisServer>,
    backend: Arc<dyn Backend>,
    /// The queue, as oxq sees it.
    pub queue: Queue<Value>,
    /// The same queue, for the Node scripts.
    pub node: NodeEnv,
}

impl Scene {
    /// Checks the Node set-up, starts a server (or uses `REDIS_URL`) and opens the queue
    /// `name` under a fresh prefix with `oxq::connect`.
    pub async fn start(name: &str) -> Result<Self> {
        check_node_modules()?;
        let server = Arc::new(RedisServer::start()?);
        let backend = oxq::connect(server.url()).await?;
        let queue_ref = QueueRef::with_prefix(unique_prefix(), name)?;
        let node = NodeEnv {
            url: server.url().to_owned(),
            prefix: queue_ref.prefix.clone(),
            queue: queue_ref.name.clone(),
        };
        let queue = Queue::from_ref(backend.clone(), queue_ref);
        Ok(Self {
            server,
            backend,
            queue,
            node,
        })
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    pub fn prefix(&self) -> &str {
        &self.node.prefix
    }

    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// Queue `name` under the same prefix on the same server (which lives as long as the
    /// last scene on it).
    pub fn sibling(&self, name: &str) -> Result<Scene> {
        let queue_ref = QueueRef::with_prefix(self.prefix(), name)?;
        Ok(Self {
            server: self.server.clone(),
            backend: self.backend.clone(),
            queue: Queue::from_ref(self.backend.clone(), queue_ref),
            node: self.node.with_queue(name),
        })
    }

    /// Runs a one-shot Node script on this queue.
    pub async fn node_run(&self, script: &str, arg: Value) -> Result<Vec<Value>> {
        self.node.run(script, &arg, NODE_TIMEOUT).await
    }

    /// Starts a long-running Node script on this queue.
    pub fn node_spawn(&self, script: &str, arg: Value) -> Result<NodeProcess> {
        self.node.spawn(script, &arg)
    }

    /// Adds jobs with Node's `Queue` (`node/add.mjs` steps); returns their ids in order.
    pub async fn node_add(&self, steps: Value) -> Result<Vec<String>> {
        let lines = self.node_run("add.mjs", json!({ "steps": steps })).await?;
        added_ids(&lines)
    }

    /// Node's view of jobs (`node/inspect.mjs`), by id.
    pub async fn node_inspect(&self, ids: &[&str]) -> Result<HashMap<String, Value>> {
        let lines = self.node_run("inspect.mjs", json!({ "ids": ids })).await?;
        let mut jobs = HashMap::new();
        for line in lines.into_iter().filter(|l| event_is(l, "job")) {
            let id = line
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::new(format!("inspect.mjs printed a job without id: {line}")))?
                .to_owned();
            jobs.insert(id, line);
        }
        Ok(jobs)
    }

    /// Node's `getJobCounts()` for every state oxq knows.
    pub async fn node_counts(&self) -> Result<BTreeMap<String, u64>> {
        let lines = self.node_run("counts.mjs", json!({})).await?;
        let counts = lines
            .iter()
            .find(|l| event_is(l, "counts"))
            .and_then(|l| l.get("counts"))
            .and_then(Value::as_object)
            .ok_or_else(|| Error::new(format!("counts.mjs printed no counts: {lines:?}")))?;
        counts
            .iter()
            .map(|(state, n)| {
                n.as_u64()
                    .map(|n| (state.clone(), n))
                    .ok_or_else(|| Error::new(format!("count of {state} is not a number: {n}")))
            })
            .collect()
    }

    /// Compares Node's `getJobCounts()` with oxq's `counts()` for every state; the error
    /// lists both sides. Call it when the queue is at rest (no worker mid-transition).
    pub async fn assert_counts_agree(&self) -> Result<JobCounts> {
        let node = self.node_counts().await?;
        let oxq = self.queue.counts().await?;
        compare_counts(&node, &oxq)?;
        Ok(oxq)
    }
}

/// The ids `add.mjs` reported.
pub fn added_ids(lines: &[Value]) -> Result<Vec<String>> {
    let ids = lines
        .iter()
        .find(|l| event_is(l, "added"))
        .and_then(|l| l.get("ids"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new(format!("add.mjs printed no ids: {lines:?}")))?;
    ids.iter()
        .map(|id| {
            id.as_str()
                .map(str::to_owned)
                .ok_or_else(|| Error::new(format!("job id {id} is not a string")))
        })
        .collect()
}

/// Every state must have the same count on both sides (a state Node omits counts as 0).
pub fn compare_counts(node: &BTreeMap<String, u64>, oxq: &JobCounts) -> Result<()> {
    let mismatches: Vec<String> = JobState::ALL
        .iter()
        .filter_map(|state| {
            let n = node.get(state.as_str()).copied().unwrap_or(0);
            let o = oxq.get(*state);
            (n != o).then(|| format!("{state}: node {n}, oxq {o}"))
        })
        .collect();
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "Node's getJobCounts() and oxq's counts() disagree: {}\n  node: {node:?}\n  oxq: {oxq:?}",
            mismatches.join("; ")
        )))
    }
}
