//! Blocking: `queue_wait` on the marker (wakes on an add, reports a delayed job's due time,
//! times out, survives being cancelled) and `events_read` on the stream.

mod support;

use std::time::{Duration, Instant};

use oxq_core::backend::{ReadEvents, WaitForJobs, Wakeup};
use oxq_core::{Backend, Event, JobId, JobOptions};
use support::{World, now};

fn wait_for(w: &World, timeout: Duration) -> WaitForJobs {
    WaitForJobs {
        queue: w.queue.clone(),
        timeout,
    }
}

#[tokio::test]
async fn queue_wait_wakes_on_an_add_and_times_out_otherwise() {
    let w = World::new().await;
    let started = Instant::now();
    let woke = w
        .backend
        .queue_wait(wait_for(&w, Duration::from_millis(300)))
        .await
        .expect("wait");
    assert_eq!(woke, Wakeup::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(290));

    let backend = w.backend.clone();
    let request = wait_for(&w, Duration::from_secs(10));
    let waiter = tokio::spawn(async move { backend.queue_wait(request).await });
    // let the waiter block before adding (it must be woken, not find a marker already there)
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    w.add("a", "1", JobOptions::new()).await;
    let woke = waiter.await.expect("join").expect("wait");
    assert_eq!(woke, Wakeup::JobsReady);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "woken by the add, not by the timeout"
    );
}

#[tokio::test]
async fn a_delayed_add_is_reported_once_as_a_due_time() {
    let w = World::new().await;
    let at = now();
    w.add_at(
        "d",
        "1",
        JobOptions::new().delay(Duration::from_secs(5)),
        at,
    )
    .await;
    let woke = w
        .backend
        .queue_wait(wait_for(&w, Duration::from_secs(2)))
        .await
        .expect("wait");
    assert_eq!(woke, Wakeup::DueAt(at + 5000));
    let again = w
        .backend
        .queue_wait(wait_for(&w, Duration::from_millis(200)))
        .await
        .expect("wait");
    assert_eq!(again, Wakeup::TimedOut, "the hint is not repeated");
}

#[tokio::test]
async fn a_cancelled_wait_loses_no_wakeup() {
    let w = World::new().await;
    // Each round drops the wait 3 ms after it starts, while the add comes 0..=6 ms after it:
    // early adds may be delivered before the cut, late ones cannot be (the wait is dropped
    // while still blocked, and Redis hands the marker to an abandoned command). In every case
    // the next wait must still see the add.
    const CUT: Duration = Duration::from_millis(3);
    let mut cancelled = 0;
    for i in 0..21u64 {
        let backend = w.backend.clone();
        let queue = w.queue.clone();
        let add_after = Duration::from_millis(i % 7);
        let add = tokio::spawn(async move {
            tokio::time::sleep(add_after).await;
            let job = oxq_core::backend::NewJob {
                name: "a".into(),
                data: "1".into(),
                options: JobOptions::new(),
            };
            backend
                .job_add_bulk(oxq_core::backend::AddJobs {
                    queue,
                    jobs: vec![job],
                    now: now(),
                })
                .await
        });
        let first = tokio::time::timeout(
            CUT,
            w.backend.queue_wait(wait_for(&w, Duration::from_secs(5))),
        )
        .await;
        add.await.expect("join").expect("add");
        match first {
            // the wake-up was delivered before the cut
            Ok(woke) => assert_eq!(woke.expect("wait"), Wakeup::JobsReady, "round {i}"),
            // the wait was dropped: the next one still sees the add
            Err(_) => {
                cancelled += 1;
                let woke = w
                    .backend
                    .queue_wait(wait_for(&w, Duration::from_secs(3)))
                    .await
                    .expect("wait");
                assert_eq!(woke, Wakeup::JobsReady, "round {i}");
            }
        }
        let _: i64 = w.cmd(redis::cmd("DEL").arg(w.key("marker"))).await;
    }
    // the rounds whose add comes after the cut (4, 5 and 6 ms) are cancelled whatever the timing
    assert!(
        cancelled >= 9,
        "only {cancelled} of 21 waits were cancelled"
    );
}

#[tokio::test]
async fn paused_queues_do_not_wake_workers() {
    let w = World::new().await;
    w.backend.queue_pause(&w.queue, now()).await.expect("pause");
    w.add("a", "1", JobOptions::new()).await;
    let woke = w
        .backend
        .queue_wait(wait_for(&w, Duration::from_millis(200)))
        .await
        .expect("wait");
    assert_eq!(woke, Wakeup::TimedOut);
    w.backend
        .queue_resume(&w.queue, now())
        .await
        .expect("resume");
    let woke = w
        .backend
        .queue_wait(wait_for(&w, Duration::from_secs(2)))
        .await
        .expect("wait");
    assert_eq!(woke, Wakeup::JobsReady);
}

#[tokio::test]
async fn events_are_read_in_order_with_their_fields() {
    let w = World::new().await;
    assert_eq!(
        w.backend.events_latest(&w.queue).await.expect("latest"),
        None
    );
    w.add("send", "1", JobOptions::new()).await;
    w.add(
        "later",
        "2",
        JobOptions::new().delay(Duration::from_secs(60)),
    )
    .await;
    w.backend
        .job_update_progress(oxq_core::backend::UpdateProgress {
            queue: w.queue.clone(),
            job_id: JobId::from("1"),
            progress: r#"{"page":3}"#.into(),
        })
        .await
        .expect("progress");
    let read = |after| ReadEvents {
        queue: w.queue.clone(),
        after,
        block: Duration::ZERO,
        max: 100,
    };
    let events = w.backend.events_read(read(None)).await.expect("read");
    let kinds: Vec<&str> = events.iter().map(|e| e.event.name()).collect();
    assert_eq!(kinds, ["added", "waiting", "added", "delayed", "progress"]);
    assert_eq!(
        events[0].event,
        Event::Added {
            job_id: JobId::from("1"),
            name: "send".into()
        }
    );
    assert!(matches!(&events[3].event, Event::Delayed { due_at, .. } if *due_at > now() + 50_000));
    assert!(matches!(&events[4].event, Event::Progress { data, .. } if data == r#"{"page":3}"#));
    assert!(events[0].timestamp > 0);
    let latest = w.backend.events_latest(&w.queue).await.expect("latest");
    assert_eq!(latest.as_ref(), Some(&events[4].id));
    let raw = w.events().await;
    assert_eq!(raw[4].1["data"], r#"{"page":3}"#);

    // a blocking read from the newest event wakes on the next one
    let backend = w.backend.clone();
    let mut request = read(latest);
    request.block = Duration::from_secs(10);
    let reader = tokio::spawn(async move { backend.events_read(request).await });
    tokio::time::sleep(Duration::from_millis(100)).await; // let the reader block first
    w.backend.queue_pause(&w.queue, now()).await.expect("pause");
    let next = reader.await.expect("join").expect("read");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event, Event::Paused);
}

#[tokio::test]
async fn unknown_events_are_skipped_without_spinning() {
    let w = World::new().await;
    for _ in 0..3 {
        let _: String = w
            .cmd(
                redis::cmd("XADD")
                    .arg(w.key("events"))
                    .arg("*")
                    .arg("event")
                    .arg("custom")
                    .arg("x")
                    .arg("1"),
            )
            .await;
    }
    let started = Instant::now();
    let events = w
        .backend
        .events_read(ReadEvents {
            queue: w.queue.clone(),
            after: None,
            block: Duration::from_millis(300),
            max: 2,
        })
        .await
        .expect("read");
    assert!(events.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it blocked after the unknown ones"
    );
    w.add("a", "1", JobOptions::new()).await;
    let events = w
        .backend
        .events_read(ReadEvents {
            queue: w.queue.clone(),
            after: None,
            block: Duration::ZERO,
            max: 2,
        })
        .await
        .expect("read");
    assert_eq!(
        events.len(),
        1,
        "the batch held two unknown events and `added`"
    );
    assert!(matches!(events[0].event, Event::Added { .. }));
}
