//! Finishing attempts, as written to Redis: the hash fields and event fields Node reads for a
//! completion and for each kind of failure, a Node flow's parent released by its child, the
//! fetch's memo saving the completion's read of the hash, the events stream trimmed through a
//! batch, and idle workers woken when a finish or a cancel frees a slot under the queue's
//! global concurrency. What a finish does is the store contract (`oxq-testkit`,
//! `store::finish`).

mod support;

use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, CancelJob, Cancellation, ChangeLimits, FetchedJob, Finish, FinishJobs, LimitChange,
    Limits, Retry, StoreMemo, WaitForJobs, Wakeup,
};
use oxq_core::{Backend, JobId, JobOptions, JobState, KeepJobs, LockToken};
use support::{World, ids, now};

/// A completion of job `id` without a memo (the script reads what it needs).
fn completed(id: &str, token: &str, keep: KeepJobs) -> Finish {
    Finish {
        job_id: JobId::from(id),
        token: LockToken(token.to_owned()),
        end: AttemptEnd::Completed {
            return_value: format!(r#"{{"done":"{id}"}}"#),
            keep,
        },
        memo: StoreMemo::none(),
    }
}

/// The completion of a fetched job, with the memo it was fetched with.
fn completed_with_memo(job: &FetchedJob, token: &str) -> Finish {
    Finish {
        memo: job.memo.clone(),
        ..completed(job.record.id.as_str(), token, KeepJobs::All)
    }
}

fn failed(id: &str, token: &str, retry: Retry) -> Finish {
    Finish {
        job_id: JobId::from(id),
        token: LockToken(token.to_owned()),
        end: AttemptEnd::Failed {
            reason: format!("boom {id}"),
            retry,
        },
        memo: StoreMemo::none(),
    }
}

async fn finish(w: &World, items: Vec<Finish>) -> oxq_core::backend::FinishResult {
    w.backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items,
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish")
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
    let record = w.get("1").await.expect("job");
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

    let one = w.get("1").await.expect("job");
    assert_eq!((one.state, one.attempts_made), (JobState::Waiting, 1));
    assert_eq!(one.failed_reason.as_deref(), Some("boom 1"));
    assert_eq!(one.stacktrace, ["boom 1"]);
    let two = w.get("2").await.expect("job");
    assert_eq!(two.state, JobState::Delayed);
    assert!(two.due_at.is_some_and(|d| d >= at + 60_000));
    assert_eq!(w.hash("2").await["delay"], "60000");
    let three = w.get("3").await.expect("job");
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
    let one = w.get("1").await.expect("job");
    assert_eq!(one.stacktrace, ["boom 1", "boom 1"]);
    assert_eq!(one.attempts_made, 2);
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
async fn a_completion_with_its_fetch_memo_reads_nothing_of_the_hash() {
    let w = World::new().await;
    w.add("retried", "1", JobOptions::new().job_id("r")).await;
    w.add("other", "2", JobOptions::new().job_id("o")).await;
    let fetched = w.fetch("t1", 1).await;
    assert_eq!(ids(&fetched), ["r"]);
    let retry = finish(&w, vec![failed("r", "t1", Retry::Now)]).await;
    assert!(retry.items[0].is_ok());
    // "o" was waiting first, then "r" came back to the end of the line
    let fetched = w.fetch("t2", 2).await;
    assert_eq!(ids(&fetched), ["o", "r"]);

    // "r" comes back with the memo of its fetch: the completion reads nothing of the hash
    let _: () = w.cmd(redis::cmd("CONFIG").arg("RESETSTAT")).await;
    let done = finish(&w, vec![completed_with_memo(&fetched.jobs[1], "t2")]).await;
    assert!(done.items[0].is_ok());
    // one HMGET per call reads the queue's settings (meta); none reads the job's hash
    let with_memo = w.calls_of("hmget").await;
    assert_eq!(with_memo, 1, "the memo replaced the read");
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

    // "o" finished by another process, without the memo: the script reads the hash itself
    let other = oxq_redis::connect(&w.server.url, oxq_redis::RedisOptions::default())
        .await
        .expect("second backend");
    let result = other
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![completed("o", "t2", KeepJobs::All)],
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish from another backend");
    assert!(result.items[0].is_ok());
    assert!(
        w.calls_of("hmget").await >= with_memo + 2,
        "read without a memo (the settings, then the hash)"
    );
    assert_eq!(w.hash("o").await.get("atm").map(String::as_str), Some("1"));
    assert_eq!(w.get("o").await.expect("job").state, JobState::Completed);
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
        .map(|j| completed_with_memo(j, "t1"))
        .collect();
    let done = finish(&w, items).await;
    assert!(done.items.iter().all(Result::is_ok));
    let after_finish = xlen().await;
    assert!(
        after_finish <= near,
        "{after_finish} events after the completions"
    );
}

/// What an idle worker's wait on the queue answers within `timeout` (a real-time bound: the
/// wait returns as soon as a marker is there).
async fn idle_wait(w: &World, timeout: Duration) -> Wakeup {
    w.backend
        .queue_wait(WaitForJobs {
            queue: w.queue.clone(),
            timeout,
            now: now(),
        })
        .await
        .expect("wait")
}

#[tokio::test]
async fn freeing_a_slot_under_the_global_concurrency_wakes_idle_workers() {
    let w = World::new().await;
    w.backend
        .limits_change(ChangeLimits {
            queue: w.queue.clone(),
            change: LimitChange::SetConcurrency(1),
        })
        .await
        .expect("global concurrency 1");
    w.add("a", "1", JobOptions::new().job_id("j1")).await;
    assert_eq!(ids(&w.fetch("t1", 1).await), ["j1"]);
    // the marker of j1's add, which a woken worker would have taken
    assert_eq!(
        idle_wait(&w, Duration::from_secs(10)).await,
        Wakeup::JobsReady
    );
    // the queue is at its concurrency: the add wakes nobody, a worker that looks finds nothing
    w.add("a", "2", JobOptions::new().job_id("j2")).await;
    assert_eq!(
        idle_wait(&w, Duration::from_millis(50)).await,
        Wakeup::TimedOut,
        "no marker while the queue is full"
    );
    assert!(
        ids(&w.fetch("t2", 1).await).is_empty(),
        "at the concurrency"
    );

    // j1 completes on its worker, which fetches nothing next: the idle worker wakes
    finish(&w, vec![completed("j1", "t1", KeepJobs::All)]).await;
    assert_eq!(
        idle_wait(&w, Duration::from_secs(10)).await,
        Wakeup::JobsReady,
        "the finish woke the idle worker"
    );
    assert_eq!(ids(&w.fetch("t2", 1).await), ["j2"]);

    // a cancel of the active job frees the slot too
    w.add("a", "3", JobOptions::new().job_id("j3")).await;
    assert_eq!(
        idle_wait(&w, Duration::from_millis(50)).await,
        Wakeup::TimedOut
    );
    w.backend
        .job_cancel(CancelJob {
            queue: w.queue.clone(),
            job_id: JobId::from("j2"),
            now: now(),
        })
        .await
        .expect("cancel");
    assert_eq!(
        idle_wait(&w, Duration::from_secs(10)).await,
        Wakeup::JobsReady,
        "the cancel woke the idle worker"
    );
    assert_eq!(ids(&w.fetch("t2", 1).await), ["j3"]);
}

#[tokio::test]
async fn a_finish_without_a_global_concurrency_adds_no_marker() {
    let w = World::new().await;
    w.add("a", "1", JobOptions::new().job_id("j1")).await;
    assert_eq!(ids(&w.fetch("t1", 1).await), ["j1"]);
    // the add's marker was taken by nobody: clear it, as a woken worker would
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("marker"))).await;
    w.add("a", "2", JobOptions::new().job_id("j2")).await;
    let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("marker"))).await;
    finish(&w, vec![completed("j1", "t1", KeepJobs::All)]).await;
    let markers: u64 = w.cmd(redis::cmd("ZCARD").arg(w.key("marker"))).await;
    assert_eq!(markers, 0, "idle workers were woken by the add already");
}
