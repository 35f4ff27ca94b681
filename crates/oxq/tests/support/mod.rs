//! Helpers for tests that run the example programs as separate processes.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oxq::{Event, QueueEvents, QueueRef};

/// The path of an example binary built by `cargo test` (target/<profile>/examples/<name>).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: examples are built by `cargo test`",
        path.display()
    );
    path
}

/// Starts an example with `args`, stdout captured.
pub fn spawn(name: &str, args: &[&str]) -> Child {
    Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn example")
}

/// Waits for a child and parses the JSON line it printed last.
pub fn summary(child: Child) -> serde_json::Value {
    let output = child.wait_with_output().expect("wait for example");
    assert!(
        output.status.success(),
        "example failed: {:?}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad summary {line:?}: {e}"))
}

pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many `completed` events each job has in the queue's whole event log.
pub async fn completions(url: &str, queue: &QueueRef) -> HashMap<String, u32> {
    let backend = oxq::connect(url).await.expect("connect");
    let latest = backend
        .events_latest(oxq::backend::OfQueue {
            queue: queue.clone(),
        })
        .await
        .expect("latest event");
    let mut events = QueueEvents::after(backend, queue.clone(), None);
    let mut counts = HashMap::new();
    while let Some(stored) = events
        .next_timeout(Duration::from_millis(200))
        .await
        .expect("read events")
    {
        if let Event::Completed { job_id, .. } = &stored.event {
            *counts.entry(job_id.to_string()).or_insert(0) += 1;
        }
        if Some(&stored.id) == latest.as_ref() {
            break;
        }
    }
    counts
}
