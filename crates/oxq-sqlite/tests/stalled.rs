//! Locks and stalled-job recovery.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use oxq_core::backend::{ExtendLocks, RecoverStalled};
use oxq_core::{Backend, Event, JobId, JobOptions, JobState, LockToken};

fn recover(h: &Harness, max_stalled: u32, now: u64) -> RecoverStalled {
    RecoverStalled {
        queue: h.queue.clone(),
        max_stalled_count: max_stalled,
        interval: Duration::from_secs(30),
        now,
    }
}

#[tokio::test]
async fn locks_extend_only_where_the_token_matches() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    let b = h.add("b", JobOptions::new()).await;
    let c = h.add("c", JobOptions::new()).await;
    h.fetch("t1", 2, T0).await; // a, b
    let lost = h
        .store
        .locks_extend(ExtendLocks {
            queue: h.queue.clone(),
            locks: vec![
                (a.clone(), LockToken("t1".into())),
                (b.clone(), LockToken("other".into())),
                (c.clone(), LockToken("t1".into())), // waiting, not held
                (JobId::from("missing"), LockToken("t1".into())),
            ],
            duration: Duration::from_secs(60),
            now: T0 + 1_000,
        })
        .await
        .unwrap();
    assert_eq!(lost, vec![b, c, JobId::from("missing")]);
    // `a`'s lock now runs until T0+61s: a stalled check at T0+45s leaves it alone, `b` goes.
    let recovered = h
        .store
        .stalled_recover(recover(&h, 1, T0 + 45_000))
        .await
        .unwrap();
    assert_eq!(recovered, vec![JobId::from("2")]);
    assert_eq!(h.get(&a).await.state, JobState::Active);
}

#[tokio::test]
async fn expired_locks_go_back_to_the_front_with_events() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new().priority(3)).await;
    h.fetch("t1", 1, T0).await;
    h.add("b", JobOptions::new()).await;
    // The lock (30 s) has not expired yet.
    assert!(
        h.store
            .stalled_recover(recover(&h, 1, T0 + 29_000))
            .await
            .unwrap()
            .is_empty()
    );
    // Within the interval, nobody checks again, whatever the locks say.
    assert!(
        h.store
            .stalled_recover(recover(&h, 1, T0 + 31_000))
            .await
            .unwrap()
            .is_empty()
    );
    let recovered = h
        .store
        .stalled_recover(recover(&h, 1, T0 + 60_000))
        .await
        .unwrap();
    assert_eq!(recovered, vec![a.clone()]);
    let job = h.get(&a).await;
    assert_eq!(
        job.state,
        JobState::Waiting,
        "recovered to waiting whatever the priority"
    );
    assert_eq!(job.stalled_count, 1);
    assert_eq!(job.deferred_failure, None);
    let events = h.job_events(&a).await;
    let n = events.len();
    assert_eq!(
        events[n - 2],
        Event::Waiting {
            job_id: a.clone(),
            prev: Some(JobState::Active)
        }
    );
    assert_eq!(events[n - 1], Event::Stalled { job_id: a.clone() });
    // Front of the line: before "b", which was waiting already.
    assert_eq!(h.fetch_ids("t2", 1, T0 + 60_001).await, ids(&["1"]));
    // The old holder's lock is gone.
    let result = h.finish(&a, "t1", completed(), T0 + 60_002).await;
    assert!(matches!(
        &result.items[0],
        Err(oxq_core::Error::LockLost(_))
    ));
}

#[tokio::test]
async fn stalling_beyond_the_limit_defers_a_failure() {
    let h = Harness::new().await;
    let a = h.add("a", JobOptions::new()).await;
    let mut now = T0;
    for round in 1..=2u32 {
        h.fetch(&format!("t{round}"), 1, now).await;
        now += 60_000;
        let recovered = h.store.stalled_recover(recover(&h, 1, now)).await.unwrap();
        assert_eq!(recovered, vec![a.clone()]);
    }
    let job = h.get(&a).await;
    assert_eq!(job.stalled_count, 2);
    assert_eq!(
        job.deferred_failure.as_deref(),
        Some("job stalled more than allowable limit")
    );
    assert_eq!(job.state, JobState::Waiting, "the next worker fails it");
}

#[tokio::test]
async fn the_check_runs_once_per_interval_across_processes() {
    let h = Harness::new().await;
    let other = h.other_process().await;
    h.add("a", JobOptions::new()).await;
    h.fetch("t1", 1, T0).await;
    assert!(
        h.store
            .stalled_recover(recover(&h, 1, T0 + 1_000))
            .await
            .unwrap()
            .is_empty()
    );
    // The other process asks after the lock expired but within the interval of the first check.
    assert!(
        other
            .stalled_recover(recover(&h, 1, T0 + 30_500))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        other
            .stalled_recover(recover(&h, 1, T0 + 31_000))
            .await
            .unwrap()
            .len(),
        1
    );
}
