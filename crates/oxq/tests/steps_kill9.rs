//! Durable steps survive `kill -9`, on each store: 200 order sagas (`examples/order_saga.rs`:
//! four steps with a short durable sleep between the third and the fourth) are worked by a
//! worker process that is killed with SIGKILL in the middle of the run, between steps of many
//! jobs; a second worker process recovers them. Every job completes, and every step whose
//! result was stored before the kill ran exactly once in all (the side effects are counted in a
//! ledger file outside the queue); only a step that was running at the kill may have run twice
//! (the window between a side effect and its recording, which steps cannot close).
//!
//! Run with: `cargo build -p oxq --examples && cargo test -p oxq --test steps_kill9`

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use oxq::prelude::*;
use oxq::{JobId, StepStatus};
use oxq_testkit::redis_server::RedisServer;
use support::{spawn, wait_until};

const ORDERS: u64 = 200;
const STEPS: [&str; 4] = ["fetch-order", "charge", "confirm", "ask-review"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_done_before_a_kill_run_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("sagas.db").display());
    kill_between_steps("sqlite", &url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_done_before_a_kill_run_once_on_redis() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = RedisServer::start();
    kill_between_steps("redis", &server.url(), dir.path()).await;
}

/// How many times each `(order, step)` side effect ran, from the ledger.
fn ledger_counts(path: &Path) -> HashMap<(String, String), u32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut counts = HashMap::new();
    for line in text.lines() {
        let (order, step) = line
            .split_once(' ')
            .expect("a ledger line is `<order> <step>`");
        *counts
            .entry((order.to_owned(), step.to_owned()))
            .or_insert(0) += 1;
    }
    counts
}

async fn kill_between_steps(store: &str, url: &str, dir: &Path) {
    let ledger = dir.join("ledger.txt");
    let ledger_arg = ledger.display().to_string();
    let orders = ORDERS.to_string();
    let common = [
        "--url",
        url,
        "--orders",
        &orders,
        "--ledger",
        &ledger_arg,
        "--sleep-ms",
        "200",
        "--concurrency",
        "50",
    ];
    let adder = spawn("order_saga", &[&common[..], &["--no-work"]].concat());
    let added = adder.wait_with_output().expect("run the adder");
    assert!(added.status.success(), "adding the orders failed");

    let mut victim = spawn(
        "order_saga",
        &[&common[..], &["--no-add", "--step-ms", "40"]].concat(),
    );
    // the victim's progress is in another process: look at its ledger until it is mid-run
    wait_until(Duration::from_secs(60), "the victim to be mid-run", || {
        let ledger = ledger.clone();
        async move { ledger_counts(&ledger).values().sum::<u32>() >= 300 }
    })
    .await;
    victim.kill().expect("kill -9 the worker"); // SIGKILL: no close, locks left behind
    victim.wait().expect("reap the victim");

    let queue: Queue = Queue::connect(url, "sagas").await.expect("connect");
    let mut done_before_kill = HashSet::new();
    for n in 1..=ORDERS {
        let id = JobId::from(format!("order-{n}"));
        let steps = queue
            .job_steps(&id)
            .await
            .expect("read steps")
            .expect("job");
        for (name, status) in &steps.steps {
            if matches!(status, StepStatus::Done { .. }) {
                done_before_kill.insert((id.to_string(), name.clone()));
            }
        }
    }
    let before = ledger_counts(&ledger);
    let completed_before = queue.counts().await.expect("counts").completed;
    assert!(
        completed_before < ORDERS && !done_before_kill.is_empty(),
        "{store}: the kill came too late or too early ({completed_before} completed, {} steps done)",
        done_before_kill.len()
    );

    let rescuer = spawn("order_saga", &[&common[..], &["--no-add"]].concat());
    let rescued = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || rescuer.wait_with_output()),
    )
    .await
    .expect("the rescuer finished in time")
    .expect("rescuer joined")
    .expect("rescuer ran");
    assert!(rescued.status.success(), "{store}: the rescuer failed");

    let counts = queue.counts().await.expect("counts");
    assert_eq!(
        counts.completed, ORDERS,
        "{store}: completed jobs: {counts:?}"
    );
    let after = ledger_counts(&ledger);
    let mut twice = Vec::new();
    for n in 1..=ORDERS {
        let order = format!("order-{n}");
        for step in STEPS {
            let key = (order.clone(), step.to_owned());
            let ran = after.get(&key).copied().unwrap_or(0);
            if done_before_kill.contains(&key) {
                assert_eq!(
                    ran, 1,
                    "{store}: {order} {step} was done before the kill and ran {ran} times"
                );
            } else {
                assert!(
                    (1..=2).contains(&ran),
                    "{store}: {order} {step} ran {ran} times"
                );
                if ran == 2 {
                    // only a step running at the kill (its effect made, its result not stored)
                    assert_eq!(
                        before.get(&key).copied(),
                        Some(1),
                        "{store}: {order} {step} ran twice without running at the kill"
                    );
                    twice.push(key);
                }
            }
        }
    }
    eprintln!(
        "{store}: killed with {} steps stored and {completed_before} of {ORDERS} orders done; \
         {} in-flight steps ran again after the kill",
        done_before_kill.len(),
        twice.len()
    );
}
