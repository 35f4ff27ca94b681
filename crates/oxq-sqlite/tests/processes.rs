//! Several stores on one file, as several processes use it: every job runs exactly once, ids
//! come from one counter, a write lock held elsewhere is a transient error, simultaneous opens
//! of a new file succeed, the stalled check runs once per interval whoever asks, and waiters
//! see the other process's writes (by polling the file).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use oxq_core::backend::{
    AddJobs, Fetch, FetchJobs, Finish, FinishJobs, ListJobs, NewJob, OfQueue, ReadEvents,
    RecoverStalled, WaitForJobs, Wakeup,
};
use oxq_core::clock::now_ms;
use oxq_core::{Backend, Event, JobOptions, KeepJobs, LockToken, QueueRef};
use oxq_sqlite::{SqliteBackend, SqliteOptions};

const PER_PRODUCER: usize = 600;

async fn produce(store: Arc<dyn Backend>, queue: QueueRef, tag: &'static str) {
    for chunk in 0..(PER_PRODUCER / 50) {
        let jobs = (0..50)
            .map(|i| NewJob {
                name: format!("{tag}-{}", chunk * 50 + i),
                data: "null".into(),
                options: JobOptions::new(),
            })
            .collect();
        store
            .job_add_bulk(AddJobs {
                queue: queue.clone(),
                jobs,
                now: now_ms(),
            })
            .await
            .unwrap();
    }
}

/// Fetches and completes jobs until the producers are done and the queue is empty.
async fn consume(
    store: Arc<dyn Backend>,
    queue: QueueRef,
    tag: &'static str,
    produced: Arc<AtomicBool>,
) -> Vec<String> {
    let mut done = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let token = LockToken(format!("{tag}:{round}"));
        let fetched = store
            .job_move_to_active(FetchJobs {
                queue: queue.clone(),
                fetch: Fetch {
                    token: token.clone(),
                    lock_duration: Duration::from_secs(30),
                    max_jobs: 7,
                    worker_name: Some(tag.into()),
                    limiter: None,
                },
                now: now_ms(),
            })
            .await
            .unwrap();
        if fetched.jobs.is_empty() {
            if produced.load(Ordering::SeqCst) {
                break;
            }
            // Nothing to do right now: wait in the store (wakes on the other process's adds).
            let _ = store
                .queue_wait(WaitForJobs {
                    queue: queue.clone(),
                    timeout: Duration::from_millis(20),
                    now: now_ms(),
                })
                .await
                .unwrap();
            continue;
        }
        let items = fetched
            .jobs
            .iter()
            .map(|job| Finish {
                job_id: job.record.id.clone(),
                token: token.clone(),
                end: completed(KeepJobs::All),
                memo: job.memo.clone(),
            })
            .collect();
        let result = store
            .job_finish(FinishJobs {
                queue: queue.clone(),
                now: now_ms(),
                items,
                fetch_next: None,
                metrics: None,
            })
            .await
            .unwrap();
        assert!(result.items.iter().all(|r| r.is_ok()), "{:?}", result.items);
        done.extend(fetched.jobs.into_iter().map(|j| j.record.name));
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_queue_without_losing_or_repeating_jobs() {
    let h = Harness::new().await;
    let a: Arc<dyn Backend> = h.store.clone();
    let b: Arc<dyn Backend> = h.other_process().await;
    let q = h.queue.clone();
    let producers = [
        tokio::spawn(produce(a.clone(), q.clone(), "a")),
        tokio::spawn(produce(b.clone(), q.clone(), "b")),
    ];
    let produced = Arc::new(AtomicBool::new(false));
    let consumers = [
        tokio::spawn(consume(a.clone(), q.clone(), "ca", produced.clone())),
        tokio::spawn(consume(b.clone(), q.clone(), "cb", produced.clone())),
    ];
    for p in producers {
        p.await.unwrap();
    }
    produced.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 2 * PER_PRODUCER, "every job ran once");
    assert_eq!(unique.len(), 2 * PER_PRODUCER);
    let counts = a.jobs_count(OfQueue { queue: q.clone() }).await.unwrap();
    assert_eq!(counts.completed, 2 * PER_PRODUCER as u64);
    // Ids were handed out by both processes from one counter.
    let ids: HashSet<_> = a
        .jobs_list(ListJobs {
            queue: q.clone(),
            states: vec![oxq_core::JobState::Completed],
            offset: 0,
            limit: 10_000,
            ascending: true,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id.0.parse::<usize>().unwrap())
        .collect();
    assert_eq!(ids, (1..=2 * PER_PRODUCER).collect());
}

#[tokio::test]
async fn a_write_lock_held_too_long_elsewhere_is_a_transient_error() {
    let h = Harness::with_options(
        oxq_sqlite::SqliteOptions::default().busy_timeout(Duration::from_millis(100)),
    )
    .await;
    h.add("before", JobOptions::new()).await;
    // Another process holds the write lock and does not let go.
    let blocker = h.sql();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = h
        .store
        .job_add_bulk(AddJobs {
            queue: h.queue.clone(),
            jobs: vec![NewJob {
                name: "x".into(),
                data: "null".into(),
                options: JobOptions::new(),
            }],
            now: T0,
        })
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    // Reads are not blocked by a writer.
    let counts = h.store.jobs_count(OfQueue {
        queue: h.queue.clone(),
    });
    assert_eq!(counts.await.unwrap().waiting, 1);
    blocker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(h.add("after", JobOptions::new()).await.as_str(), "2");
}

/// Processes started together on a file that does not exist yet (a worker and a producer
/// launched by one script): every open succeeds, however the creation, the switch to WAL and
/// the migration interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_opens_of_a_new_file_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..25 {
        let path = dir.path().join(format!("race-{round}.db"));
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime
                        .block_on(SqliteBackend::open(&path, SqliteOptions::default()))
                        .map(|_| ())
                })
            })
            .collect();
        for open in opens {
            let opened = open.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

fn recover(h: &Harness, now: u64) -> RecoverStalled {
    RecoverStalled {
        queue: h.queue.clone(),
        max_stalled_count: 1,
        interval: Duration::from_secs(30),
        now,
    }
}

/// The last check's time is in the file: a process asking within the interval of another
/// process's check recovers nothing, even with a lock expired; after the interval it does.
#[tokio::test]
async fn the_stalled_check_runs_once_per_interval_across_processes() {
    let h = Harness::new().await;
    let other = h.other_process().await;
    h.add("a", JobOptions::new()).await;
    h.fetch("t1", 1, T0).await; // locked until T0 + 30 s
    let first = h
        .store
        .stalled_recover(recover(&h, T0 + 1_000))
        .await
        .unwrap();
    assert!(first.job_ids.is_empty());
    let gated = other
        .stalled_recover(recover(&h, T0 + 30_500))
        .await
        .unwrap();
    assert!(gated.job_ids.is_empty(), "within the interval: {gated:?}");
    let after = other
        .stalled_recover(recover(&h, T0 + 31_000))
        .await
        .unwrap();
    assert_eq!(after.job_ids.len(), 1);
}

/// A waiter blocked in one process finds a job another process added, by polling the file
/// (default `poll_interval`: 50 ms).
#[tokio::test]
async fn a_waiter_sees_an_add_from_another_process() {
    let h = Harness::new().await;
    let other = h.other_process().await;
    let store = h.store.clone();
    let request = WaitForJobs {
        queue: h.queue.clone(),
        timeout: Duration::from_secs(10),
        now: now_ms(),
    };
    let waiter = tokio::spawn(async move { store.queue_wait(request).await });
    until_parked(&h.store, &h.queue).await;
    add_to(other.as_ref(), &h.queue, "x", JobOptions::new(), now_ms()).await;
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wakeup::JobsReady);
}

/// A blocking `events_read` in one process returns the event another process wrote.
#[tokio::test]
async fn a_blocked_events_read_sees_an_event_from_another_process() {
    let h = Harness::new().await;
    let other = h.other_process().await;
    let store = h.store.clone();
    let request = ReadEvents {
        queue: h.queue.clone(),
        after: None,
        block: Duration::from_secs(10),
        max: 10,
    };
    let reader = tokio::spawn(async move { store.events_read(request).await });
    until_parked(&h.store, &h.queue).await;
    add_to(other.as_ref(), &h.queue, "x", JobOptions::new(), now_ms()).await;
    let events = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        events[0].event,
        Event::Added {
            job_id: "1".into(),
            name: "x".into()
        }
    );
}
