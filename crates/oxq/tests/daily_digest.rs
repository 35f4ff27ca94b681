//! `examples/daily_digest.rs` as a user runs it: with `--every-ms` it sends one digest per
//! tick, each a distinct `repeat:daily-digest:<ms>` job; run again it replaces its schedule
//! instead of adding a second; a bad time zone is refused in a sentence before anything runs.
//!
//! Run with: `cargo test -p oxq --test daily_digest`

mod support;

use std::process::Command;

use oxq::QueueConnect;
use support::example;

fn digest(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(example("daily_digest"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run daily_digest")
}

/// The `job` ids of the digest lines on stdout.
fn sent_jobs(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v.get("job").and_then(|j| j.as_str()).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_tick_sends_one_digest_and_a_rerun_replaces_the_schedule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("digest.db").display());

    let first = digest(
        dir.path(),
        &["--url", &url, "--every-ms", "150", "--runs", "3"],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let jobs = sent_jobs(&first.stdout);
    assert_eq!(jobs.len(), 3, "three digests: {jobs:?}");
    let mut unique = jobs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "each tick is its own job: {jobs:?}");
    assert!(
        jobs.iter().all(|id| id.starts_with("repeat:daily-digest:")),
        "{jobs:?}"
    );

    // A second run upserts the same id: still one scheduler, and its runs go on.
    let second = digest(
        dir.path(),
        &["--url", &url, "--every-ms", "150", "--runs", "2"],
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(sent_jobs(&second.stdout).len(), 2);
    let queue: oxq::Queue = oxq::Queue::connect(&url, "digests").await.expect("queue");
    assert_eq!(queue.job_scheduler_count().await.expect("count"), 1);

    let removed = digest(dir.path(), &["--url", &url, "--remove"]);
    assert!(removed.status.success());
    assert_eq!(queue.job_scheduler_count().await.expect("count"), 0);
}

#[test]
fn an_unknown_time_zone_is_refused_in_a_sentence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("digest.db").display());
    let output = digest(dir.path(), &["--url", &url, "--tz", "Mars/Olympus_Mons"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Mars/Olympus_Mons"),
        "names the zone: {stderr}"
    );
    assert!(
        !stderr.contains("InvalidSchedule"),
        "no debug text: {stderr}"
    );
}
