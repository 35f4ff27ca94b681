//! Job groups as written to Redis (oxq's own keys, `scripts/include/common.lua`): every path
//! that moves a group job leaves it in its group's keys and out of the keys a Node worker takes
//! or promotes jobs from (`wait`, `prioritized`, `delayed`), `clean` leaves no group key behind
//! (an active job it takes frees its group's slot), and the counts are one script call. What a
//! store does with groups is the store contract (`oxq-testkit`, `store::groups`).

mod support;

use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, CleanQueue, DeadLetters, Finish, FinishJobs, ListDeadLetters, PromoteJobs,
    ReplayDeadLetters, ReplayedDeadLetter, Retry, SaveStep, SendSignal, SetDeadLetterQueue, Steps,
};
use oxq_core::{Backend, Deduplication, JobId, JobOptions, JobState, KeepJobs, LockToken};
use support::{World, ids, now};

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
    // the lock gone, as when Redis expires it: clean may take an active job then
    let _: () = w.cmd(redis::cmd("DEL").arg(w.key("a1:lock"))).await;
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
}
