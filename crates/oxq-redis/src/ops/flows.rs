//! The [`Flows`] facet on Redis, in BullMQ 6's layout (`bullmq-v5-model.md` §8):
//! `flow_add` ↔ `scripts/flow_add.lua` (every node of every tree in one script, so a tree is
//! written whole or not at all, across queues) and `job_dependencies` ↔
//! `scripts/job_dependencies.lua` (a parent's four child collections in one read).
//!
//! The rest of the facet's rules live in the scripts of the core calls: a child's add
//! (`add.lua`), its completion and final failure (`finish.lua` with `include/parent.lua`), a
//! parent's refused completion and its wait for children (`finish.lua`), and removal of a
//! subtree (`remove_job.lua` with `include/subtree.lua`).
//!
//! A node with a group (oxq's job groups) waits in its group on its own queue, as an added job
//! does, and a parent with a group goes to its group when released (`include/parent.lua`).

use async_trait::async_trait;
use oxq_core::backend::{
    AddFlow, AddedFlow, AddedFlowNode, Dependencies, DependencyCounts, FlowNode, Flows,
    GetDependencies,
};
use oxq_core::clock::millis;
use oxq_core::{ChildKey, Error, Result};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};
use crate::wire;
use crate::wire::parent::{ParentFields, parse_job_key};

pub(crate) struct FlowAddCall<'a> {
    pub now: u64,
    pub nodes: &'a [FlowNode],
}

impl ScriptCall for FlowAddCall<'_> {
    const NAME: &'static str = "flow_add";
    const KEYS: &'static [Key] = &[];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now).arg(self.nodes.len());
        for node in self.nodes {
            let o = &node.job.options;
            inv.arg(QueueKeys::new(&node.queue).base())
                .arg(o.job_id.as_ref().map_or("", |id| id.as_str()))
                .arg(&node.job.name)
                .arg(&node.job.data)
                .arg(wire::encode_opts(o))
                .arg(o.delay.map_or(0, millis))
                .arg(o.priority)
                .arg(if o.lifo { "1" } else { "0" })
                .arg(node.children);
            match o.parent.as_ref().map(ParentFields::of) {
                Some(parent) => inv.arg(parent.key).arg(parent.json),
                None => inv.arg("").arg(""),
            };
            inv.arg(o.group.as_deref().unwrap_or(""));
        }
    }
}

pub(crate) struct DependenciesCall<'a> {
    pub job_id: &'a str,
}

impl ScriptCall for DependenciesCall<'_> {
    const NAME: &'static str = "job_dependencies";
    const KEYS: &'static [Key] = &[];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id);
    }
}

/// The facet; each call's store failure names the server ([`RedisBackend::named`]).
#[async_trait]
impl Flows for RedisBackend {
    async fn flow_add(&self, req: AddFlow) -> Result<AddedFlow> {
        self.named(add(self, req).await)
    }

    async fn job_dependencies(&self, req: GetDependencies) -> Result<Option<Dependencies>> {
        self.named(dependencies(self, req).await)
    }
}

/// Checks every node's options (an invalid one refuses the call, nothing written), then
/// writes all nodes in one script.
async fn add(backend: &RedisBackend, req: AddFlow) -> Result<AddedFlow> {
    for node in &req.nodes {
        node.job.options.validate()?;
        if node.job.options.job_id.is_none() {
            return Err(Error::invalid(format!(
                "flow node {:?} on {} has no job id (a flow producer gives every node one)",
                node.job.name, node.queue
            )));
        }
    }
    let Some(first) = req.nodes.first() else {
        return Ok(AddedFlow::default());
    };
    let call = FlowAddCall {
        now: req.now,
        nodes: &req.nodes,
    };
    let answer = reply::array(backend.run(&first.queue, &call).await?, "flow_add")?;
    let states = match answer.as_slice() {
        [Value::Int(0), states] => reply::array(states.clone(), "flow_add")?,
        [Value::Int(-1), key] => {
            return Err(Error::Conflict(format!(
                "job {} already exists: a flow writes new jobs only (nothing was written)",
                reply::string(key, "flow_add")?
            )));
        }
        [Value::Int(-5), key] => {
            return Err(Error::ParentNotFound {
                parent: reply::string(key, "flow_add")?,
            });
        }
        other => {
            return Err(
                RedisStoreError::reply("flow_add", format!("unexpected answer {other:?}")).into(),
            );
        }
    };
    if states.len() != req.nodes.len() {
        return Err(RedisStoreError::reply("flow_add", "one state per node expected").into());
    }
    let nodes =
        req.nodes
            .iter()
            .zip(&states)
            .map(|(node, state)| {
                let suffix = reply::string(state, "flow_add")?;
                let state = Key::state_of_suffix(&suffix).ok_or_else(|| {
                    RedisStoreError::reply("flow_add", format!("unknown state {suffix:?}"))
                })?;
                let id =
                    node.job.options.job_id.clone().ok_or_else(|| {
                        RedisStoreError::reply("flow_add", "a node lost its job id")
                    })?;
                Ok(AddedFlowNode {
                    queue: node.queue.clone(),
                    id,
                    state,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
    Ok(AddedFlow { nodes })
}

async fn dependencies(
    backend: &RedisBackend,
    req: GetDependencies,
) -> StoreResult<Option<Dependencies>> {
    let call = DependenciesCall {
        job_id: req.job_id.as_str(),
    };
    let parts = reply::array(backend.run(&req.queue, &call).await?, "job_dependencies")?;
    let mut parts = parts.into_iter();
    let (Some(processed), Some(pending), Some(ignored), Some(failed)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let processed = keyed_values(processed)?;
    let pending = keys(pending)?;
    let ignored = keyed_values(ignored)?;
    let failed = keys(failed)?;
    let counts = DependencyCounts {
        processed: processed.len() as u64,
        pending: pending.len() as u64,
        ignored: ignored.len() as u64,
        failed: failed.len() as u64,
    };
    let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
    Ok(Some(Dependencies {
        processed: first_pairs(processed, limit),
        pending: first_keys(pending, limit),
        ignored: first_pairs(ignored, limit),
        failed: first_keys(failed, limit),
        counts,
    }))
}

/// A `{child key, value, ...}` reply as pairs; a key that does not parse is kept out (with a
/// warning) but still counted.
fn keyed_values(value: Value) -> StoreResult<Vec<(Option<ChildKey>, String)>> {
    let items = reply::array(value, "job_dependencies")?;
    items
        .chunks(2)
        .map(|pair| match pair {
            [key, value] => Ok((
                child_key(&reply::string(key, "job_dependencies")?),
                reply::string(value, "job_dependencies")?,
            )),
            _ => Err(RedisStoreError::reply(
                "job_dependencies",
                "odd number of key/value items",
            )),
        })
        .collect()
}

fn keys(value: Value) -> StoreResult<Vec<Option<ChildKey>>> {
    reply::array(value, "job_dependencies")?
        .iter()
        .map(|key| Ok(child_key(&reply::string(key, "job_dependencies")?)))
        .collect()
}

fn child_key(text: &str) -> Option<ChildKey> {
    let key = parse_job_key(text);
    if key.is_none() {
        tracing::warn!(
            child = text,
            "a parent names a child key that is not prefix:queue:id; left out"
        );
    }
    key
}

/// The pairs whose key parsed, ordered by key, at most `limit`.
fn first_pairs(entries: Vec<(Option<ChildKey>, String)>, limit: usize) -> Vec<(ChildKey, String)> {
    let mut kept: Vec<(ChildKey, String)> = entries
        .into_iter()
        .filter_map(|(key, value)| key.map(|key| (key, value)))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.truncate(limit);
    kept
}

/// The keys that parsed, ordered, at most `limit`.
fn first_keys(entries: Vec<Option<ChildKey>>, limit: usize) -> Vec<ChildKey> {
    let mut kept: Vec<ChildKey> = entries.into_iter().flatten().collect();
    kept.sort();
    kept.truncate(limit);
    kept
}
