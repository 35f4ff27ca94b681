//! Finishing attempts: lock checks per item, completed / retried / delayed / failed outcomes,
//! retention, events and fetch-next in the same call.

mod support;

use std::time::Duration;

use oxq_core::backend::{Finish, FinishJobs, Outcome, Retry};
use oxq_core::{Backend, Error, JobId, JobOptions, JobState, KeepJobs, LockToken};
use support::{World, ids, now};

fn completed(id: &str, token: &str, keep: KeepJobs) -> Finish {
    Finish {
        job_id: JobId::from(id),
        token: LockToken(token.to_owned()),
        outcome: Outcome::Completed {
            return_value: format!(r#"{{"done":"{id}"}}"#),
            keep,
        },
    }
}

fn failed(id: &str, token: &str, retry: Retry) -> Finish {
    Finish {
        job_id: JobId::from(id),
        token: LockToken(token.to_owned()),
        outcome: Outcome::Failed {
            reason: format!("boom {id}"),
            retry,
        },
    }
}

async fn finish(w: &World, items: Vec<Finish>) -> oxq_core::backend::FinishResult {
    w.backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items,
            fetch_next: None,
        })
        .await
        .expect("finish")
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_nothing_changes() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.fetch("mine", 1).await;
    let result = finish(
        &w,
        vec![
            completed("1", "theirs", KeepJobs::All),
            completed("9", "x", KeepJobs::All),
        ],
    )
    .await;
    assert!(matches!(result.items[0], Err(Error::LockLost(_))));
    assert!(matches!(result.items[1], Err(Error::JobNotFound(_))));
    let record = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(record.state, JobState::Active);
    let lock: String = w.cmd(redis::cmd("GET").arg(w.key("1:lock"))).await;
    assert_eq!(lock, "mine");

    let result = finish(&w, vec![completed("1", "mine", KeepJobs::All)]).await;
    assert!(result.items[0].is_ok());
    let again = finish(&w, vec![completed("1", "mine", KeepJobs::All)]).await;
    assert!(
        matches!(again.items[0], Err(Error::LockLost(_))),
        "a finished job is no longer held"
    );
}

#[tokio::test]
async fn completing_writes_the_result_and_events() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.fetch("t", 1).await;
    let result = finish(&w, vec![completed("1", "t", KeepJobs::All)]).await;
    assert!(result.items[0].is_ok());
    let hash = w.hash("1").await;
    assert_eq!(hash["returnvalue"], r#"{"done":"1"}"#);
    assert_eq!(hash["atm"], "1");
    assert_eq!(hash["ats"], "1");
    assert!(hash.contains_key("finishedOn") && hash.contains_key("processedOn"));
    let lock: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("1:lock"))).await;
    assert_eq!(lock, 0);
    let record = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(record.state, JobState::Completed);
    assert_eq!(record.finished_on, hash["finishedOn"].parse().ok());
    let events = w.events().await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        ["added", "waiting", "active", "completed", "drained"]
    );
    let done = &events[3].1;
    assert_eq!(done["jobId"], "1");
    assert_eq!(done["returnvalue"], r#"{"done":"1"}"#);
    assert_eq!(done["prev"], "active");
}

#[tokio::test]
async fn failures_retry_now_later_or_never() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new().attempts(3)).await;
    w.add("a", "2", JobOptions::new().attempts(3)).await;
    w.add("a", "3", JobOptions::new().attempts(1)).await;
    assert_eq!(ids(&w.fetch("t", 3).await), ["1", "2", "3"]);
    let at = now();
    let result = finish(
        &w,
        vec![
            failed("1", "t", Retry::Now),
            failed("2", "t", Retry::After(Duration::from_secs(60))),
            failed(
                "3",
                "t",
                Retry::Never {
                    keep: KeepJobs::All,
                },
            ),
        ],
    )
    .await;
    assert!(result.items.iter().all(Result::is_ok));

    let one = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!((one.state, one.attempts_made), (JobState::Waiting, 1));
    assert_eq!(one.failed_reason.as_deref(), Some("boom 1"));
    assert_eq!(one.stacktrace, ["boom 1"]);
    let two = w
        .backend
        .job_get(&w.queue, &"2".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(two.state, JobState::Delayed);
    assert!(two.due_at.is_some_and(|d| d >= at + 60_000));
    assert_eq!(w.hash("2").await["delay"], "60000");
    let three = w
        .backend
        .job_get(&w.queue, &"3".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(three.state, JobState::Failed);
    let hash = w.hash("3").await;
    assert_eq!(hash["failedReason"], "boom 3");
    assert_eq!(hash["stacktrace"], r#"["boom 3"]"#);

    let events = w.events().await;
    let tail: Vec<&str> = events.iter().skip(9).map(|(e, _)| e.as_str()).collect();
    assert_eq!(tail, ["waiting", "delayed", "failed", "retries-exhausted"]);
    assert_eq!(events[9].1["prev"], "active");
    assert!(events[10].1["delay"].parse::<u64>().expect("number") >= at + 60_000);
    assert_eq!(events[11].1["failedReason"], "boom 3");
    assert_eq!(events[12].1["attemptsMade"], "1");

    // the second failure of job 1 appends to the stacktrace
    assert_eq!(ids(&w.fetch("t2", 1).await), ["1"]);
    finish(
        &w,
        vec![failed(
            "1",
            "t2",
            Retry::Never {
                keep: KeepJobs::All,
            },
        )],
    )
    .await;
    let one = w
        .backend
        .job_get(&w.queue, &"1".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(one.stacktrace, ["boom 1", "boom 1"]);
    assert_eq!(one.attempts_made, 2);
}

#[tokio::test]
async fn retention_keeps_the_newest_or_removes_at_once() {
    let w = World::new().await;
    for i in 0..5 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    w.fetch("t", 5).await;
    let result = finish(
        &w,
        (1..=4)
            .map(|i| completed(&i.to_string(), "t", KeepJobs::Count(2)))
            .collect(),
    )
    .await;
    assert!(result.items.iter().all(Result::is_ok));
    let kept: Vec<String> = w
        .cmd(redis::cmd("ZRANGE").arg(w.key("completed")).arg(0).arg(-1))
        .await;
    assert_eq!(kept.len(), 2);
    let gone: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("1"))).await;
    assert_eq!(gone + kept.iter().filter(|k| *k == "1").count() as i64, 0);
    finish(&w, vec![completed("5", "t", KeepJobs::None)]).await;
    let five: i64 = w.cmd(redis::cmd("EXISTS").arg(w.key("5"))).await;
    assert_eq!(five, 0, "removeOnComplete: true deletes the job");
    let counts = w.backend.jobs_count(&w.queue).await.expect("counts");
    assert_eq!(counts.completed, 2);
}

#[tokio::test]
async fn age_retention_removes_old_jobs() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.add("a", "2", JobOptions::new()).await;
    w.fetch("t", 2).await;
    let old = now() - 10_000;
    w.backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: old,
            items: vec![completed("1", "t", KeepJobs::All)],
            fetch_next: None,
        })
        .await
        .expect("finish");
    let keep = KeepJobs::Age {
        max_age: Duration::from_secs(5),
        count: None,
    };
    finish(&w, vec![completed("2", "t", keep)]).await;
    let kept: Vec<String> = w
        .cmd(redis::cmd("ZRANGE").arg(w.key("completed")).arg(0).arg(-1))
        .await;
    assert_eq!(kept, ["2"]);
}

#[tokio::test]
async fn finishing_fetches_the_next_jobs_in_the_same_call() {
    let w = World::new().await;
    for i in 0..4 {
        w.add("a", &i.to_string(), JobOptions::new()).await;
    }
    w.fetch("t1", 1).await;
    let result = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![completed("1", "t1", KeepJobs::All)],
            fetch_next: Some(w.fetch_request("t2", 2)),
        })
        .await
        .expect("finish");
    assert!(result.items[0].is_ok());
    assert_eq!(ids(&result.fetched), ["2", "3"]);
    let lock: String = w.cmd(redis::cmd("GET").arg(w.key("3:lock"))).await;
    assert_eq!(lock, "t2");
    let drained = w
        .events()
        .await
        .iter()
        .filter(|(e, _)| e == "drained")
        .count();
    assert_eq!(drained, 0);
}

#[tokio::test]
async fn an_expired_lock_nobody_took_is_still_honoured() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new()).await;
    w.fetch("t", 1).await;
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("1:lock"))).await;
    let result = finish(&w, vec![completed("1", "t", KeepJobs::All)]).await;
    assert!(result.items[0].is_ok());
}

/// Makes job `parent` a flow parent waiting for job `child`, as Node's FlowProducer leaves
/// them (`parentKey`/`parent` on the child, `:dependencies` and `waiting-children` for the
/// parent). `flags` go into the child's `parent` JSON (e.g. `"fpof":true`).
async fn make_flow(w: &World, parent: &str, child: &str, flags: &str) {
    let parent_key = w.key(parent);
    let root = format!("{}:{}", w.queue.prefix, w.queue.name);
    let _: i64 = w
        .cmd(redis::cmd("LREM").arg(w.key("wait")).arg(0).arg(parent))
        .await;
    let _: i64 = w
        .cmd(
            redis::cmd("ZADD")
                .arg(w.key("waiting-children"))
                .arg(now())
                .arg(parent),
        )
        .await;
    let _: i64 = w
        .cmd(
            redis::cmd("SADD")
                .arg(format!("{parent_key}:dependencies"))
                .arg(w.key(child)),
        )
        .await;
    let info = format!(r#"{{"id":"{parent}","queueKey":"{root}"{flags}}}"#);
    let _: i64 = w
        .cmd(
            redis::cmd("HSET")
                .arg(w.key(child))
                .arg("parentKey")
                .arg(&parent_key)
                .arg("parent")
                .arg(info),
        )
        .await;
}

#[tokio::test]
async fn a_flow_child_completing_or_failing_releases_its_parent() {
    let w = World::new().await;
    // parent 1 waits for child 2, which completes
    w.add("parent", "1", JobOptions::new()).await;
    w.add("child", "2", JobOptions::new()).await;
    make_flow(&w, "1", "2", "").await;
    assert_eq!(
        ids(&w.fetch("t", 10).await),
        ["2"],
        "the parent is not runnable"
    );
    let result = finish(&w, vec![completed("2", "t", KeepJobs::All)]).await;
    assert!(result.items[0].is_ok());
    let processed: std::collections::HashMap<String, String> = w
        .cmd(redis::cmd("HGETALL").arg(format!("{}:processed", w.key("1"))))
        .await;
    assert_eq!(
        processed.get(&w.key("2")).map(String::as_str),
        Some(r#"{"done":"2"}"#)
    );
    assert_eq!(
        ids(&w.fetch("t2", 10).await),
        ["1"],
        "the parent runs once its child is done"
    );

    // parent 3 waits for child 4, which fails for good with fail-parent-on-failure
    w.add("parent", "3", JobOptions::new()).await;
    w.add("child", "4", JobOptions::new()).await;
    make_flow(&w, "3", "4", r#","fpof":true"#).await;
    assert_eq!(ids(&w.fetch("t3", 10).await), ["4"]);
    let keep = KeepJobs::All;
    let result = finish(&w, vec![failed("4", "t3", Retry::Never { keep })]).await;
    assert!(result.items[0].is_ok());
    let unsuccessful: Vec<String> = w
        .cmd(
            redis::cmd("ZRANGE")
                .arg(format!("{}:unsuccessful", w.key("3")))
                .arg(0)
                .arg(-1),
        )
        .await;
    assert_eq!(unsuccessful, [w.key("4")]);
    let parent = w.hash("3").await;
    assert!(
        parent.get("defa").is_some_and(|d| d.contains("failed")),
        "the parent is marked to fail: {parent:?}"
    );
    assert_eq!(
        ids(&w.fetch("t4", 10).await),
        ["3"],
        "the parent is released to fail"
    );
}

#[tokio::test]
async fn a_completion_uses_its_fetch_receipt_and_works_without_one() {
    let w = World::new().await;
    w.add("retried", "1", JobOptions::new().job_id("r")).await;
    w.add("other", "2", JobOptions::new().job_id("o")).await;
    let fetched = w.fetch("t1", 1).await;
    assert_eq!(ids(&fetched), ["r"]);
    let retry = finish(&w, vec![failed("r", "t1", Retry::Now)]).await;
    assert!(retry.items[0].is_ok());
    // "o" was waiting first, then "r" came back to the end of the line
    assert_eq!(ids(&w.fetch("t2", 2).await), ["o", "r"]);

    // this backend fetched "r": its completion reads nothing of the hash
    let _: () = w.cmd(redis::cmd("CONFIG").arg("RESETSTAT")).await;
    let done = finish(&w, vec![completed("r", "t2", KeepJobs::All)]).await;
    assert!(done.items[0].is_ok());
    assert_eq!(
        w.calls_of("hmget").await,
        0,
        "the receipt replaced the read"
    );
    let hash = w.hash("r").await;
    assert_eq!(
        hash.get("atm").map(String::as_str),
        Some("2"),
        "two attempts made"
    );
    assert_eq!(
        hash.get("returnvalue").map(String::as_str),
        Some(r#"{"done":"r"}"#)
    );

    // another process finishing "o" has no receipt: the script reads the hash itself
    let other = oxq_redis::connect(&w.server.url, oxq_redis::RedisOptions::default())
        .await
        .expect("second backend");
    let result = other
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![completed("o", "t2", KeepJobs::All)],
            fetch_next: None,
        })
        .await
        .expect("finish from another backend");
    assert!(result.items[0].is_ok());
    assert!(w.calls_of("hmget").await >= 1, "read without a receipt");
    assert_eq!(w.hash("o").await.get("atm").map(String::as_str), Some("1"));
    let record = w
        .backend
        .job_get(&w.queue, &"o".into())
        .await
        .expect("get")
        .expect("job");
    assert_eq!(record.state, JobState::Completed);
}

#[tokio::test]
async fn the_events_stream_stays_near_its_limit_through_fetches_and_completions() {
    let w = World::new().await;
    let _: i64 = w
        .cmd(
            redis::cmd("HSET")
                .arg(w.key("meta"))
                .arg("opts.maxLenEvents")
                .arg("10"),
        )
        .await;
    let jobs = 300;
    for n in 0..jobs {
        w.add("a", &n.to_string(), JobOptions::new()).await;
    }
    let xlen = || async { w.cmd::<u64>(redis::cmd("XLEN").arg(w.key("events"))).await };
    // approximate trimming drops whole stream nodes (100 entries by default), so "near" is
    // the limit plus one node; untrimmed, each step below would leave 300 more entries
    let near = 10 + 100;

    let fetched = w.fetch("t1", jobs).await;
    assert_eq!(fetched.jobs.len(), jobs as usize);
    let after_fetch = xlen().await;
    assert!(after_fetch <= near, "{after_fetch} events after the fetch");
    // one job left waiting: no `drained` event (whose own XADD would trim) after the finish
    w.add("a", "last", JobOptions::new()).await;

    let items = fetched
        .jobs
        .iter()
        .map(|j| completed(j.id.as_str(), "t1", KeepJobs::All))
        .collect();
    let done = finish(&w, items).await;
    assert!(done.items.iter().all(Result::is_ok));
    let after_finish = xlen().await;
    assert!(
        after_finish <= near,
        "{after_finish} events after the completions"
    );
}
