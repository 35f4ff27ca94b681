//! Locks and stalled jobs as Redis keeps them: lock keys with a `PX` expiry, oxq's one-pass
//! check (every active job whose lock key is gone is pushed where workers pop next) behind its
//! own gate key `stalled-check:oxq`, and BullMQ's keys that oxq leaves to Node's checker (the
//! `stalled` set of suspects, which a renewal still clears, and the `stalled-check` gate).
//! What recovery does is the store contract (`oxq-testkit`, `store::locks_stalls`).

mod support;

use std::time::Duration;

use oxq_core::backend::{ExtendLocks, RecoverStalled};
use oxq_core::{Backend, JobId, JobOptions, LockToken};
use support::{World, now};

fn recover(w: &World, interval: Duration) -> RecoverStalled {
    RecoverStalled {
        queue: w.queue.clone(),
        max_stalled_count: 1,
        interval,
        now: now(),
    }
}

/// One stalled check, the gate deleted first so checks need not be an interval apart.
async fn check(w: &World) -> Vec<String> {
    let _: i64 = w
        .cmd(redis::cmd("DEL").arg(w.key("stalled-check:oxq")))
        .await;
    let recovered = w
        .backend
        .stalled_recover(recover(w, Duration::from_millis(1)))
        .await
        .expect("recover");
    recovered.job_ids.into_iter().map(|id| id.0).collect()
}

async fn suspects(w: &World) -> Vec<String> {
    let mut ids: Vec<String> = w.cmd(redis::cmd("SMEMBERS").arg(w.key("stalled"))).await;
    ids.sort();
    ids
}

/// Marks ids as suspects, as Node's checker does with every active job.
async fn suspect(w: &World, ids: &[&str]) {
    let _: i64 = w
        .cmd(redis::cmd("SADD").arg(w.key("stalled")).arg(ids))
        .await;
}

#[tokio::test]
async fn extending_a_lock_sets_its_ttl_and_clears_the_suspect() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 2).await;
    suspect(&w, &["1", "2"]).await;
    let extended = w
        .backend
        .locks_extend(ExtendLocks {
            queue: w.queue.clone(),
            locks: vec![
                (JobId::from("1"), LockToken("t".into())),
                (JobId::from("2"), LockToken("other".into())),
            ],
            duration: Duration::from_secs(60),
            now: now(),
        })
        .await
        .expect("extend");
    assert_eq!(extended.lost, [JobId::from("2")]);
    let ttl: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("1:lock"))).await;
    assert!(ttl > 59_000, "{ttl}");
    assert_eq!(
        suspects(&w).await,
        ["2"],
        "a renewed job is no longer suspected"
    );
}

#[tokio::test]
async fn one_check_recovers_the_active_jobs_without_a_lock_key() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.add("a", "3", JobOptions::new()).await;
    w.fetch("t", 2).await; // jobs 1 and 2 active
    assert!(check(&w).await.is_empty(), "both lock keys are there");
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await; // its worker died
    assert_eq!(check(&w).await, ["1"], "the first check after the death");
    let wait: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("wait")).arg(0).arg(-1))
        .await;
    assert_eq!(wait, ["3", "1"], "RPUSHed: workers pop it next");
    let active: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("active")).arg(0).arg(-1))
        .await;
    assert_eq!(active, ["2"]);
}

#[tokio::test]
async fn the_check_leaves_nodes_suspects_and_gate_alone() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.fetch("t", 1).await;
    suspect(&w, &["1", "gone"]).await;
    // Node checked a moment ago: its gate does not hold oxq's check back
    let _: () = w
        .cmd(
            redis::cmd("SET")
                .arg(w.key("stalled-check"))
                .arg(1)
                .arg("PX")
                .arg(60_000),
        )
        .await;
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await;
    assert_eq!(check(&w).await, ["1"]);
    assert_eq!(suspects(&w).await, ["1", "gone"], "Node's suspects");
    let node_gate: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("stalled-check"))).await;
    assert!(node_gate > 50_000, "Node's gate: {node_gate}");
}

#[tokio::test]
async fn the_gate_is_oxqs_own_key_that_expires_after_the_interval() {
    let w = World::new().await;
    let recovered = w
        .backend
        .stalled_recover(recover(&w, Duration::from_secs(60)))
        .await
        .expect("recover");
    assert!(recovered.job_ids.is_empty());
    let gate: i64 = w
        .cmd(redis::cmd("PTTL").arg(w.key("stalled-check:oxq")))
        .await;
    assert!(gate > 50_000 && gate <= 60_000, "{gate}");
    let node_gate: i64 = w
        .cmd(redis::cmd("EXISTS").arg(w.key("stalled-check")))
        .await;
    assert_eq!(node_gate, 0, "BullMQ's gate is Node's to set");
}
