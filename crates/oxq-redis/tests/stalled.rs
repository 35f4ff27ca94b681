//! Locks and stalled jobs as Redis keeps them: lock keys with a `PX` expiry, the `stalled` set
//! of suspects (a check marks the active jobs, the next recovers those whose lock key is gone
//! and pushes them where workers pop next), and the `stalled-check` gate key. What recovery
//! does is the store contract (`oxq-testkit`, `store::locks_stalls`).

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
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("stalled-check"))).await;
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

#[tokio::test]
async fn extending_a_lock_sets_its_ttl_and_clears_the_suspect() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 2).await;
    check(&w).await;
    assert_eq!(
        suspects(&w).await,
        ["1", "2"],
        "a check marks the active jobs"
    );
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
async fn a_check_marks_suspects_and_the_next_recovers_those_without_a_lock_key() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 1).await; // job 1 active
    assert!(check(&w).await.is_empty(), "the first check only marks");
    assert_eq!(suspects(&w).await, ["1"]);
    assert!(check(&w).await.is_empty(), "the lock key is still there");
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await; // the worker died
    assert_eq!(check(&w).await, ["1"]);
    let wait: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("wait")).arg(0).arg(-1))
        .await;
    assert_eq!(wait, ["2", "1"], "RPUSHed: workers pop it next");
}

#[tokio::test]
async fn the_gate_is_a_key_that_expires_after_the_interval() {
    let w = World::new().await;
    let recovered = w
        .backend
        .stalled_recover(recover(&w, Duration::from_secs(60)))
        .await
        .expect("recover");
    assert!(recovered.job_ids.is_empty());
    let gate: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("stalled-check"))).await;
    assert!(gate > 50_000 && gate <= 60_000, "{gate}");
}
