//! The database file deleted or replaced under a running worker and producer, and errors met
//! while running: each surfaces as an error that names the file and says what happened. A
//! replaced or deleted file is a permanent refusal (the worker reports `StoreFailing` and, with
//! `stop_after_permanent_errors`, stops with the message); a file locked by another connection
//! is a transient error naming the file.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oxq_core::{Error, Job, JobOptions, Queue, QueueRef, Worker, WorkerEvent, WorkerOptions};
use oxq_sqlite::{SqliteBackend, SqliteOptions};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

struct Running {
    _dir: tempfile::TempDir,
    path: PathBuf,
    queue: Queue<u32>,
    worker: Worker,
    events: mpsc::UnboundedReceiver<WorkerEvent>,
}

/// A worker on `<tmp>/q.db` that has run one job (so it is up and waiting for the next) and
/// stops after two permanent store errors in a row.
async fn running_worker() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let store = SqliteBackend::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let queue: Queue<u32> = Queue::from_ref(store, QueueRef::new("jobs").unwrap());
    let (tx, mut events) = mpsc::unbounded_channel();
    let options = WorkerOptions::new()
        .drain_delay(Duration::from_millis(200))
        .close_timeout(Duration::from_secs(1))
        .stop_after_permanent_errors(2)
        .on_event(move |e| {
            let _ = tx.send(e.clone());
        });
    let worker = Worker::start(&queue, options, |_job: Job<u32>| async move {
        Ok::<_, String>(())
    });
    queue.add("first", 1, JobOptions::new()).await.unwrap();
    next_event(&mut events, |e| {
        matches!(e, WorkerEvent::Completed { .. }).then(String::new)
    })
    .await;
    Running {
        _dir: dir,
        path,
        queue,
        worker,
        events,
    }
}

/// What `pick` takes from the first worker event it accepts.
async fn next_event(
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    pick: impl Fn(&WorkerEvent) -> Option<String>,
) -> String {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no matching worker event within {WAIT:?}"))
            .expect("the listener lives");
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// Waits for the worker to report the store failing, then to stop by itself; checks that the
/// report, the reason it stopped and a producer's error all name the file and `what` happened.
async fn assert_stops_naming(mut running: Running, what: &str) {
    let file = running.path.display().to_string();
    let failing = next_event(&mut running.events, |e| match e {
        WorkerEvent::StoreFailing { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    eprintln!("the worker reported: {failing}");
    assert!(
        failing.contains(&format!("the sqlite file {file} was {what} while")),
        "{failing}"
    );
    let stopped = tokio::time::timeout(WAIT, running.worker.run_until_signal())
        .await
        .expect("the worker stops by itself after two permanent errors in a row");
    let reason = stopped
        .expect_err("run_until_signal says why the worker stopped")
        .to_string();
    eprintln!("the worker stopped: {reason}");
    assert!(
        reason.contains("2 permanent store errors") && reason.contains(&file),
        "{reason}"
    );
    assert!(reason.contains("start them again"), "{reason}");

    let refused = running
        .queue
        .add("after", 2, JobOptions::new())
        .await
        .expect_err("a producer on the lost file is refused too");
    assert!(matches!(refused, Error::Refused { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains(&format!("{file} was {what}")),
        "{refused}"
    );
}

/// A consistent copy of the database at `path` (what a backup is), written to `to`.
fn backup(path: &Path, to: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_replaced_under_a_running_worker_stops_it_naming_the_file() {
    let running = running_worker().await;
    let restored = running.path.with_file_name("restored.db");
    backup(&running.path, &restored);
    std::fs::rename(&restored, &running.path).unwrap();
    assert_stops_naming(running, "replaced").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_under_a_running_worker_stops_it_naming_the_file() {
    let running = running_worker().await;
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("q.db{suffix}");
        let _ = std::fs::remove_file(running.path.with_file_name(name));
    }
    assert!(!running.path.exists());
    assert_stops_naming(running, "deleted").await;
}

#[tokio::test]
async fn a_file_locked_by_another_connection_is_named_in_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(50));
    let store: Arc<SqliteBackend> = SqliteBackend::open(&path, options).await.unwrap();
    let queue: Queue<u32> = Queue::from_ref(store, QueueRef::new("jobs").unwrap());
    queue.add("before", 1, JobOptions::new()).await.unwrap();

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = queue
        .add("while locked", 2, JobOptions::new())
        .await
        .expect_err("another connection holds the write lock");
    other.execute_batch("ROLLBACK").unwrap();
    let text = err.to_string();
    eprintln!("the add failed: {text}");
    assert!(err.is_transient(), "{err:?}");
    assert!(
        text.contains(&format!(
            "the sqlite file {} is locked by another connection",
            path.display()
        )),
        "{text}"
    );
    queue.add("after", 3, JobOptions::new()).await.unwrap();
}
