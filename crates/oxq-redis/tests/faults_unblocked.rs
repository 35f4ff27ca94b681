//! Fault: the server cuts a worker's blocking wait short with `-UNBLOCKED` (an operator's
//! `CLIENT UNBLOCK id ERROR`; Redis does the same to blocked clients when the instance turns
//! into a replica). The wait popped nothing, so the worker looks again: no store failure is
//! reported, `stop_after_permanent_errors` does not stop it, and it runs the next job.

mod support;

use std::time::{Duration, Instant};

use oxq_core::{Job, JobOptions, Queue, Worker, WorkerEvent, WorkerOptions};
use support::World;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

/// Ids of the clients blocked in `BZPOPMIN` right now.
async fn blocked_clients(w: &World) -> Vec<String> {
    let list: String = w.cmd(redis::cmd("CLIENT").arg("LIST")).await;
    list.lines()
        // `cmd` is the client's last command; flag `b` says it is blocked in it now
        .filter(|line| {
            let mut fields = line.split(' ');
            let blocked = |f: &str| f.strip_prefix("flags=").is_some_and(|v| v.contains('b'));
            line.split(' ').any(|field| field == "cmd=bzpopmin") && fields.any(blocked)
        })
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect()
}

/// Waits until a client blocks in `BZPOPMIN` and answers its id. The worker is another task
/// whose blocking command only the server can see, so this asks the server until it does.
async fn a_blocked_client(w: &World) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(id) = blocked_clients(w).await.into_iter().next() {
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "no client blocked in BZPOPMIN within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_cut_short_by_the_server_is_not_a_store_failure() {
    let w = World::new().await;
    let queue: Queue<u32> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let options = WorkerOptions::new()
        // one permanent error would stop the worker: an `-UNBLOCKED` taken as one fails the test
        .stop_after_permanent_errors(1)
        // long waits, so the worker sits in BZPOPMIN while the test unblocks it
        .drain_delay(Duration::from_secs(5))
        .on_event(move |e| {
            let _ = events_tx.send(e.clone());
        });
    let worker = Worker::start(&queue, options, move |job: Job<u32>| {
        let done_tx = done_tx.clone();
        async move {
            let _ = done_tx.send(*job.data());
            Ok::<_, String>(())
        }
    });

    for _ in 0..3 {
        let id = a_blocked_client(&w).await;
        let unblocked: i64 = w
            .cmd(redis::cmd("CLIENT").arg("UNBLOCK").arg(&id).arg("ERROR"))
            .await;
        assert_eq!(unblocked, 1, "client {id} was blocked");
    }
    queue.add("n", 7, JobOptions::new()).await.expect("add");
    let ran = tokio::time::timeout(WAIT, done.recv())
        .await
        .expect("the worker runs the job added after its waits were cut short");
    assert_eq!(ran, Some(7));

    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, WorkerEvent::StoreFailing { .. }),
            "an -UNBLOCKED wait was reported as a store failure: {event:?}"
        );
    }
    worker.close().await.expect("the worker was still running");
}
