//! [`FlowJob`]: one node of a tree a [`FlowProducer`](super::FlowProducer) writes, and the
//! flattening of trees into the pre-ordered nodes a store writes in one step.

use std::collections::HashSet;

use serde::Serialize;

use crate::backend::{FlowNode, NewJob};
use crate::error::{Error, Result};
use crate::ids::{JobId, QueueRef};
use crate::options::JobOptions;

use super::parent::{ChildFailure, ParentLink};

/// A job and the children it waits for.
///
/// ```
/// # use oxq_core::flow::{ChildFailure, FlowJob};
/// let order = FlowJob::new("orders", "report", serde_json::json!({"order": 7}))
///     .child(FlowJob::new("payments", "charge", serde_json::json!({"cents": 1250})))
///     .child(
///         FlowJob::new("emails", "receipt", serde_json::json!({}))
///             .on_failure(ChildFailure::Ignore),
///     );
/// assert_eq!(order.children().len(), 2);
/// ```
#[derive(Debug)]
pub struct FlowJob {
    queue: String,
    prefix: Option<String>,
    name: String,
    /// The payload as JSON text, or why it could not be encoded (reported by `add`).
    data: std::result::Result<String, String>,
    options: JobOptions,
    on_failure: ChildFailure,
    children: Vec<FlowJob>,
}

impl FlowJob {
    /// A job `name` on queue `queue` (under the producer's prefix) with payload `data`.
    pub fn new(queue: impl Into<String>, name: impl Into<String>, data: impl Serialize) -> Self {
        Self {
            queue: queue.into(),
            prefix: None,
            name: name.into(),
            data: serde_json::to_string(&data).map_err(|e| e.to_string()),
            options: JobOptions::default(),
            on_failure: ChildFailure::default(),
            children: Vec::new(),
        }
    }

    /// Puts this job's queue under `prefix` instead of the producer's.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The job's options. A custom `job_id` is kept; without one the producer picks a UUID.
    /// `parent` may be set on the root only, to attach the tree under an existing job.
    pub fn options(mut self, options: JobOptions) -> Self {
        self.options = options;
        self
    }

    /// What this job's final failure does to its parent (ignored on a root without a parent).
    pub fn on_failure(mut self, policy: ChildFailure) -> Self {
        self.on_failure = policy;
        self
    }

    pub fn child(mut self, child: FlowJob) -> Self {
        self.children.push(child);
        self
    }

    pub fn children(&self) -> &[FlowJob] {
        &self.children
    }
}

/// Trees flattened for the store, each parent before its children, with the shape to rebuild
/// the answer.
#[derive(Debug)]
pub(crate) struct Flattened {
    pub nodes: Vec<FlowNode>,
    /// Per node (same order), the indexes of its children in `nodes`.
    pub children: Vec<Vec<usize>>,
    /// The index of each tree's root in `nodes`.
    pub roots: Vec<usize>,
}

/// Limits and defaults a producer applies while flattening.
pub(crate) struct FlattenRules<'a> {
    pub prefix: &'a str,
    pub max_payload_bytes: usize,
}

pub(crate) fn flatten(trees: Vec<FlowJob>, rules: &FlattenRules<'_>) -> Result<Flattened> {
    let mut out = Flattened {
        nodes: Vec::new(),
        children: Vec::new(),
        roots: Vec::new(),
    };
    let mut seen = HashSet::new();
    for tree in trees {
        let root = push_node(tree, None, rules, &mut out, &mut seen)?;
        out.roots.push(root);
    }
    Ok(out)
}

fn push_node(
    job: FlowJob,
    parent: Option<ParentLink>,
    rules: &FlattenRules<'_>,
    out: &mut Flattened,
    seen: &mut HashSet<(QueueRef, JobId)>,
) -> Result<usize> {
    let FlowJob {
        queue,
        prefix,
        name,
        data,
        mut options,
        on_failure,
        children,
    } = job;
    let queue = QueueRef::with_prefix(prefix.as_deref().unwrap_or(rules.prefix), queue)?;
    let data = data.map_err(|e| {
        Error::invalid(format!(
            "job {name:?} on {queue}: cannot encode data as JSON: {e}"
        ))
    })?;
    if data.len() > rules.max_payload_bytes {
        return Err(Error::PayloadTooLarge {
            size: data.len(),
            limit: rules.max_payload_bytes,
        });
    }
    match (parent, &options.parent) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(format!(
                "job {name:?} on {queue} is a child in the tree: set its failure policy with \
                 FlowJob::on_failure, not options.parent"
            )));
        }
        (Some(link), None) => options.parent = Some(link.on_failure(on_failure)),
        (None, _) => {}
    }
    if options.deduplication.is_some() {
        return Err(Error::invalid(format!(
            "job {name:?} on {queue} is in a flow: deduplication is for plain adds only (BullMQ \
             refuses it on a parent and on a child)"
        )));
    }
    options.validate()?;
    let id = match &options.job_id {
        Some(id) => id.clone(),
        None => JobId(uuid::Uuid::new_v4().to_string()),
    };
    if !seen.insert((queue.clone(), id.clone())) {
        return Err(Error::invalid(format!(
            "job id {id} appears twice on {queue} in the flow"
        )));
    }
    options.job_id = Some(id.clone());
    let index = out.nodes.len();
    out.nodes.push(FlowNode {
        queue: queue.clone(),
        job: NewJob {
            name,
            data,
            options,
        },
        children: u32::try_from(children.len())
            .map_err(|_| Error::invalid("a flow node has too many children"))?,
    });
    out.children.push(Vec::new());
    for child in children {
        let link = ParentLink::new(queue.clone(), id.clone());
        let child_index = push_node(child, Some(link), rules, out, seen)?;
        out.children[index].push(child_index);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> FlattenRules<'static> {
        FlattenRules {
            prefix: "bull",
            max_payload_bytes: 1024,
        }
    }

    #[test]
    fn parents_come_before_children_and_children_name_their_parent() {
        let tree = FlowJob::new("a", "root", 1)
            .options(JobOptions::new().job_id("root"))
            .child(
                FlowJob::new("b", "mid", 2)
                    .on_failure(ChildFailure::FailParent)
                    .child(FlowJob::new("c", "leaf", 3)),
            );
        let flat = flatten(vec![tree], &rules()).expect("valid tree");
        let names: Vec<_> = flat.nodes.iter().map(|n| n.job.name.as_str()).collect();
        assert_eq!(names, ["root", "mid", "leaf"]);
        assert_eq!(flat.nodes[0].children, 1);
        assert_eq!(flat.nodes[2].children, 0);
        let mid_parent = flat.nodes[1]
            .job
            .options
            .parent
            .clone()
            .expect("mid has a parent");
        assert_eq!(mid_parent.id, JobId("root".into()));
        assert_eq!(mid_parent.queue.name, "a");
        assert_eq!(mid_parent.on_failure, ChildFailure::FailParent);
        let leaf_parent = flat.nodes[2]
            .job
            .options
            .parent
            .clone()
            .expect("leaf has a parent");
        assert_eq!(Some(leaf_parent.id), flat.nodes[1].job.options.job_id);
        assert_eq!(flat.children, vec![vec![1], vec![2], vec![]]);
    }

    #[test]
    fn a_child_with_its_own_parent_option_is_refused() {
        let other = ParentLink::new(QueueRef::new("x").expect("queue"), JobId("p".into()));
        let tree = FlowJob::new("a", "root", 1)
            .child(FlowJob::new("b", "kid", 2).options(JobOptions::new().parent(other)));
        let err = flatten(vec![tree], &rules()).expect_err("refused");
        assert!(err.to_string().contains("FlowJob::on_failure"), "{err}");
    }

    #[test]
    fn a_repeated_custom_id_on_one_queue_is_refused() {
        let tree = FlowJob::new("a", "root", 1)
            .child(FlowJob::new("b", "x", 1).options(JobOptions::new().job_id("same")))
            .child(FlowJob::new("b", "y", 1).options(JobOptions::new().job_id("same")));
        let err = flatten(vec![tree], &rules()).expect_err("refused");
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn oversized_payloads_and_bad_queue_names_are_refused() {
        let big = "x".repeat(2000);
        assert!(matches!(
            flatten(vec![FlowJob::new("a", "big", big)], &rules()),
            Err(Error::PayloadTooLarge { .. })
        ));
        assert!(flatten(vec![FlowJob::new("a:b", "n", 1)], &rules()).is_err());
    }
}
