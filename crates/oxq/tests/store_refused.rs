//! A worker process on a store that refuses writes: `echo_worker` (whose
//! `--stop-after-store-errors` is on by default) exits non-zero with a message naming the cause
//! and what to do, instead of retrying silently forever. The test's own `redis-server` is made
//! a replica of a port nobody listens on, so every write answers `-READONLY`; a SQLite file
//! and its WAL files are made read-only (the worker runs as `nobody` when the test runs as
//! root, since root writes any file).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use oxq::prelude::*;
use oxq_testkit::redis_server::{RedisServer, free_port};
use support::example;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_a_read_only_replica_exits_non_zero_naming_the_cause() {
    let server = RedisServer::start();
    let port = server.port;
    let url = server.url();
    let queue: Queue = Queue::connect(&url, "refused").await.expect("connect");
    queue
        .add("n", serde_json::json!({}), JobOptions::new())
        .await
        .expect("add");
    let replica_of = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "REPLICAOF", "127.0.0.1"])
        .arg(free_port().to_string())
        .output()
        .expect("redis-cli");
    assert!(replica_of.status.success(), "{replica_of:?}");

    let worker = Command::new(example("echo_worker"))
        .args(["--url", &url, "--queue", "refused"])
        .args(["--stop-after-store-errors", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo_worker");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || worker.wait_with_output()),
    )
    .await
    .expect("the worker exits by itself")
    .expect("join")
    .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status {:?}", output.status);
    assert!(
        stderr.contains("3 permanent store errors") && stderr.contains("read-only replica"),
        "stderr: {stderr}"
    );
    // the exit message itself names the server (the start-up log line does too)
    let exit_line = stderr
        .lines()
        .find(|l| l.starts_with("echo_worker: "))
        .unwrap_or_default();
    assert!(
        exit_line.contains(&format!("redis at 127.0.0.1:{port}")),
        "stderr: {stderr}"
    );
}

/// Runs as another user when this test runs as root (root may write any file, so a read-only
/// file would not be read-only to it): `setpriv` to `nobody`.
fn as_unprivileged(program: &std::path::Path) -> Option<Command> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some(Command::new(program));
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(program);
    Command::new("setpriv")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_a_read_only_sqlite_file_exits_non_zero_naming_the_cause() {
    let Some(mut worker) = as_unprivileged(&example("echo_worker")) else {
        eprintln!("running as root without setpriv: cannot make a file read-only, skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("refused.db");
    let url = format!("sqlite://{}", path.display());
    {
        let queue: Queue = Queue::connect(&url, "refused").await.expect("connect");
        queue
            .add("n", serde_json::json!({}), JobOptions::new())
            .await
            .expect("add");
    }
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |p: &std::path::Path, mode| {
        if p.exists() {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    };
    // the directory stays open to the worker's user; the database and its WAL files do not
    set_mode(dir.path(), 0o777);
    for suffix in ["", "-wal", "-shm"] {
        set_mode(&dir.path().join(format!("refused.db{suffix}")), 0o444);
    }
    let worker = worker
        .args(["--url", &url, "--queue", "refused"])
        .args(["--stop-after-store-errors", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo_worker");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || worker.wait_with_output()),
    )
    .await
    .expect("the worker exits by itself")
    .expect("join")
    .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status {:?}", output.status);
    assert!(
        stderr.contains("3 permanent store errors")
            && stderr.contains("readonly database")
            && stderr.contains("writable"),
        "stderr: {stderr}"
    );
    // the exit message itself names the file (the start-up log line does too)
    let exit_line = stderr
        .lines()
        .find(|l| l.starts_with("echo_worker: "))
        .unwrap_or_default();
    assert!(
        exit_line.contains(&format!("the sqlite file {} is read-only", path.display())),
        "stderr: {stderr}"
    );
}
