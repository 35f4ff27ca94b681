//! Flows end to end: trees written by a [`FlowProducer`] and run by [`Worker`]s. Children run
//! before their parent, which reads their values; what each [`ChildFailure`] policy does when
//! a child's processor fails; reading a tree back ([`FlowProducer::get_flow`]); removing a
//! parent with its subtree; a job that adds children and waits for them
//! ([`Outcome::WaitForChildren`]), and one that completes too early. Parents live on the case's queue and children on a sibling queue,
//! each queue with a worker of its own. A store without flows skips these cases (and a skip
//! fails).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use oxq_core::worker::BoxError;
use oxq_core::{
    ChildFailure, ChildKey, FlowJob, FlowProducer, FlowQuery, FlowTree, Job, JobId, JobOptions,
    JobState, Outcome, Queue, Worker,
};
use serde_json::{Value, json};

use crate::support::{Gate, Recorder, WAIT, record, wait_for_state, wait_until};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// The failure of every job with id `bad`.
const BAD: &str = "bad child failed";

/// What the cases' processors are.
type Processor =
    Box<dyn Fn(Job<Value>) -> BoxFuture<'static, Result<Value, BoxError>> + Send + Sync>;

/// A producer under the case's prefix; skips the case when the store has no flows.
fn producer(h: &Harness) -> CaseResult<FlowProducer> {
    if h.backend().flows().is_none() {
        return Err(TestError::skip(format!(
            "the {} store has no flows (parent/child jobs)",
            h.store()
        )));
    }
    Ok(FlowProducer::new(h.backend()).prefix(h.queue_ref().prefix.clone())?)
}

/// The sibling queue the children of these cases live on.
fn kids(h: &Harness) -> CaseResult<Queue<Value>> {
    h.other_queue("kids")
}

/// A job of `queue` with custom id `id` (also its name).
fn flow_job(queue: &Queue<Value>, id: &str) -> FlowJob {
    FlowJob::new(queue.name(), id, json!({ "id": id })).options(JobOptions::new().job_id(id))
}

fn key(queue: &Queue<Value>, id: &str) -> String {
    ChildKey::new(queue.queue_ref().clone(), JobId::from(id)).to_string()
}

/// What a parent read: its children's values and ignored failures, by child key.
async fn parent_view(job: &Job<Value>) -> Result<Value, BoxError> {
    let values: BTreeMap<String, Value> = job
        .children_values::<Value>()
        .await?
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    let ignored: BTreeMap<String, String> = job
        .ignored_children_failures()
        .await?
        .into_iter()
        .map(|(key, reason)| (key.to_string(), reason))
        .collect();
    Ok(json!({ "values": values, "ignored": ignored }))
}

/// [`parent_view`] as expected.
fn view(values: &[(String, Value)], ignored: &[(String, &str)]) -> Value {
    let values: BTreeMap<&String, &Value> = values.iter().map(|(k, v)| (k, v)).collect();
    let ignored: BTreeMap<&String, &str> = ignored.iter().map(|(k, v)| (k, *v)).collect();
    json!({ "values": values, "ignored": ignored })
}

/// The processor of every queue of these cases: a job whose id is in `parents` returns
/// [`parent_view`]; `bad` fails with [`BAD`]; any other returns `"<id> done"`, after `gate`
/// when one is given.
fn processor(
    recorder: &Arc<Recorder>,
    parents: &'static [&'static str],
    gate: Option<Arc<Gate>>,
) -> Processor {
    let recorder = recorder.clone();
    Box::new(move |job: Job<Value>| {
        recorder.record(&job);
        let gate = gate.clone();
        Box::pin(async move {
            let id = job.id().as_str();
            if parents.contains(&id) {
                return parent_view(&job).await;
            }
            if id == "bad" {
                return Err(BAD.into());
            }
            if let Some(gate) = gate {
                gate.wait().await;
            }
            Ok(json!(format!("{id} done")))
        })
    })
}

fn start(h: &Harness, queue: &Queue<Value>, processor: Processor) -> Worker {
    Worker::start(queue, h.worker_options(), processor)
}

/// The return value of a completed job, as JSON.
async fn returned(queue: &Queue<Value>, id: &str) -> CaseResult<Value> {
    let record = record(queue, &JobId::from(id)).await?;
    let text = record
        .return_value
        .ok_or_else(|| TestError::msg(format!("job {id} has no return value")))?;
    Ok(serde_json::from_str(&text)?)
}

/// A tree three levels deep over two queues runs bottom up: each parent starts only after its
/// children completed, and reads their return values by child key.
pub async fn a_tree_runs_its_children_first_and_the_parent_reads_their_values(
    h: &Harness,
) -> CaseResult {
    let producer = producer(h)?;
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    let added = producer
        .add(
            flow_job(&parent, "report")
                .child(flow_job(&children, "charge").child(flow_job(&parent, "fraud-check")))
                .child(flow_job(&children, "email")),
        )
        .await?;
    ensure_eq!(added.state, JobState::WaitingChildren, "the root's state");
    ensure_eq!(added.children.len(), 2, "the root's children");
    let recorder = Recorder::new();
    const PARENTS: &[&str] = &["report", "charge"];
    let on_parent = start(h, &parent, processor(&recorder, PARENTS, None));
    let on_children = start(h, &children, processor(&recorder, PARENTS, None));
    wait_for_state(&parent, &JobId::from("report"), JobState::Completed).await?;
    on_parent.close().await?;
    on_children.close().await?;
    let order = recorder.names();
    let at = |name: &str| order.iter().position(|n| n == name);
    ensure!(
        order.len() == 4
            && at("fraud-check") < at("charge")
            && at("charge") < at("report")
            && at("email") < at("report"),
        "jobs ran in the order {order:?}"
    );
    let charge = view(
        &[(key(&parent, "fraud-check"), json!("fraud-check done"))],
        &[],
    );
    ensure_eq!(
        returned(&children, "charge").await?,
        charge,
        "what the middle job read"
    );
    ensure_eq!(
        returned(&parent, "report").await?,
        view(
            &[
                (key(&children, "charge"), charge),
                (key(&children, "email"), json!("email done")),
            ],
            &[]
        ),
        "what the root read"
    );
    Ok(())
}

/// `Wait`: a child failing for good leaves its parent in waiting-children once its sibling
/// completed; the parent never runs.
pub async fn a_failing_child_that_waits_leaves_its_parent_waiting(h: &Harness) -> CaseResult {
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    bad_and_good(h, &parent, &children, ChildFailure::Wait).await?;
    let recorder = Recorder::new();
    let on_parent = start(h, &parent, processor(&recorder, &["p"], None));
    let on_children = start(h, &children, processor(&recorder, &["p"], None));
    wait_for_state(&children, &JobId::from("bad"), JobState::Failed).await?;
    wait_for_state(&children, &JobId::from("good"), JobState::Completed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    ensure_eq!(
        record(&parent, &JobId::from("p")).await?.state,
        JobState::WaitingChildren,
        "the parent"
    );
    ensure!(
        !recorder.names().contains(&"p".to_owned()),
        "the parent ran: {:?}",
        recorder.names()
    );
    Ok(())
}

/// `FailParent`: a child failing for good fails its parent with `child <key> failed`.
pub async fn a_failing_child_that_fails_its_parent_fails_it(h: &Harness) -> CaseResult {
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    bad_and_good(h, &parent, &children, ChildFailure::FailParent).await?;
    let recorder = Recorder::new();
    let on_parent = start(h, &parent, processor(&recorder, &["p"], None));
    let on_children = start(h, &children, processor(&recorder, &["p"], None));
    let failed = wait_for_state(&parent, &JobId::from("p"), JobState::Failed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    let reason = format!("child {} failed", key(&children, "bad"));
    ensure_eq!(
        failed.failed_reason.as_deref(),
        Some(reason.as_str()),
        "the parent's failure"
    );
    Ok(())
}

/// `Ignore`: the parent runs once its other child completed, and reads the failure.
pub async fn a_failing_child_that_is_ignored_lets_its_parent_read_the_failure(
    h: &Harness,
) -> CaseResult {
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    bad_and_good(h, &parent, &children, ChildFailure::Ignore).await?;
    let recorder = Recorder::new();
    let on_parent = start(h, &parent, processor(&recorder, &["p"], None));
    let on_children = start(h, &children, processor(&recorder, &["p"], None));
    wait_for_state(&parent, &JobId::from("p"), JobState::Completed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    ensure_eq!(
        returned(&parent, "p").await?,
        view(
            &[(key(&children, "good"), json!("good done"))],
            &[(key(&children, "bad"), BAD)]
        ),
        "what the parent read"
    );
    Ok(())
}

/// `Remove`: the parent runs once its other child completed, and sees nothing of the failed
/// one.
pub async fn a_failing_child_that_is_removed_lets_its_parent_run_without_it(
    h: &Harness,
) -> CaseResult {
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    bad_and_good(h, &parent, &children, ChildFailure::Remove).await?;
    let recorder = Recorder::new();
    let on_parent = start(h, &parent, processor(&recorder, &["p"], None));
    let on_children = start(h, &children, processor(&recorder, &["p"], None));
    wait_for_state(&parent, &JobId::from("p"), JobState::Completed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    ensure_eq!(
        returned(&parent, "p").await?,
        view(&[(key(&children, "good"), json!("good done"))], &[]),
        "what the parent read"
    );
    Ok(())
}

/// `ContinueParent`: the parent runs as soon as the child failed, while its other child is
/// still running (held by a gate), and reads the failure; it completes once that child is done.
pub async fn a_failing_child_that_continues_its_parent_runs_it_at_once(h: &Harness) -> CaseResult {
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    bad_and_good(h, &parent, &children, ChildFailure::ContinueParent).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let seen: Arc<std::sync::Mutex<Option<(u64, Value)>>> = Arc::default();
    let on_parent = Worker::start(&parent, h.worker_options(), {
        let (recorder, seen) = (recorder.clone(), seen.clone());
        move |job: Job<Value>| {
            recorder.record(&job);
            let seen = seen.clone();
            async move {
                let pending = job.dependencies(10).await?.counts.pending;
                let first = parent_view(&job).await?;
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((pending, first));
                // The parent may complete only once its other child is done.
                wait_until("the other child to complete", WAIT, || async {
                    Ok(job.dependencies(10).await?.counts.pending == 0)
                })
                .await
                .map_err(|e| BoxError::from(e.to_string()))?;
                parent_view(&job).await
            }
        }
    });
    let on_children = start(
        h,
        &children,
        processor(&recorder, &["p"], Some(gate.clone())),
    );
    wait_until("the parent to run", WAIT, || async {
        Ok(recorder.names().contains(&"p".to_owned()))
    })
    .await?;
    gate.open();
    wait_for_state(&parent, &JobId::from("p"), JobState::Completed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    let first = seen.lock().unwrap_or_else(|p| p.into_inner()).take();
    let ignored = [(key(&children, "bad"), BAD)];
    ensure_eq!(
        first,
        Some((1, view(&[], &ignored))),
        "(pending children, what it read) when the parent started"
    );
    ensure_eq!(
        returned(&parent, "p").await?,
        view(&[(key(&children, "good"), json!("good done"))], &ignored),
        "what the parent read at the end"
    );
    Ok(())
}

/// Writes parent `p` (on the case's queue) with children `bad` (with `policy`) and `good`
/// (on the children's queue).
async fn bad_and_good(
    h: &Harness,
    parent: &Queue<Value>,
    children: &Queue<Value>,
    policy: ChildFailure,
) -> CaseResult {
    producer(h)?
        .add(
            flow_job(parent, "p")
                .child(flow_job(children, "bad").on_failure(policy))
                .child(flow_job(children, "good")),
        )
        .await?;
    Ok(())
}

/// The ids of a read tree, depth first: `id(child, ...)`.
fn shape(tree: &FlowTree) -> String {
    if tree.children.is_empty() {
        return tree.job.id.to_string();
    }
    let children: Vec<String> = tree.children.iter().map(shape).collect();
    format!("{}({})", tree.job.id, children.join(", "))
}

/// `get_flow` reads a tree back, each job's children by key, down to the depth asked and at
/// most `max_children` per job; an unknown root reads as `None`.
pub async fn get_flow_reads_a_tree_to_the_depth_and_width_asked(h: &Harness) -> CaseResult {
    let producer = producer(h)?;
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    producer
        .add(
            flow_job(&parent, "root")
                .child(flow_job(&children, "a"))
                .child(
                    flow_job(&children, "b")
                        .child(flow_job(&parent, "b1"))
                        .child(flow_job(&parent, "b2")),
                )
                .child(flow_job(&children, "c")),
        )
        .await?;
    let query = || FlowQuery::new(parent.queue_ref().clone(), JobId::from("root"));
    let read = |query: FlowQuery| {
        let producer = producer.clone();
        async move {
            producer
                .get_flow(query)
                .await?
                .ok_or_else(|| TestError::msg("the tree's root was not found"))
        }
    };
    let whole = read(query()).await?;
    ensure_eq!(shape(&whole), "root(a, b(b1, b2), c)", "the whole tree");
    ensure_eq!(
        whole.children[1].queue,
        children.queue_ref().clone(),
        "a child's queue"
    );
    ensure_eq!(
        whole.children[1].children[0].job.state,
        JobState::Waiting,
        "a leaf's state"
    );
    ensure_eq!(
        shape(&read(query().depth(1)).await?),
        "root(a, b, c)",
        "one level deep"
    );
    ensure_eq!(
        shape(&read(query().max_children(2)).await?),
        "root(a, b(b1, b2))",
        "two children per job"
    );
    let unknown = producer
        .get_flow(FlowQuery::new(
            parent.queue_ref().clone(),
            JobId::from("nope"),
        ))
        .await?;
    ensure!(unknown.is_none(), "an unknown root was read: {unknown:?}");
    Ok(())
}

/// Removing a parent through its queue removes its whole subtree, on both queues.
pub async fn removing_a_parent_removes_its_subtree(h: &Harness) -> CaseResult {
    let producer = producer(h)?;
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    producer
        .add(
            flow_job(&parent, "root")
                .child(flow_job(&children, "a").child(flow_job(&parent, "a1")))
                .child(flow_job(&children, "b")),
        )
        .await?;
    ensure!(
        parent.remove(&JobId::from("root")).await?,
        "removing the root answered false"
    );
    for (queue, id) in [
        (&parent, "root"),
        (&children, "a"),
        (&parent, "a1"),
        (&children, "b"),
    ] {
        ensure!(
            queue.get_record(&JobId::from(id)).await?.is_none(),
            "job {id} survived the removal of the root"
        );
    }
    ensure_eq!(
        parent.counts().await?.total(),
        0,
        "jobs on the parent's queue"
    );
    ensure_eq!(
        children.counts().await?.total(),
        0,
        "jobs on the children's queue"
    );
    Ok(())
}

/// A job that adds children of its own (`JobOptions::parent(job.as_parent())`) and returns
/// `Outcome::WaitForChildren` runs again once they completed, reads their values, and
/// completes; the wait used no attempt.
pub async fn a_job_that_adds_children_and_waits_runs_again_once_they_are_done(
    h: &Harness,
) -> CaseResult {
    producer(h)?;
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    parent
        .add("p", json!({}), JobOptions::new().job_id("p").attempts(3))
        .await?;
    let recorder = Recorder::new();
    let on_parent = Worker::start(&parent, h.worker_options(), {
        let (recorder, children) = (recorder.clone(), children.clone());
        move |job: Job<Value>| {
            recorder.record(&job);
            let children = children.clone();
            async move {
                let deps = job.dependencies(10).await?;
                if deps.counts.processed == 0 && deps.counts.pending == 0 {
                    for id in ["c1", "c2"] {
                        let options = JobOptions::new().job_id(id).parent(job.as_parent());
                        children.add(id, json!({ "id": id }), options).await?;
                    }
                    return Ok::<_, BoxError>(Outcome::WaitForChildren);
                }
                Ok(Outcome::Complete(parent_view(&job).await?))
            }
        }
    });
    let on_children = start(h, &children, processor(&recorder, &[], None));
    wait_for_state(&parent, &JobId::from("p"), JobState::Completed).await?;
    on_children.close().await?;
    on_parent.close().await?;
    let values = [
        (key(&children, "c1"), json!("c1 done")),
        (key(&children, "c2"), json!("c2 done")),
    ];
    ensure_eq!(
        returned(&parent, "p").await?,
        view(&values, &[]),
        "what the parent read when it ran again"
    );
    let runs = recorder.names().iter().filter(|n| *n == "p").count();
    ensure_eq!(
        runs,
        2,
        "runs of the parent (before and after its children)"
    );
    let record = record(&parent, &JobId::from("p")).await?;
    ensure_eq!(
        record.attempts_made,
        1,
        "attempts made (the wait used none)"
    );
    Ok(())
}

/// A parent that completes while a child it added is still pending is not completed: the
/// store refuses and the worker fails the attempt with the reason (here its last attempt).
pub async fn completing_while_children_are_pending_fails_the_attempt(h: &Harness) -> CaseResult {
    producer(h)?;
    let (parent, children) = (h.queue::<Value>(), kids(h)?);
    parent
        .add("p", json!({}), JobOptions::new().job_id("p"))
        .await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let on_parent = Worker::start(&parent, h.worker_options(), {
        let children = children.clone();
        move |job: Job<Value>| {
            let children = children.clone();
            async move {
                let options = JobOptions::new().job_id("slow").parent(job.as_parent());
                children.add("slow", json!({}), options).await?;
                Ok::<_, BoxError>(json!("done too early"))
            }
        }
    });
    let on_children = start(h, &children, processor(&recorder, &[], Some(gate.clone())));
    wait_for_state(&parent, &JobId::from("p"), JobState::Failed).await?;
    gate.open();
    on_children.close().await?;
    on_parent.close().await?;
    let record = record(&parent, &JobId::from("p")).await?;
    let reason = record.failed_reason.unwrap_or_default();
    ensure!(
        reason.contains("children are not finished"),
        "failed reason: {reason:?}"
    );
    ensure_eq!(
        record.return_value,
        None,
        "return value of the refused completion"
    );
    Ok(())
}
