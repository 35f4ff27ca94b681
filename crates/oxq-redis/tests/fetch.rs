//! Moving jobs to active, as laid out in Redis: the `wait` list (FIFO LPUSH, LIFO RPUSH), the
//! `prioritized` scores, lock keys, the markers that wake workers, delayed scores, a pause that
//! keeps jobs in `wait`, legacy 5.x `paused` lists, the queue-wide concurrency and rate limit
//! Node can set, and a job whose hash was deleted. The order itself is the store contract
//! (`oxq-testkit`, `store::fetch`).

mod support;

use std::time::Duration;

use oxq_core::{Backend, JobOptions, JobState};
use support::{World, ids, now};

#[tokio::test]
async fn fifo_lifo_and_priority_order() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await; // 1
    w.add("a", "2", JobOptions::new()).await; // 2
    w.add("a", "3", JobOptions::new().priority(5)).await; // 3
    w.add("a", "4", JobOptions::new().priority(1)).await; // 4
    w.add("a", "5", JobOptions::new().priority(5)).await; // 5
    w.add("a", "6", JobOptions::new().lifo(true)).await; // 6
    let wait: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("wait")).arg(0).arg(-1))
        .await;
    assert_eq!(
        wait,
        ["2", "1", "6"],
        "FIFO LPUSHes, LIFO RPUSHes, workers take from the right"
    );
    let scores: Vec<(String, f64)> = w
        .cmd(
            redis::cmd("ZRANGE")
                .arg(w.key("prioritized"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await;
    assert_eq!(
        scores,
        [
            ("4".into(), 4294967298.0),
            ("3".into(), 21474836481.0),
            ("5".into(), 21474836483.0)
        ],
        "priority * 2^32 + counter"
    );
    let fetched = w.fetch("tok", 10).await;
    assert_eq!(ids(&fetched), ["6", "1", "2", "4", "3", "5"]);
    for job in &fetched.jobs {
        assert_eq!(job.record.state, JobState::Active);
        assert_eq!(job.record.attempts_started, 1);
    }
    let lock: String = w.cmd(redis::cmd("GET").arg(w.key("6:lock"))).await;
    assert_eq!(lock, "tok");
    let ttl: i64 = w.cmd(redis::cmd("PTTL").arg(w.key("6:lock"))).await;
    assert!(ttl > 29_000 && ttl <= 30_000);
    let active: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("active")).arg(0).arg(-1))
        .await;
    assert_eq!(active, ["5", "3", "4", "2", "1", "6"]);
    let pc: Option<String> = w.cmd(redis::cmd("GET").arg(w.key("pc"))).await;
    assert_eq!(
        pc, None,
        "the priority counter restarts once prioritized is empty"
    );
    assert!(w.fetch("tok", 10).await.jobs.is_empty());
    let active_events = w
        .events()
        .await
        .into_iter()
        .filter(|(e, _)| e == "active")
        .count();
    assert_eq!(active_events, 6);
}

#[tokio::test]
async fn batches_stop_at_max_jobs_and_leave_a_marker_for_others() {
    let w = World::new().await;
    for i in 0..5 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("marker"))).await;
    assert_eq!(ids(&w.fetch("t1", 2).await), ["1", "2"]);
    let marker: Option<f64> = w
        .cmd(redis::cmd("ZSCORE").arg(w.key("marker")).arg("0"))
        .await;
    assert_eq!(marker, Some(0.0), "jobs remain, so another worker is woken");
    assert_eq!(ids(&w.fetch("t2", 10).await), ["3", "4", "5"]);
}

#[tokio::test]
async fn delayed_jobs_are_promoted_when_due() {
    let w = World::new().await;
    let at = now();
    w.add_at(
        "d",
        "1",
        JobOptions::new().delay(Duration::from_millis(200)),
        at,
    )
    .await; // 1
    w.add_at(
        "d",
        "2",
        JobOptions::new().delay(Duration::from_millis(200)),
        at,
    )
    .await; // 2
    w.add_at(
        "d",
        "3",
        JobOptions::new()
            .delay(Duration::from_millis(100))
            .priority(3),
        at,
    )
    .await;
    let scores: Vec<(String, f64)> = w
        .cmd(
            redis::cmd("ZRANGE")
                .arg(w.key("delayed"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await;
    let due = (at + 200) as f64 * 4096.0;
    assert_eq!(scores[1], ("1".to_owned(), due));
    assert_eq!(
        scores[2],
        ("2".to_owned(), due + 1.0),
        "same-ms jobs keep FIFO order"
    );
    let marker: Option<f64> = w
        .cmd(redis::cmd("ZSCORE").arg(w.key("marker")).arg("1"))
        .await;
    assert_eq!(
        marker,
        Some((at + 100) as f64),
        "the delay marker holds the next due time"
    );
    let events = w.events().await;
    let delayed: Vec<_> = events.iter().filter(|(e, _)| e == "delayed").collect();
    assert_eq!(
        delayed[0].1["delay"],
        (at + 200).to_string(),
        "absolute due time"
    );

    let early = w.fetch("t", 10).await;
    assert!(early.jobs.is_empty());
    assert_eq!(early.next_due_at, Some(at + 100));
    let mut req = w.fetch_request("t", 10);
    req.now = at + 250;
    let fetched = w.backend.job_move_to_active(req).await.expect("fetch");
    assert_eq!(
        ids(&fetched),
        ["1", "2", "3"],
        "wait first, then prioritized"
    );
    assert_eq!(fetched.next_due_at, None);
    let hash = w.hash("3").await;
    assert_eq!(hash["delay"], "0");
    let promoted = w
        .events()
        .await
        .into_iter()
        .filter(|(e, f)| e == "waiting" && f.get("prev").map(String::as_str) == Some("delayed"))
        .count();
    assert_eq!(promoted, 3);
}

#[tokio::test]
async fn pause_keeps_jobs_in_wait_and_blocks_fetching() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.set_paused(true).await;
    assert!(w.is_paused().await);
    w.add("a", "2", JobOptions::new()).await;
    let wait: Vec<String> = w
        .cmd(redis::cmd("LRANGE").arg(w.key("wait")).arg(0).arg(-1))
        .await;
    assert_eq!(
        wait,
        ["2", "1"],
        "BullMQ 6: a paused queue keeps its jobs in wait"
    );
    let paused_list: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("paused"))).await;
    assert_eq!(paused_list, 0);
    let marker: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("marker"))).await;
    assert_eq!(
        marker, 0,
        "pause deletes the marker and adds do not wake workers"
    );
    assert!(w.fetch("t", 10).await.jobs.is_empty());
    assert_eq!(w.counts().await.waiting, 2);

    w.set_paused(false).await;
    assert!(!w.is_paused().await);
    assert_eq!(ids(&w.fetch("t", 10).await), ["1", "2"]);
    let names: Vec<String> = w.events().await.into_iter().map(|(e, _)| e).collect();
    assert!(names.contains(&"paused".to_owned()) && names.contains(&"resumed".to_owned()));
}

#[tokio::test]
async fn a_legacy_paused_list_is_read_as_waiting_and_merged_on_resume() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    // what a 5.x pause leaves: wait renamed to paused, meta.paused set
    let _: () = w
        .cmd(redis::cmd("RENAME").arg(w.key("wait")).arg(w.key("paused")))
        .await;
    let _: () = w
        .cmd(redis::cmd("HSET").arg(w.key("meta")).arg("paused").arg(1))
        .await;
    w.add("a", "3", JobOptions::new()).await;
    assert_eq!(w.counts().await.waiting, 3);
    let record = w.get("1").await.expect("job");
    assert_eq!(record.state, JobState::Waiting);
    w.set_paused(false).await;
    let paused_left: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("paused"))).await;
    assert_eq!(paused_left, 0);
    assert_eq!(
        ids(&w.fetch("t", 10).await),
        ["1", "2", "3"],
        "legacy jobs first, FIFO kept"
    );

    // and a paused list nobody merged is still fetched
    w.add("a", "4", JobOptions::new()).await;
    let _: () = w
        .cmd(redis::cmd("RENAME").arg(w.key("wait")).arg(w.key("paused")))
        .await;
    assert_eq!(ids(&w.fetch("t", 10).await), ["4"]);
}

#[tokio::test]
async fn global_concurrency_and_rate_limit_from_meta_are_honoured() {
    let w = World::new().await;
    for i in 0..6 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    let _: () = w
        .cmd(
            redis::cmd("HSET")
                .arg(w.key("meta"))
                .arg("concurrency")
                .arg(2),
        )
        .await;
    assert_eq!(ids(&w.fetch("t", 10).await), ["1", "2"]);
    assert!(w.fetch("t", 10).await.jobs.is_empty(), "maxed out");
    let _: () = w
        .cmd(redis::cmd("HDEL").arg(w.key("meta")).arg("concurrency"))
        .await;
    let _: () = w
        .cmd(
            redis::cmd("HSET")
                .arg(w.key("meta"))
                .arg("max")
                .arg(3)
                .arg("duration")
                .arg(60_000),
        )
        .await;
    assert_eq!(ids(&w.fetch("t", 10).await), ["3", "4", "5"]);
    let limited = w.fetch("t", 10).await;
    assert!(limited.jobs.is_empty());
    assert!(
        limited
            .rate_limited_until
            .is_some_and(|t| t > now() + 50_000),
        "limited until the window ends"
    );
}

#[tokio::test]
async fn an_id_whose_hash_was_deleted_comes_back_as_a_malformed_job() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new().job_id("gone")).await;
    w.add("a", "2", JobOptions::new().job_id("kept")).await;
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("gone"))).await;

    let fetched = w.fetch("t1", 10).await;
    assert_eq!(ids(&fetched), ["gone", "kept"], "neither id is dropped");
    let reasons: Vec<Option<&str>> = fetched
        .jobs
        .iter()
        .map(|j| j.record.deferred_failure.as_deref())
        .collect();
    assert!(
        reasons[0].is_some_and(|r| r.contains("malformed job hash")),
        "the worker fails it with a clear reason: {reasons:?}"
    );
    assert_eq!(reasons[1], None, "the good job runs");
}
