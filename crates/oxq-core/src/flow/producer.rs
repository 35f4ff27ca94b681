//! [`FlowProducer`]: writes flow trees atomically and reads them back.

use std::sync::Arc;

use crate::backend::{AddFlow, AddedFlowNode, Backend, GetDependencies, GetJob};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::ids::{DEFAULT_PREFIX, JobId, QueueRef};
use crate::queue::QueueOptions;
use crate::record::{JobRecord, JobState};

use super::flows_of;
use super::tree::{FlattenRules, FlowJob, flatten};

/// Writes [`FlowJob`] trees: every job of a call is written, or none.
#[derive(Clone)]
pub struct FlowProducer {
    backend: Arc<dyn Backend>,
    prefix: String,
    options: QueueOptions,
}

impl std::fmt::Debug for FlowProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowProducer")
            .field("store", &self.backend.kind())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A job a producer wrote, with the children written under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowAdded {
    pub queue: QueueRef,
    pub id: JobId,
    /// Waiting-children for a parent; for a leaf, where an add would have put it.
    pub state: JobState,
    pub children: Vec<FlowAdded>,
}

/// Which tree to read: the job at its root, how deep, and how many children per job.
#[derive(Debug, Clone)]
pub struct FlowQuery {
    pub queue: QueueRef,
    pub id: JobId,
    /// Levels below the root to read (BullMQ's default: 10).
    pub depth: u32,
    /// Children read per job (BullMQ's default: 20).
    pub max_children: u64,
}

impl FlowQuery {
    pub fn new(queue: QueueRef, id: JobId) -> Self {
        Self {
            queue,
            id,
            depth: 10,
            max_children: 20,
        }
    }

    pub fn depth(mut self, depth: u32) -> Self {
        self.depth = depth;
        self
    }

    pub fn max_children(mut self, max_children: u64) -> Self {
        self.max_children = max_children;
        self
    }
}

/// A job as read back by [`FlowProducer::get_flow`], with its children (processed, then
/// pending, then ignored, then failed; each group by key). Children removed since are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowTree {
    pub job: JobRecord,
    pub queue: QueueRef,
    pub children: Vec<FlowTree>,
}

impl FlowProducer {
    /// A producer for queues under the default prefix (`bull`).
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            prefix: DEFAULT_PREFIX.to_owned(),
            options: QueueOptions::default(),
        }
    }

    /// Queues of trees without their own prefix go under `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        if prefix.is_empty() {
            return Err(Error::invalid("queue prefix must not be empty"));
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// The clock and payload limit, as for a [`Queue`](crate::Queue).
    pub fn with_options(mut self, options: QueueOptions) -> Result<Self> {
        options.validate()?;
        self.options = options;
        Ok(self)
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        &self.options.clock
    }

    /// Writes one tree atomically.
    pub async fn add(&self, tree: FlowJob) -> Result<FlowAdded> {
        self.add_bulk(vec![tree])
            .await?
            .pop()
            .ok_or_else(|| Error::store("a flow add answered no tree"))
    }

    /// Writes several trees in one atomic step: all of them, or (on any error) none.
    pub async fn add_bulk(&self, trees: Vec<FlowJob>) -> Result<Vec<FlowAdded>> {
        let flows = flows_of(self.backend.as_ref())?;
        let rules = FlattenRules {
            prefix: &self.prefix,
            max_payload_bytes: self.options.max_payload_bytes,
        };
        let flat = flatten(trees, &rules)?;
        if flat.nodes.is_empty() {
            return Ok(Vec::new());
        }
        let sent = flat.nodes.len();
        let added = flows
            .flow_add(AddFlow {
                nodes: flat.nodes,
                now: self.clock().now_ms(),
            })
            .await?
            .nodes;
        if added.len() != sent {
            return Err(Error::store(format!(
                "a flow of {sent} jobs was answered with {} entries",
                added.len()
            )));
        }
        Ok(flat
            .roots
            .iter()
            .map(|&root| assemble(root, &added, &flat.children))
            .collect())
    }

    /// Reads the tree rooted at a job; `None` when that job does not exist.
    pub async fn get_flow(&self, query: FlowQuery) -> Result<Option<FlowTree>> {
        let flows = flows_of(self.backend.as_ref())?;
        let Some(job) = self.read_job(&query.queue, &query.id).await? else {
            return Ok(None);
        };
        let mut root = FlowTree {
            job,
            queue: query.queue.clone(),
            children: Vec::new(),
        };
        // Breadth-first, one level at a time: (path of child indexes from the root, depth).
        let mut frontier = vec![(Vec::<usize>::new(), 0u32)];
        while let Some((path, depth)) = frontier.pop() {
            if depth >= query.depth {
                continue;
            }
            let node = node_at(&mut root, &path);
            let Some(deps) = flows
                .job_dependencies(GetDependencies {
                    queue: node.queue.clone(),
                    job_id: node.job.id.clone(),
                    limit: query.max_children,
                })
                .await?
            else {
                continue;
            };
            let keys = deps
                .processed
                .into_iter()
                .map(|(key, _)| key)
                .chain(deps.pending)
                .chain(deps.ignored.into_iter().map(|(key, _)| key))
                .chain(deps.failed)
                .take(usize::try_from(query.max_children).unwrap_or(usize::MAX));
            let mut children = Vec::new();
            for key in keys {
                if let Some(job) = self.read_job(&key.queue, &key.id).await? {
                    children.push(FlowTree {
                        job,
                        queue: key.queue,
                        children: Vec::new(),
                    });
                }
            }
            let node = node_at(&mut root, &path);
            for index in 0..children.len() {
                let mut child_path = path.clone();
                child_path.push(index);
                frontier.push((child_path, depth + 1));
            }
            node.children = children;
        }
        Ok(Some(root))
    }

    async fn read_job(&self, queue: &QueueRef, id: &JobId) -> Result<Option<JobRecord>> {
        self.backend
            .job_get(GetJob {
                queue: queue.clone(),
                job_id: id.clone(),
            })
            .await
    }
}

fn node_at<'a>(root: &'a mut FlowTree, path: &[usize]) -> &'a mut FlowTree {
    let mut node = root;
    for &index in path {
        node = &mut node.children[index];
    }
    node
}

fn assemble(index: usize, added: &[AddedFlowNode], children: &[Vec<usize>]) -> FlowAdded {
    let node = &added[index];
    FlowAdded {
        queue: node.queue.clone(),
        id: node.id.clone(),
        state: node.state,
        children: children[index]
            .iter()
            .map(|&child| assemble(child, added, children))
            .collect(),
    }
}
