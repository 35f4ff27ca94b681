//! Job groups as written to Redis (oxq's own keys, `scripts/include/common.lua`): every path
//! that moves a group job leaves it in its group's keys and out of the keys a Node worker takes
//! or promotes jobs from (`wait`, `prioritized`, `delayed`), `clean` leaves no group key behind
//! (an active job it takes frees its group's slot), and the counts are one script call. A held
//! group job's lock has no expiry (so Node's stalled check never moves it to `wait`) and its
//! heartbeat `<id>:oxq.hb` carries the lock's expiry: oxq's stalled check recovers the job into
//! its group once the heartbeat is gone, and every end of the job deletes both keys. What a
//! store does with groups is the store contract (`oxq-testkit`, `store::groups`).

mod support;

use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, CancelJob, Cancellation, ChangeGroup, CleanQueue, DeadLetters, ExtendLocks, Finish,
    FinishJobs, GroupChange, GroupTarget, Groups, ListDeadLetters, PromoteJobs, RecoverStalled,
    RemoveJob, ReplayDeadLetters, ReplayedDeadLetter, Retry, SaveStep, SendSignal,
    SetDeadLetterQueue, Steps,
};
use oxq_core::{Backend, Deduplication, JobId, JobOptions, JobState, KeepJobs, LockToken};
use support::{World, eventually, ids, now};

/// A runnable group job scored at or above this has a priority (`GROUP_PRIORITIZED`).
const PRIORITIZED_SCORE: f64 = 4_294_967_296.0;

/// How many members Node's keys `wait`, `prioritized` and `delayed` hold.
async fn in_node_keys(w: &World) -> (u64, u64, u64) {
    let wait: u64 = w.cmd(redis::cmd("LLEN").arg(w.key("wait"))).await;
    let prioritized: u64 = w.cmd(redis::cmd("ZCARD").arg(w.key("prioritized"))).await;
    let delayed: u64 = w.cmd(redis::cmd("ZCARD").arg(w.key("delayed"))).await;
    (wait, prioritized, delayed)
}

/// The score of `id` in zset `suffix` of the queue, if there.
async fn score(w: &World, suffix: &str, id: &str) -> Option<f64> {
    w.cmd(redis::cmd("ZSCORE").arg(w.key(suffix)).arg(id)).await
}

/// The members of zset `suffix` of the queue.
async fn members(w: &World, suffix: &str) -> Vec<String> {
    w.cmd(redis::cmd("ZRANGE").arg(w.key(suffix)).arg(0).arg(-1))
        .await
}

async fn finish(w: &World, job: &oxq_core::backend::FetchedJob, token: &str, end: AttemptEnd) {
    let done = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![Finish {
                job_id: job.record.id.clone(),
                token: LockToken(token.to_owned()),
                end,
                memo: job.memo.clone(),
            }],
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(done.items.iter().all(Result::is_ok), "{:?}", done.items);
}

#[tokio::test]
async fn a_promote_of_every_delayed_job_moves_group_jobs_into_their_group_zsets() {
    let w = World::new().await;
    let later = JobOptions::new().group("a").delay(Duration::from_secs(60));
    w.add("a1", "{}", later.clone().job_id("a1")).await;
    w.add("a2", "{}", later.job_id("a2").priority(2)).await;
    assert_eq!(members(&w, "oxq:gd:a").await, ["a1", "a2"], "delayed in a");
    let moved = w
        .backend
        .jobs_promote(PromoteJobs {
            queue: w.queue.clone(),
            limit: 10,
            now: now(),
        })
        .await
        .expect("promote");
    assert_eq!(moved.count, 2);
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(members(&w, "oxq:gdelayed").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:gd:a").await, Vec::<String>::new());
    assert!(
        score(&w, "oxq:g:a", "a1").await < Some(PRIORITIZED_SCORE),
        "a1 runnable without a priority"
    );
    assert!(
        score(&w, "oxq:g:a", "a2").await >= Some(PRIORITIZED_SCORE),
        "a2 runnable with its priority"
    );
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "a in the ring");
    assert_eq!(
        w.hash("a2").await.get("delay").map(String::as_str),
        Some("0")
    );
}

#[tokio::test]
async fn a_signalled_group_job_leaves_gdelayed_for_its_group() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    let fetched = w.fetch("t", 1).await;
    w.backend
        .step_save(SaveStep {
            queue: w.queue.clone(),
            job_id: JobId::from("a1"),
            token: LockToken("t".to_owned()),
            name: "wait".to_owned(),
            entry: "{}".to_owned(),
            waits_for: Some("go".to_owned()),
        })
        .await
        .expect("save");
    let until = now() + 3_600_000;
    finish(&w, &fetched.jobs[0], "t", AttemptEnd::Delayed { until }).await;
    assert_eq!(members(&w, "oxq:gdelayed").await, ["a1"], "parked");
    assert_eq!(members(&w, "oxq:gd:a").await, ["a1"], "parked in a");
    let sent = w
        .backend
        .job_signal(SendSignal {
            queue: w.queue.clone(),
            job_id: JobId::from("a1"),
            name: "go".to_owned(),
            payload: "1".to_owned(),
            now: now(),
        })
        .await
        .expect("signal");
    assert!(sent.woke);
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(members(&w, "oxq:gdelayed").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:gd:a").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:g:a").await, ["a1"], "runnable in a");
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "a in the ring");
}

#[tokio::test]
async fn a_replayed_group_job_is_written_into_its_group() {
    let w = World::new().await;
    let dlq = oxq_core::QueueRef::with_prefix(w.queue.prefix.clone(), "dead").expect("queue");
    w.backend
        .dead_letter_queue_set(SetDeadLetterQueue {
            queue: w.queue.clone(),
            target: Some(dlq.clone()),
        })
        .await
        .expect("set the dead letter queue");
    w.add(
        "a1",
        "{}",
        JobOptions::new()
            .job_id("a1")
            .group("a")
            .attempts(1)
            .priority(4),
    )
    .await;
    let fetched = w.fetch("t", 1).await;
    let never = Retry::Never {
        keep: KeepJobs::None,
    };
    finish(
        &w,
        &fetched.jobs[0],
        "t",
        AttemptEnd::Failed {
            reason: "boom".to_owned(),
            retry: never,
        },
    )
    .await;
    let dead = w
        .backend
        .dead_letters_list(ListDeadLetters {
            queue: dlq.clone(),
            offset: 0,
            limit: 10,
        })
        .await
        .expect("list");
    let answers = w
        .backend
        .dead_letters_replay(ReplayDeadLetters {
            queue: dlq,
            ids: vec![dead[0].record.id.clone()],
            now: now(),
        })
        .await
        .expect("replay");
    let [ReplayedDeadLetter::Replayed { job_id, .. }] = answers.as_slice() else {
        panic!("replay answered {answers:?}");
    };
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert!(
        score(&w, "oxq:g:a", &job_id.0).await >= Some(PRIORITIZED_SCORE),
        "the replay runnable in a with its priority"
    );
    assert_eq!(
        w.hash(&job_id.0).await.get("oxq.group").map(String::as_str),
        Some("a"),
        "the replay's hash names its group"
    );
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "a in the ring");
}

#[tokio::test]
async fn a_debounced_group_job_replaces_its_owner_in_gdelayed() {
    let w = World::new().await;
    let window = Duration::from_secs(5);
    let debounce = || {
        JobOptions::new()
            .group("a")
            .delay(window)
            .deduplication(Deduplication::debounce("k", window))
    };
    let t0 = now();
    let first = w.add_at("first", "{}", debounce(), t0).await;
    let second = w.add_at("second", "{}", debounce(), t0 + 3_000).await;
    assert_ne!(first, second, "the second add stands");
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(members(&w, "oxq:gdelayed").await, [second.0.as_str()]);
    assert_eq!(members(&w, "oxq:gd:a").await, [second.0.as_str()]);
    let due = score(&w, "oxq:gdelayed", &second.0)
        .await
        .map(|s| s / 4096.0);
    assert_eq!(
        due.map(f64::floor),
        Some((t0 + 8_000) as f64),
        "due at the restarted delay"
    );
}

#[tokio::test]
async fn clean_leaves_no_group_key_behind() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    w.add(
        "a2",
        "{}",
        JobOptions::new().job_id("a2").group("a").priority(2),
    )
    .await;
    w.add(
        "a3",
        "{}",
        JobOptions::new()
            .job_id("a3")
            .group("a")
            .delay(Duration::from_secs(60)),
    )
    .await;
    w.add("b1", "{}", JobOptions::new().job_id("b1").group("b"))
        .await;
    let clean = |state| CleanQueue {
        queue: w.queue.clone(),
        state,
        grace: Duration::ZERO,
        limit: 0,
        now: now() + 1,
    };
    w.backend
        .queue_clean(clean(JobState::Waiting))
        .await
        .expect("clean waiting");
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "b left the ring");
    assert_eq!(
        members(&w, "oxq:g:a").await,
        ["a2"],
        "a's prioritized job stays"
    );
    w.backend
        .queue_clean(clean(JobState::Prioritized))
        .await
        .expect("clean prioritized");
    w.backend
        .queue_clean(clean(JobState::Delayed))
        .await
        .expect("clean delayed");
    let left: u64 = w
        .cmd(
            redis::cmd("EXISTS")
                .arg(w.key("oxq:groups"))
                .arg(w.key("oxq:g:a"))
                .arg(w.key("oxq:g:b"))
                .arg(w.key("oxq:gdelayed"))
                .arg(w.key("oxq:gd:a")),
        )
        .await;
    assert_eq!(left, 0, "no group key is left");
    for id in ["a1", "a2", "a3", "b1"] {
        assert!(w.hash(id).await.is_empty(), "{id}'s hash is gone");
    }
    assert!(ids(&w.fetch("t", 10).await).is_empty(), "nothing to fetch");
}

#[tokio::test]
async fn the_counts_are_one_script_call() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().group("a")).await;
    w.add("a2", "{}", JobOptions::new().group("a").priority(1))
        .await;
    w.add("b1", "{}", JobOptions::new().group("b")).await;
    w.add("p1", "{}", JobOptions::new()).await;
    // the first call loads the script
    w.counts().await;
    let _: () = w.cmd(redis::cmd("CONFIG").arg("RESETSTAT")).await;
    let counts = w.counts().await;
    assert_eq!((counts.waiting, counts.prioritized), (3, 1));
    assert_eq!(w.calls_of("evalsha").await, 1, "one script call");
    for other in ["multi", "exec", "eval"] {
        assert_eq!(w.calls_of(other).await, 0, "{other} calls");
    }
}

#[tokio::test]
async fn a_cleaned_active_group_job_leaves_its_groups_active_set() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    assert_eq!(ids(&w.fetch("t", 1).await), ["a1"]);
    let active: Vec<String> = w.cmd(redis::cmd("SMEMBERS").arg(w.key("oxq:ga:a"))).await;
    assert_eq!(active, ["a1"], "a1 holds one of a's slots");
    // the heartbeat gone, as when Redis expires it: clean may take an active job then
    let _: () = w.cmd(redis::cmd("DEL").arg(w.key("a1:oxq.hb"))).await;
    let cleaned = w
        .backend
        .queue_clean(CleanQueue {
            queue: w.queue.clone(),
            state: JobState::Active,
            grace: Duration::ZERO,
            limit: 0,
            now: now() + 1,
        })
        .await
        .expect("clean active");
    assert_eq!(cleaned.ids, [JobId::from("a1")]);
    let left: u64 = w.cmd(redis::cmd("EXISTS").arg(w.key("oxq:ga:a"))).await;
    assert_eq!(left, 0, "a's slot is free");
    assert_eq!(lock_keys(&w, "a1").await, 0, "its lock went with it");
}

/// The PTTL (ms) of a key of the queue: -2 when it does not exist, -1 without expiry.
async fn pttl(w: &World, suffix: &str) -> i64 {
    w.cmd(redis::cmd("PTTL").arg(w.key(suffix))).await
}

/// How many of job `id`'s `:lock` and `:oxq.hb` keys exist.
async fn lock_keys(w: &World, id: &str) -> u64 {
    w.cmd(
        redis::cmd("EXISTS")
            .arg(w.key(&format!("{id}:lock")))
            .arg(w.key(&format!("{id}:oxq.hb"))),
    )
    .await
}

/// A fetch of one job by `token` under a lock of `lock`.
async fn fetch_locked(w: &World, token: &str, lock: Duration) -> Vec<String> {
    let mut req = w.fetch_request(token, 1);
    req.fetch.lock_duration = lock;
    ids(&w.backend.job_move_to_active(req).await.expect("fetch"))
}

/// One oxq stalled check, its gate deleted first so that checks need not be an interval apart.
async fn stalled_check(w: &World) -> Vec<String> {
    let _: i64 = w
        .cmd(redis::cmd("DEL").arg(w.key("stalled-check:oxq")))
        .await;
    let recovered = w
        .backend
        .stalled_recover(RecoverStalled {
            queue: w.queue.clone(),
            max_stalled_count: 1,
            interval: Duration::from_millis(1),
            now: now(),
        })
        .await
        .expect("recover");
    recovered.job_ids.into_iter().map(|id| id.0).collect()
}

async fn extend(w: &World, id: &str, token: &str, duration: Duration) -> Vec<JobId> {
    w.backend
        .locks_extend(ExtendLocks {
            queue: w.queue.clone(),
            locks: vec![(JobId::from(id), LockToken(token.to_owned()))],
            duration,
            now: now(),
        })
        .await
        .expect("extend")
        .lost
}

/// Waits (polling Redis, bounded) until job `id`'s heartbeat has expired on the server.
///
/// Real time, not a moved clock: a key's `PX` expiry runs on the Redis server's own clock,
/// which no test can move, and the expiry is the very thing under test (Node's stalled check
/// and oxq's both read the key, not a time). The wait ends on the key's state, not on a guess.
async fn heartbeat_expired(w: &World, id: &str) {
    let key = format!("{id}:oxq.hb");
    eventually(
        Duration::from_secs(5),
        "the heartbeat to expire",
        || async { pttl(w, &key).await == -2 },
    )
    .await;
}

#[tokio::test]
async fn a_held_group_jobs_lock_has_no_expiry_and_its_heartbeat_has_the_locks() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    w.add("p1", "{}", JobOptions::new().job_id("p1")).await;
    assert_eq!(ids(&w.fetch("t", 2).await), ["p1", "a1"]);
    assert_eq!(
        pttl(&w, "a1:lock").await,
        -1,
        "a group job's lock never expires"
    );
    let beat = pttl(&w, "a1:oxq.hb").await;
    assert!(beat > 29_000 && beat <= 30_000, "heartbeat PTTL {beat}");
    let value: String = w.cmd(redis::cmd("GET").arg(w.key("a1:oxq.hb"))).await;
    assert_eq!(value, "t", "the heartbeat holds the token");
    let plain = pttl(&w, "p1:lock").await;
    assert!(plain > 29_000 && plain <= 30_000, "plain lock PTTL {plain}");
    assert_eq!(
        pttl(&w, "p1:oxq.hb").await,
        -2,
        "a plain job has no heartbeat"
    );

    assert!(stalled_check(&w).await.is_empty(), "both are held");
    let lost = extend(&w, "a1", "t", Duration::from_secs(60)).await;
    assert!(lost.is_empty(), "{lost:?}");
    assert_eq!(
        pttl(&w, "a1:lock").await,
        -1,
        "a renewal puts no expiry on the lock"
    );
    let beat = pttl(&w, "a1:oxq.hb").await;
    assert!(beat > 59_000, "the renewal renewed the heartbeat: {beat}");
    let lost = extend(&w, "p1", "t", Duration::from_secs(60)).await;
    assert!(lost.is_empty(), "{lost:?}");
    assert!(
        pttl(&w, "p1:lock").await > 59_000,
        "a plain lock is renewed"
    );
    assert_eq!(pttl(&w, "p1:oxq.hb").await, -2, "still no heartbeat");
    let removed = w
        .backend
        .job_remove(RemoveJob {
            queue: w.queue.clone(),
            job_id: JobId::from("a1"),
            now: now(),
        })
        .await;
    assert!(
        removed.is_err(),
        "a held group job is not removed: {removed:?}"
    );
}

#[tokio::test]
async fn a_group_job_whose_heartbeat_expired_is_recovered_into_its_group() {
    let w = World::new().await;
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    // its worker dies holding it: the heartbeat is never renewed
    assert_eq!(
        fetch_locked(&w, "dead", Duration::from_millis(200)).await,
        ["a1"]
    );
    // Node's stalled check asks whether the lock key exists; it does, and does not expire
    heartbeat_expired(&w, "a1").await;
    assert_eq!(
        pttl(&w, "a1:lock").await,
        -1,
        "the lock outlives its holder"
    );

    assert_eq!(stalled_check(&w).await, ["a1"], "oxq's check recovers it");
    assert_eq!(
        lock_keys(&w, "a1").await,
        0,
        "its lock and heartbeat are deleted"
    );
    assert_eq!(members(&w, "oxq:g:a").await, ["a1"], "back in its group");
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "a in the ring");
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    let active: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("active")).arg(0).arg(-1))
        .await;
    assert!(active.is_empty(), "{active:?}");
    let in_group: u64 = w.cmd(redis::cmd("SCARD").arg(w.key("oxq:ga:a"))).await;
    assert_eq!(in_group, 0, "a's slot is free");
    assert_eq!(
        extend(&w, "a1", "dead", Duration::from_secs(30)).await,
        [JobId::from("a1")],
        "the dead holder's renewal finds the job lost"
    );
    assert_eq!(
        fetch_locked(&w, "t2", Duration::from_secs(30)).await,
        ["a1"]
    );
    assert_eq!(
        pttl(&w, "a1:lock").await,
        -1,
        "taken again under a lock without expiry"
    );
    assert_eq!(w.get("a1").await.map(|j| j.stalled_count), Some(1));
}

#[tokio::test]
async fn a_late_renewal_counts_the_job_in_its_group_again() {
    let w = World::new().await;
    w.backend
        .group_change(ChangeGroup {
            queue: w.queue.clone(),
            target: GroupTarget::One("a".to_owned()),
            change: GroupChange::SetConcurrency(1),
        })
        .await
        .expect("concurrency 1");
    w.add("a1", "{}", JobOptions::new().job_id("a1").group("a"))
        .await;
    w.add("a2", "{}", JobOptions::new().job_id("a2").group("a"))
        .await;
    assert_eq!(
        fetch_locked(&w, "t", Duration::from_millis(200)).await,
        ["a1"]
    );
    assert!(
        fetch_locked(&w, "t", Duration::from_secs(30))
            .await
            .is_empty(),
        "a is full"
    );
    heartbeat_expired(&w, "a1").await;
    // a fetch at a's concurrency forgets a1, whose holder looks dead
    assert_eq!(fetch_locked(&w, "t", Duration::from_secs(30)).await, ["a2"]);
    // a1's holder was alive after all: its renewal takes the heartbeat again
    let lost = extend(&w, "a1", "t", Duration::from_secs(30)).await;
    assert!(lost.is_empty(), "{lost:?}");
    let mut in_group: Vec<String> = w.cmd(redis::cmd("SMEMBERS").arg(w.key("oxq:ga:a"))).await;
    in_group.sort();
    assert_eq!(in_group, ["a1", "a2"], "both count in a's active set");
    assert_eq!(pttl(&w, "a1:lock").await, -1);
    assert!(pttl(&w, "a1:oxq.hb").await > 29_000);
}

#[tokio::test]
async fn every_end_of_a_held_group_job_deletes_its_lock_and_heartbeat() {
    let w = World::new().await;
    let ends = [
        (
            "j-done",
            AttemptEnd::Completed {
                return_value: "1".to_owned(),
                keep: KeepJobs::All,
            },
        ),
        (
            "j-gone",
            AttemptEnd::Completed {
                return_value: "1".to_owned(),
                keep: KeepJobs::None,
            },
        ),
        (
            "j-later",
            AttemptEnd::Delayed {
                until: now() + 3_600_000,
            },
        ),
        (
            "j-failed",
            AttemptEnd::Failed {
                reason: "boom".to_owned(),
                retry: Retry::Never {
                    keep: KeepJobs::All,
                },
            },
        ),
    ];
    for (id, end) in ends {
        w.add(id, "{}", JobOptions::new().job_id(id).group("a"))
            .await;
        let fetched = w.fetch("t", 1).await;
        assert_eq!(ids(&fetched), [id]);
        assert_eq!(lock_keys(&w, id).await, 2, "{id} held");
        finish(&w, &fetched.jobs[0], "t", end).await;
        assert_eq!(lock_keys(&w, id).await, 0, "{id}: no lock key is left");
    }
    w.add(
        "j-cancelled",
        "{}",
        JobOptions::new().job_id("j-cancelled").group("a"),
    )
    .await;
    assert_eq!(ids(&w.fetch("t", 1).await), ["j-cancelled"]);
    w.backend
        .job_cancel(CancelJob {
            queue: w.queue.clone(),
            job_id: JobId::from("j-cancelled"),
            now: now(),
        })
        .await
        .expect("cancel");
    assert_eq!(
        lock_keys(&w, "j-cancelled").await,
        0,
        "j-cancelled: no lock key is left"
    );
}
