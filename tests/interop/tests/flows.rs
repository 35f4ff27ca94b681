//! Flows (parent/child jobs) across Node BullMQ 6 and oxq on one Redis, both ways:
//!
//! * trees Node's `FlowProducer` writes (each of the four failure policies and the default,
//!   parents on another queue than their children, three deep across three queues) run on oxq
//!   workers, and Node's `getChildrenValues` / `getDependencies` agree with oxq's
//!   `children_values` / `dependencies` before and after the parents run;
//! * a tree oxq's `FlowProducer` writes is read back by Node's `getFlow` (same shape, ids,
//!   queues and states as oxq's `get_flow`, which also reads Node's trees as `getFlow` does)
//!   and run by Node workers, whose parents read what oxq recorded of their children;
//! * a job that adds children and waits for them (oxq's `Outcome::WaitForChildren`, Node's
//!   `moveToWaitingChildren`) runs again once the other side's workers have run them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use oxq::backend::Dependencies;
use oxq::{
    BoxError, ChildFailure, FlowJob, FlowProducer, FlowQuery, FlowTree, Job, JobId, JobOptions,
    JobRecord, JobState, Outcome, Queue, Worker, WorkerOptions,
};
use oxq_interop::{NodeProcess, Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

type Check = oxq_interop::Result<()>;

fn fail(message: impl Into<String>) -> oxq_interop::Error {
    oxq_interop::Error::new(message)
}

/// `prefix:queue:id`, as a parent names a child.
fn child_key(scene: &Scene, queue: &str, id: &str) -> String {
    format!("{}:{queue}:{id}", scene.prefix())
}

/// The ids FlowProducer answered for a tree, by job name (names are unique in these trees).
fn ids_by_name(node: &Value, into: &mut HashMap<String, (String, String)>) {
    let (Some(name), Some(queue), Some(id)) = (
        node["name"].as_str(),
        node["queue"].as_str(),
        node["id"].as_str(),
    ) else {
        return;
    };
    into.insert(name.to_owned(), (queue.to_owned(), id.to_owned()));
    for child in node["children"].as_array().into_iter().flatten() {
        ids_by_name(child, into);
    }
}

/// Adds `trees` with Node's `FlowProducer.addBulk`; answers (queue, id) by job name.
async fn node_add_flows(
    scene: &Scene,
    trees: Value,
) -> oxq_interop::Result<HashMap<String, (String, String)>> {
    let lines = scene
        .node_run("flow_tree.mjs", json!({ "trees": trees }))
        .await?;
    let added = lines
        .iter()
        .find(|l| event_is(l, "flows"))
        .ok_or_else(|| fail(format!("flow_tree.mjs printed no flows: {lines:?}")))?;
    let mut ids = HashMap::new();
    for tree in added["trees"].as_array().into_iter().flatten() {
        ids_by_name(tree, &mut ids);
    }
    Ok(ids)
}

/// Node's view of jobs (`flow_read.mjs`), by (queue, id).
async fn node_read_jobs(
    scene: &Scene,
    jobs: &[(&str, &str)],
) -> oxq_interop::Result<HashMap<(String, String), Value>> {
    let jobs: Vec<Value> = jobs
        .iter()
        .map(|(queue, id)| json!({"queue": queue, "id": id}))
        .collect();
    let lines = scene
        .node_run("flow_read.mjs", json!({ "jobs": jobs }))
        .await?;
    let mut read = HashMap::new();
    for line in lines.into_iter().filter(|l| event_is(l, "job")) {
        let key = (
            line["queue"].as_str().unwrap_or_default().to_owned(),
            line["id"].as_str().unwrap_or_default().to_owned(),
        );
        read.insert(key, line);
    }
    Ok(read)
}

/// Node's `getFlow` of the tree rooted at `queue`/`id`.
async fn node_get_flow(scene: &Scene, queue: &str, id: &str) -> oxq_interop::Result<Value> {
    let lines = scene
        .node_run(
            "flow_read.mjs",
            json!({"flows": [{"queue": queue, "id": id}]}),
        )
        .await?;
    lines
        .into_iter()
        .find(|l| event_is(l, "flow"))
        .map(|l| l["tree"].clone())
        .ok_or_else(|| fail("flow_read.mjs printed no flow"))
}

/// The job `id` of `queue` as oxq's handle (which reads its dependencies).
async fn oxq_job(queue: &Queue<Value>, id: &str) -> oxq_interop::Result<Job<Value>> {
    queue
        .get_job(&JobId::from(id))
        .await?
        .ok_or_else(|| fail(format!("oxq finds no job {id} on {}", queue.name())))
}

async fn state_of(queue: &Queue<Value>, id: &str) -> oxq_interop::Result<JobState> {
    Ok(oxq_job(queue, id).await?.record().state)
}

async fn record_of(queue: &Queue<Value>, id: &str) -> oxq_interop::Result<JobRecord> {
    Ok(oxq_job(queue, id).await?.record().clone())
}

/// Node's `getDependencies()`, `getDependenciesCount()` and `getChildrenValues()` of a parent
/// (one `flow_read.mjs` line) against oxq's `dependencies` and `children_values`.
async fn assert_dependencies_agree(node: &Value, parent: &Job<Value>) -> Check {
    let what = format!("job {}", parent.id());
    let oxq: Dependencies = parent.dependencies(u64::MAX).await?;
    let deps = &node["dependencies"];

    let node_processed: BTreeMap<String, Value> = object_of(&deps["processed"]);
    let oxq_processed: BTreeMap<String, Value> = oxq
        .processed
        .iter()
        .map(|(key, json)| {
            (
                key.to_string(),
                serde_json::from_str(json).unwrap_or(Value::Null),
            )
        })
        .collect();
    same(&what, "processed", &node_processed, &oxq_processed)?;
    let node_pending = strings_of(&deps["unprocessed"]);
    let oxq_pending: BTreeSet<String> = oxq.pending.iter().map(ToString::to_string).collect();
    same(&what, "pending (unprocessed)", &node_pending, &oxq_pending)?;
    let node_ignored: BTreeMap<String, Value> = object_of(&deps["ignored"]);
    let oxq_ignored: BTreeMap<String, Value> = oxq
        .ignored
        .iter()
        .map(|(key, reason)| (key.to_string(), Value::String(reason.clone())))
        .collect();
    same(&what, "ignored", &node_ignored, &oxq_ignored)?;
    let node_failed = strings_of(&deps["failed"]);
    let oxq_failed: BTreeSet<String> = oxq.failed.iter().map(ToString::to_string).collect();
    same(&what, "failed", &node_failed, &oxq_failed)?;

    let counts = &node["counts"];
    let node_counts = [
        counts["processed"].as_u64(),
        counts["unprocessed"].as_u64(),
        counts["ignored"].as_u64(),
        counts["failed"].as_u64(),
    ];
    let c = oxq.counts;
    let oxq_counts = [
        Some(c.processed),
        Some(c.pending),
        Some(c.ignored),
        Some(c.failed),
    ];
    same(&what, "counts", &node_counts, &oxq_counts)?;

    let node_values: BTreeMap<String, Value> = object_of(&node["childrenValues"]);
    let oxq_values: BTreeMap<String, Value> = parent
        .children_values::<Value>()
        .await?
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    same(&what, "children values", &node_values, &oxq_values)
}

fn object_of(value: &Value) -> BTreeMap<String, Value> {
    value
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn strings_of(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, part: &str, node: &T, oxq: &T) -> Check {
    if node == oxq {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: Node and oxq disagree on {part}\n  node: {node:?}\n  oxq:  {oxq:?}"
        )))
    }
}

/// An oxq worker whose jobs fail for good when their data has `failAlways`, and otherwise
/// complete with their name, what they read of their children and the children's ignored
/// failures.
fn oxq_flow_worker(queue: &Queue<Value>) -> Worker {
    Worker::start(
        queue,
        WorkerOptions::new().concurrency(4),
        |job: Job<Value>| async move {
            if let Some(reason) = job.data().get("failAlways").and_then(Value::as_str) {
                return Outcome::fail_for_good(BoxError::from(reason.to_owned()));
            }
            let read = async {
                let children: BTreeMap<String, Value> = job
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
                Ok::<_, oxq::Error>(json!({
                    "by": "oxq",
                    "name": job.name(),
                    "children": children,
                    "ignored": ignored,
                }))
            };
            match read.await {
                Ok(value) => Outcome::Complete(value),
                Err(e) => Outcome::fail(e),
            }
        },
    )
}

/// The four policies and the default, as Node's child options spell them.
const POLICIES: [(&str, Option<&str>); 5] = [
    ("wait", None),
    ("fpof", Some("failParentOnFailure")),
    ("idof", Some("ignoreDependencyOnFailure")),
    ("rdof", Some("removeDependencyOnFailure")),
    ("cpof", Some("continueParentOnFailure")),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_trees_under_each_failure_policy_run_on_oxq_workers() {
    let scene = Scene::start("parents").await.expect("scene");
    let kids = scene.sibling("kids").expect("kids queue");
    // Per policy a parent on `parents` with two children on `kids`: one completes, one fails.
    let trees: Vec<Value> = POLICIES
        .iter()
        .map(|(policy, option)| {
            let mut child_opts = serde_json::Map::new();
            if let Some(option) = option {
                child_opts.insert((*option).to_owned(), json!(true));
            }
            let child = |id: String, data: Value| {
                let mut opts = child_opts.clone();
                opts.insert("jobId".into(), json!(id));
                json!({"name": id, "queueName": "kids", "data": data, "opts": opts})
            };
            json!({
                "name": format!("parent-{policy}"),
                "queueName": "parents",
                "data": {},
                "opts": {"jobId": format!("parent-{policy}")},
                "children": [
                    child(format!("{policy}-ok"), json!({})),
                    child(format!("{policy}-bad"), json!({"failAlways": format!("bad {policy}")})),
                ],
            })
        })
        .collect();
    node_add_flows(&scene, json!(trees))
        .await
        .expect("node adds the trees");
    scene.assert_counts_agree().await.expect("parents' counts");
    assert_eq!(
        scene.queue.counts().await.expect("counts").waiting_children,
        5,
        "every parent waits for its children"
    );

    // The children run first, alone: what each policy did is then settled before any parent
    // runs.
    let kid_worker = oxq_flow_worker(&kids.queue);
    wait_until(WAIT, "the ten children to finish", || async {
        let c = kids.queue.counts().await?;
        Ok(c.completed + c.failed == 10)
    })
    .await
    .expect("children finish");
    kid_worker
        .close()
        .await
        .expect("close the children's worker");

    let parent_ids: Vec<String> = POLICIES
        .iter()
        .map(|(p, _)| format!("parent-{p}"))
        .collect();
    let jobs: Vec<(&str, &str)> = parent_ids
        .iter()
        .map(|id| ("parents", id.as_str()))
        .collect();
    let node = node_read_jobs(&scene, &jobs).await.expect("node reads");
    for id in &parent_ids {
        let line = &node[&("parents".to_owned(), id.clone())];
        let parent = oxq_job(&scene.queue, id).await.expect("oxq reads");
        assert_dependencies_agree(line, &parent)
            .await
            .expect("dependencies once the children are done");
        assert_eq!(
            line["state"].as_str(),
            Some(parent.record().state.as_str()),
            "{id}: Node's and oxq's state"
        );
    }
    let key = |id: &str| child_key(&scene, "kids", id);
    let wait_line = &node[&("parents".to_owned(), "parent-wait".to_owned())];
    assert_eq!(
        wait_line["state"], "waiting-children",
        "default: still waiting"
    );
    assert_eq!(
        wait_line["dependencies"]["unprocessed"],
        json!([key("wait-bad")])
    );
    let fpof = &node[&("parents".to_owned(), "parent-fpof".to_owned())];
    assert_eq!(fpof["state"], "waiting", "fpof: released to fail");
    let reason = format!("child {} failed", key("fpof-bad"));
    assert_eq!(fpof["deferredFailure"].as_str(), Some(reason.as_str()));
    assert_eq!(fpof["dependencies"]["failed"], json!([key("fpof-bad")]));
    let idof = &node[&("parents".to_owned(), "parent-idof".to_owned())];
    assert_eq!(idof["ignored"], json!({ key("idof-bad"): "bad idof" }));
    let rdof = &node[&("parents".to_owned(), "parent-rdof".to_owned())];
    assert_eq!(
        rdof["counts"],
        json!({"processed": 1, "unprocessed": 0, "ignored": 0, "failed": 0})
    );
    let cpof = &node[&("parents".to_owned(), "parent-cpof".to_owned())];
    assert_eq!(cpof["ignored"], json!({ key("cpof-bad"): "bad cpof" }));

    let parent_worker = oxq_flow_worker(&scene.queue);
    wait_until(WAIT, "four parents to finish", || async {
        let c = scene.queue.counts().await?;
        Ok(c.completed + c.failed == 4)
    })
    .await
    .expect("parents finish");
    parent_worker
        .close()
        .await
        .expect("close the parents' worker");
    scene
        .assert_counts_agree()
        .await
        .expect("parents' counts at rest");

    let failed = scene
        .queue
        .get_record(&JobId::from("parent-fpof"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.failed_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(
        state_of(&scene.queue, "parent-wait").await.expect("state"),
        JobState::WaitingChildren
    );
    for policy in ["idof", "rdof", "cpof"] {
        let id = format!("parent-{policy}");
        let record = scene
            .queue
            .get_record(&JobId::from(id.as_str()))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(record.state, JobState::Completed, "{id}");
        let returned: Value =
            serde_json::from_str(record.return_value.as_deref().unwrap_or("null")).expect("json");
        let ok = key(&format!("{policy}-ok"));
        assert_eq!(
            returned["children"],
            json!({ ok: {"by": "oxq", "name": format!("{policy}-ok"), "children": {}, "ignored": {}} }),
            "{id}: what the parent read of its children"
        );
        let ignored = if policy == "rdof" {
            json!({})
        } else {
            json!({ key(&format!("{policy}-bad")): format!("bad {policy}") })
        };
        assert_eq!(returned["ignored"], ignored, "{id}: ignored failures");
    }
    let node = node_read_jobs(&scene, &jobs)
        .await
        .expect("node reads again");
    for id in &parent_ids {
        let parent = oxq_job(&scene.queue, id).await.expect("oxq reads");
        assert_dependencies_agree(&node[&("parents".to_owned(), id.clone())], &parent)
            .await
            .expect("dependencies once the parents ran");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_tree_three_deep_across_three_queues_runs_on_oxq_workers() {
    let scene = Scene::start("top").await.expect("scene");
    let mid = scene.sibling("mid").expect("mid queue");
    let leaf = scene.sibling("leaf").expect("leaf queue");
    let ids = node_add_flows(
        &scene,
        json!([{
            "name": "root", "queueName": "top", "data": {},
            "children": [{
                "name": "middle", "queueName": "mid", "data": {},
                "children": [
                    {"name": "leaf-1", "queueName": "leaf", "data": {}},
                    {"name": "leaf-2", "queueName": "leaf", "data": {}}
                ]
            }]
        }]),
    )
    .await
    .expect("node adds the tree");
    let id = |name: &str| ids[name].1.clone();
    // oxq's get_flow reads Node's tree as Node's getFlow does
    let node_tree = node_get_flow(&scene, "top", &id("root"))
        .await
        .expect("node getFlow");
    let oxq_tree = FlowProducer::new(scene.backend())
        .prefix(scene.prefix())
        .expect("prefix")
        .get_flow(FlowQuery::new(
            scene.queue.queue_ref().clone(),
            JobId::from(id("root").as_str()),
        ))
        .await
        .expect("oxq get_flow")
        .expect("the tree exists");
    let shape = oxq_shape(&oxq_tree);
    assert_eq!(
        node_shape(&node_tree),
        shape,
        "Node's getFlow and oxq's get_flow"
    );
    assert_eq!(shape.children.len(), 1, "{shape:?}");
    assert_eq!(shape.children[0].children.len(), 2, "{shape:?}");
    let workers: Vec<Worker> = [&scene.queue, &mid.queue, &leaf.queue]
        .into_iter()
        .map(oxq_flow_worker)
        .collect();
    wait_until(WAIT, "the root to complete", || async {
        Ok(state_of(&scene.queue, &id("root")).await? == JobState::Completed)
    })
    .await
    .expect("root completes");
    for worker in workers {
        worker.close().await.expect("close a worker");
    }

    // each parent ran after its children had finished
    let root = record_of(&scene.queue, &id("root")).await.expect("root");
    let middle = record_of(&mid.queue, &id("middle")).await.expect("middle");
    for name in ["leaf-1", "leaf-2"] {
        let l = record_of(&leaf.queue, &id(name)).await.expect("leaf");
        assert!(
            l.finished_on <= middle.processed_on,
            "{name} finished at {:?}, the middle started at {:?}",
            l.finished_on,
            middle.processed_on
        );
    }
    assert!(middle.finished_on <= root.processed_on);

    let root_value: Value =
        serde_json::from_str(root.return_value.as_deref().unwrap_or("null")).expect("json");
    let middle_value: Value =
        serde_json::from_str(middle.return_value.as_deref().unwrap_or("null")).expect("json");
    assert_eq!(
        root_value["children"],
        json!({ child_key(&scene, "mid", &id("middle")): middle_value.clone() })
    );
    let leaf_keys: BTreeSet<String> = middle_value["children"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let expected: BTreeSet<String> = ["leaf-1", "leaf-2"]
        .iter()
        .map(|name| child_key(&scene, "leaf", &id(name)))
        .collect();
    assert_eq!(leaf_keys, expected, "the middle job read both leaves");

    let root_id = id("root");
    let middle_id = id("middle");
    let node = node_read_jobs(&scene, &[("top", &root_id), ("mid", &middle_id)])
        .await
        .expect("node reads");
    assert_dependencies_agree(
        &node[&("top".to_owned(), root_id.clone())],
        &oxq_job(&scene.queue, &root_id).await.expect("root"),
    )
    .await
    .expect("root's dependencies");
    assert_dependencies_agree(
        &node[&("mid".to_owned(), middle_id.clone())],
        &oxq_job(&mid.queue, &middle_id).await.expect("middle"),
    )
    .await
    .expect("middle's dependencies");
}

/// One node of a tree as Node's `getFlow` (via `flow_read.mjs`) describes it, reduced to
/// (queue, id, name, state, children).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    queue: String,
    id: String,
    name: String,
    state: String,
    children: Vec<Shape>,
}

fn node_shape(node: &Value) -> Shape {
    let mut children: Vec<Shape> = node["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(node_shape)
        .collect();
    children.sort();
    Shape {
        queue: node["queue"].as_str().unwrap_or_default().to_owned(),
        id: node["id"].as_str().unwrap_or_default().to_owned(),
        name: node["name"].as_str().unwrap_or_default().to_owned(),
        state: node["state"].as_str().unwrap_or_default().to_owned(),
        children,
    }
}

fn oxq_shape(tree: &FlowTree) -> Shape {
    let mut children: Vec<Shape> = tree.children.iter().map(oxq_shape).collect();
    children.sort();
    Shape {
        queue: tree.queue.name.clone(),
        id: tree.job.id.to_string(),
        name: tree.job.name.clone(),
        state: tree.job.state.as_str().to_owned(),
        children,
    }
}

/// Starts a Node flow worker on `scene`'s queue and waits until it is ready.
async fn node_worker(scene: &Scene) -> NodeProcess {
    let mut worker = scene
        .node_spawn("flow_worker.mjs", json!({"tag": "node"}))
        .expect("start a Node worker");
    worker
        .wait_event("ready", WAIT)
        .await
        .expect("the Node worker is ready");
    worker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oxq_tree_is_read_by_nodes_get_flow_and_run_by_node_workers() {
    let scene = Scene::start("orders").await.expect("scene");
    let payments = scene.sibling("payments").expect("payments queue");
    let emails = scene.sibling("emails").expect("emails queue");
    let producer = FlowProducer::new(scene.backend())
        .prefix(scene.prefix())
        .expect("prefix");
    let tree = FlowJob::new("orders", "report", json!({"order": 7}))
        .options(JobOptions::new().job_id("order-7"))
        .child(FlowJob::new("payments", "charge", json!({"cents": 1250})))
        .child(
            FlowJob::new("emails", "receipt", json!({"failAlways": "mailbox full"}))
                .on_failure(ChildFailure::Ignore),
        )
        .child(
            FlowJob::new("emails", "invoice", json!({})).child(FlowJob::new(
                "payments",
                "render",
                json!({}),
            )),
        );
    let added = producer.add(tree).await.expect("oxq adds the tree");
    assert_eq!(added.state, JobState::WaitingChildren);

    // Node's getFlow reads the tree as oxq's get_flow does
    let node_tree = node_get_flow(&scene, "orders", "order-7")
        .await
        .expect("node getFlow");
    let oxq_tree = producer
        .get_flow(FlowQuery::new(
            scene.queue.queue_ref().clone(),
            JobId::from("order-7"),
        ))
        .await
        .expect("oxq get_flow")
        .expect("the tree exists");
    let shape = node_shape(&node_tree);
    assert_eq!(
        shape,
        oxq_shape(&oxq_tree),
        "Node's getFlow and oxq's get_flow"
    );
    let names: BTreeSet<&str> = shape.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["charge", "invoice", "receipt"]));
    let invoice = shape
        .children
        .iter()
        .find(|c| c.name == "invoice")
        .expect("invoice");
    assert_eq!(invoice.state, "waiting-children");
    assert_eq!(invoice.children.len(), 1);
    assert_eq!(invoice.children[0].name, "render");
    assert_eq!(node_tree["data"], json!({"order": 7}));
    for child in node_tree["children"].as_array().into_iter().flatten() {
        assert_eq!(
            child["parentKey"].as_str(),
            Some(child_key(&scene, "orders", "order-7").as_str()),
            "Node reads each child's parent"
        );
    }

    // Node workers run it: the receipt fails (ignored), the rest complete bottom-up
    let mut workers = Vec::new();
    for queue in [&scene, &payments, &emails] {
        workers.push(node_worker(queue).await);
    }
    wait_until(WAIT, "the root to complete on a Node worker", || async {
        Ok(state_of(&scene.queue, "order-7").await? == JobState::Completed)
    })
    .await
    .expect("the root completes");
    for worker in workers {
        worker.finish(WAIT).await.expect("stop a Node worker");
    }

    let id_of = |name: &str| {
        oxq_tree
            .children
            .iter()
            .find(|c| c.job.name == name)
            .map(|c| c.job.id.to_string())
            .unwrap_or_default()
    };
    let receipt = emails
        .queue
        .get_record(&JobId::from(id_of("receipt").as_str()))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(receipt.state, JobState::Failed);
    let root = oxq_job(&scene.queue, "order-7").await.expect("root");
    let returned: Value =
        serde_json::from_str(root.record().return_value.as_deref().unwrap_or("null"))
            .expect("json");
    assert_eq!(returned["by"], "node");
    let receipt_key = child_key(&scene, "emails", &id_of("receipt"));
    assert_eq!(
        returned["ignored"],
        json!({ receipt_key: "mailbox full" }),
        "Node's parent read the failure oxq's policy flag had it ignore"
    );
    let read: BTreeSet<String> = returned["children"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let expected = BTreeSet::from([
        child_key(&scene, "payments", &id_of("charge")),
        child_key(&scene, "emails", &id_of("invoice")),
    ]);
    assert_eq!(read, expected, "the children Node's parent read");
    let node = node_read_jobs(&scene, &[("orders", "order-7")])
        .await
        .expect("node reads");
    assert_dependencies_agree(&node[&("orders".to_owned(), "order-7".to_owned())], &root)
        .await
        .expect("root's dependencies");
}

/// The first run of an oxq processor adds two children (on another queue) and waits for them;
/// its second run reads their values.
async fn add_children_then_read_them(
    job: &Job<Value>,
    kids: &Queue<Value>,
) -> oxq::Result<Outcome<Value>> {
    let deps = job.dependencies(100).await?;
    let c = deps.counts;
    if c.processed + c.pending + c.ignored + c.failed == 0 {
        for i in 0..2 {
            kids.add(
                &format!("kid-{i}"),
                json!({ "i": i }),
                JobOptions::new().parent(job.as_parent()),
            )
            .await?;
        }
        return Ok(Outcome::WaitForChildren);
    }
    let children: BTreeMap<String, Value> = job
        .children_values::<Value>()
        .await?
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    Ok(Outcome::Complete(
        json!({ "by": "oxq", "children": children }),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oxq_job_waits_for_children_it_added_that_node_workers_run() {
    let scene = Scene::start("parents").await.expect("scene");
    let kids = scene.sibling("kids").expect("kids queue");
    scene
        .queue
        .add("parent", json!({}), JobOptions::new().job_id("p"))
        .await
        .expect("oxq adds the parent");
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let parent_worker = {
        let (kids, runs) = (kids.queue.clone(), runs.clone());
        Worker::start(
            &scene.queue,
            WorkerOptions::new(),
            move |job: Job<Value>| {
                let (kids, runs) = (kids.clone(), runs.clone());
                async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    add_children_then_read_them(&job, &kids)
                        .await
                        .unwrap_or_else(Outcome::fail)
                }
            },
        )
    };
    let kid_worker = node_worker(&kids).await;
    wait_until(WAIT, "the parent to complete", || async {
        Ok(state_of(&scene.queue, "p").await? == JobState::Completed)
    })
    .await
    .expect("the parent completes");
    parent_worker.close().await.expect("close the oxq worker");
    kid_worker.finish(WAIT).await.expect("stop the Node worker");

    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the parent ran to add its children and once they were done"
    );
    let parent = oxq_job(&scene.queue, "p").await.expect("parent");
    assert_eq!(
        parent.record().attempts_made,
        1,
        "waiting for children used no attempt"
    );
    let returned: Value =
        serde_json::from_str(parent.record().return_value.as_deref().unwrap_or("null"))
            .expect("json");
    let children = object_of(&returned["children"]);
    assert_eq!(children.len(), 2, "{returned}");
    for (key, value) in &children {
        assert!(
            key.starts_with(&format!("{}:kids:", scene.prefix())),
            "{key}"
        );
        assert_eq!(value["by"], "node", "{key}: run by Node");
    }
    let node = node_read_jobs(&scene, &[("parents", "p")])
        .await
        .expect("node reads");
    assert_dependencies_agree(&node[&("parents".to_owned(), "p".to_owned())], &parent)
        .await
        .expect("the parent's dependencies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_job_waits_for_children_it_added_that_oxq_workers_run() {
    let scene = Scene::start("parents").await.expect("scene");
    let kids = scene.sibling("kids").expect("kids queue");
    scene
        .node_add(json!([{"add": {"name": "parent", "data": {}, "opts": {"jobId": "np"}}}]))
        .await
        .expect("node adds the parent");
    let mut parent_worker = scene
        .node_spawn(
            "flow_parent_worker.mjs",
            json!({"childQueue": "kids", "children": 2}),
        )
        .expect("start the Node parent worker");
    parent_worker
        .wait_event("ready", WAIT)
        .await
        .expect("the Node worker is ready");
    // the children run only once the parent waits for them, so it runs twice
    wait_until(WAIT, "the Node parent to wait for its children", || async {
        Ok(state_of(&scene.queue, "np").await? == JobState::WaitingChildren)
    })
    .await
    .expect("the parent waits");
    assert_eq!(kids.queue.counts().await.expect("counts").waiting, 2);
    let kid_worker = oxq_flow_worker(&kids.queue);
    let done = parent_worker
        .wait_for(WAIT, "the parent's completion", |l| {
            event_is(l, "completed") && l["id"] == "np"
        })
        .await
        .expect("the parent completes on Node");
    kid_worker.close().await.expect("close the oxq worker");
    let lines = parent_worker
        .finish(WAIT)
        .await
        .expect("stop the Node worker");
    let steps: Vec<&str> = lines
        .iter()
        .filter(|l| event_is(l, "start"))
        .filter_map(|l| l["step"].as_str())
        .collect();
    assert_eq!(steps, ["start", "waiting"], "the parent's runs on Node");

    let children = object_of(&done["returnvalue"]["children"]);
    assert_eq!(children.len(), 2, "{done}");
    for (key, value) in &children {
        assert!(
            key.starts_with(&format!("{}:kids:", scene.prefix())),
            "{key}"
        );
        assert_eq!(value["by"], "oxq", "{key}: run by oxq");
    }
    let parent = oxq_job(&scene.queue, "np").await.expect("parent");
    assert_eq!(parent.record().state, JobState::Completed);
    let oxq_values: BTreeMap<String, Value> = parent
        .children_values::<Value>()
        .await
        .expect("children values")
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    assert_eq!(oxq_values, children, "oxq reads what Node's parent read");
}
