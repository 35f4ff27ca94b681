//! A worker process whose SQLite file is replaced (a backup restored with `mv` over it) or
//! deleted while it runs: `echo_worker` (with `--stop-after-store-errors` on, its default)
//! exits non-zero with a last line that names the file and says what happened, instead of
//! running on a file nobody else sees while jobs added to the new one never run.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oxq::prelude::*;
use support::{example, wait_until};

/// Starts `echo_worker` on `url`, adds one job and waits until the worker has run it.
async fn worker_that_ran_a_job(url: &str) -> Child {
    let queue: Queue = Queue::connect(url, "lost").await.expect("connect");
    let worker = Command::new(example("echo_worker"))
        .args(["--url", url, "--queue", "lost"])
        .args(["--stop-after-store-errors", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo_worker");
    queue
        .add("n", serde_json::json!({}), JobOptions::new())
        .await
        .expect("add");
    wait_until(
        Duration::from_secs(20),
        "the worker runs the job",
        || async { queue.counts().await.is_ok_and(|c| c.completed == 1) },
    )
    .await;
    worker
}

/// Waits for the worker to exit by itself; answers its `echo_worker: …` line. A worker still
/// running after 30 s is killed and the test fails with what it logged.
async fn exit_line(worker: Child) -> String {
    let pid = worker.id().to_string();
    let mut waiting = tokio::task::spawn_blocking(move || worker.wait_with_output());
    let exited = tokio::time::timeout(Duration::from_secs(30), &mut waiting).await;
    let in_time = exited.is_ok();
    if !in_time {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
    let output = match exited {
        Ok(done) => done,
        Err(_) => waiting.await,
    }
    .expect("join")
    .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        in_time,
        "the worker did not exit by itself within 30 s; it logged:\n{stderr}"
    );
    assert!(!output.status.success(), "exit status {:?}", output.status);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("echo_worker: "))
        .unwrap_or_else(|| panic!("no exit message on stderr: {stderr}"));
    eprintln!("{line}");
    line.to_owned()
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_file_is_replaced_exits_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("q.db");
    let worker = worker_that_ran_a_job(&url_of(&path)).await;

    let restored = dir.path().join("restored.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute("VACUUM INTO ?1", [restored.display().to_string()]))
        .expect("back the file up");
    std::fs::rename(&restored, &path).expect("restore the backup over the file");

    let line = exit_line(worker).await;
    assert!(
        line.contains("3 permanent store errors")
            && line.contains(&format!("the sqlite file {} was replaced", path.display())),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_file_is_deleted_exits_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("q.db");
    let worker = worker_that_ran_a_job(&url_of(&path)).await;

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("q.db{suffix}")));
    }

    let line = exit_line(worker).await;
    assert!(
        line.contains(&format!("the sqlite file {} was deleted", path.display())),
        "{line}"
    );
}
