//! Locks and stalled jobs: renewal, recovery after two checks, the deferred failure beyond the
//! stall limit, and the once-per-interval gate.

mod support;

use std::time::Duration;

use oxq_core::backend::{ExtendLocks, RecoverStalled};
use oxq_core::{Backend, JobId, JobOptions, JobState, LockToken};
use support::{World, ids, now};

fn recover(w: &World, max_stalled_count: u32) -> RecoverStalled {
    RecoverStalled {
        queue: w.queue.clone(),
        max_stalled_count,
        interval: Duration::from_millis(1),
        now: now(),
    }
}

async fn check(w: &World, max: u32) -> Vec<String> {
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("stalled-check"))).await;
    let ids = w
        .backend
        .stalled_recover(recover(w, max))
        .await
        .expect("recover");
    ids.into_iter().map(|id| id.to_string()).collect()
}

#[tokio::test]
async fn locks_are_extended_and_lost_ones_reported() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 2).await;
    check(&w, 1).await; // both become suspects
    let lost = w
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
    assert_eq!(lost, [JobId::from("2")]);
    let ttl: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("1:lock"))).await;
    assert!(ttl > 59_000);
    let suspects: Vec<String> = w.cmd(redis::cmd("SMEMBERS").arg(w.key("stalled"))).await;
    assert_eq!(suspects, ["2"], "a renewed job is no longer suspected");
}

#[tokio::test]
async fn stalled_jobs_are_recovered_then_failed_beyond_the_limit() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 1).await; // job 1 active
    assert!(
        check(&w, 1).await.is_empty(),
        "first check only marks suspects"
    );
    assert!(check(&w, 1).await.is_empty(), "the lock is still alive");
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await; // the worker died
    assert_eq!(check(&w, 1).await, ["1"]);
    let wait: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("wait")).arg(0).arg(-1))
        .await;
    assert_eq!(wait, ["2", "1"], "a recovered job runs next");
    let record = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!((record.state, record.stalled_count), (JobState::Waiting, 1));
    assert_eq!(record.deferred_failure, None);
    let names: Vec<String> = w.events().await.into_iter().map(|(e, _)| e).collect();
    assert!(names.ends_with(&["waiting".to_owned(), "stalled".to_owned()]));

    // it stalls again: beyond max_stalled_count = 1 it carries a deferred failure
    assert_eq!(ids(&w.fetch("t2", 1).await), ["1"]);
    check(&w, 1).await;
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await;
    assert_eq!(check(&w, 1).await, ["1"]);
    let fetched = w.fetch("t3", 1).await;
    assert_eq!(fetched.jobs[0].stalled_count, 2);
    assert_eq!(
        fetched.jobs[0].deferred_failure.as_deref(),
        Some("job stalled more than allowable limit")
    );
}

#[tokio::test]
async fn the_check_runs_once_per_interval() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.fetch("t", 1).await;
    let mut req = recover(&w, 1);
    req.interval = Duration::from_secs(60);
    w.backend.stalled_recover(req.clone()).await.expect("first");
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await;
    assert!(
        w.backend
            .stalled_recover(req)
            .await
            .expect("second")
            .is_empty()
    );
    let gate: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("stalled-check"))).await;
    assert!(gate > 50_000);
}
