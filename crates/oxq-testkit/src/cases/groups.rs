//! Job groups through `Queue` and `Worker`: a worker runs group jobs round-robin across
//! groups, and a paused group's jobs wait while the other groups run, until it is resumed.

use oxq_core::{JobOptions, Worker};
use serde_json::{Value, json};

use crate::support::{Recorder, WAIT};
use crate::{CaseResult, Harness, ensure, ensure_eq};

async fn add_group(queue: &oxq_core::Queue<Value>, group: &str, n: u32) -> CaseResult {
    for i in 1..=n {
        let name = format!("{group}{i}");
        queue
            .add(&name, json!(name), JobOptions::new().group(group))
            .await?;
    }
    Ok(())
}

/// A worker of concurrency 1 takes one job per group per turn, whatever the order of adds.
pub async fn a_worker_runs_group_jobs_round_robin(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    add_group(&queue, "a", 5).await?;
    add_group(&queue, "b", 2).await?;
    add_group(&queue, "c", 2).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    recorder.wait_len(9, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "a4", "a5"],
        "one job per group per turn"
    );
    Ok(())
}

/// A paused group's jobs stay waiting while another group's run; its resume lets them run.
pub async fn a_paused_group_waits_while_the_others_run(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    queue.pause_group("a").await?;
    add_group(&queue, "a", 2).await?;
    add_group(&queue, "b", 2).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    recorder.wait_len(2, WAIT).await?;
    ensure_eq!(recorder.names(), ["b1", "b2"], "only group b ran");
    let a = queue.group("a").await?;
    ensure!(a.paused, "group a reads paused");
    ensure_eq!(a.waiting, 2, "a's jobs wait");
    queue.resume_group("a").await?;
    recorder.wait_len(4, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["b1", "b2", "a1", "a2"],
        "a's jobs after its resume"
    );
    Ok(())
}
