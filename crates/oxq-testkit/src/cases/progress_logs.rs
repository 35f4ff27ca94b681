//! What a processor reports while it runs: progress (a number or any JSON value) and log lines,
//! readable through the queue while the job runs and after it finished.

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobOptions, JobState, Queue, Worker};
use serde_json::{Value, json};

use crate::support::{Gate, WAIT, wait_for_state, wait_until};
use crate::{CaseResult, Harness, TestError, ensure_eq};

async fn progress_of(queue: &Queue<Value>, id: &oxq_core::JobId) -> CaseResult<Value> {
    let job = queue
        .get_job(id)
        .await?
        .ok_or_else(|| TestError::msg(format!("job {id} does not exist")))?;
    Ok(job.progress())
}

/// Progress `42`, then `{"page": 3, "of": 10}`, each visible through `get_job` while the job
/// runs; the last value stays after it completed. A new job's progress is `0`.
pub async fn progress_number_and_object(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("report", json!({}), JobOptions::new()).await?;
    ensure_eq!(
        progress_of(&queue, job.id()).await?,
        json!(0),
        "progress of a new job"
    );
    let (first, second) = (Gate::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options(), {
        let (first, second) = (first.clone(), second.clone());
        move |mut job: Job<Value>| {
            let (first, second) = (first.clone(), second.clone());
            async move {
                job.update_progress(42).await?;
                first.wait().await;
                job.update_progress(json!({"page": 3, "of": 10})).await?;
                second.wait().await;
                Ok::<_, BoxError>(Value::Null)
            }
        }
    });
    wait_until("progress 42", WAIT, || async {
        Ok(progress_of(&queue, job.id()).await? == json!(42))
    })
    .await?;
    let running = queue.get_job(job.id()).await?;
    ensure_eq!(
        running.map(|j| j.state()),
        Some(JobState::Active),
        "state while reporting"
    );
    first.open();
    let object = json!({"page": 3, "of": 10});
    wait_until("progress {page: 3, of: 10}", WAIT, || async {
        Ok(progress_of(&queue, job.id()).await? == object)
    })
    .await?;
    second.open();
    wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(
        progress_of(&queue, job.id()).await?,
        object,
        "progress after completion"
    );
    Ok(())
}

/// Three log lines come back in order, with the total, and can be paged; `log` answers the
/// number of lines so far; a job that logged nothing has none.
pub async fn logs_are_kept_in_order(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("chatty", json!({}), JobOptions::new()).await?;
    let quiet = queue.add("quiet", json!({}), JobOptions::new()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::start(&queue, h.worker_options(), move |job: Job<Value>| {
        let tx = tx.clone();
        async move {
            if job.name() == "chatty" {
                for i in 1..=3 {
                    let _ = tx.send(job.log(format!("line {i}")).await?);
                }
            }
            Ok::<_, BoxError>(Value::Null)
        }
    });
    wait_for_state(&queue, job.id(), JobState::Completed).await?;
    wait_for_state(&queue, quiet.id(), JobState::Completed).await?;
    worker.close().await?;
    let mut answers = Vec::new();
    while let Ok(n) = rx.try_recv() {
        answers.push(n);
    }
    ensure_eq!(answers, [1, 2, 3], "what log() answered");

    let stored = queue
        .get_job(job.id())
        .await?
        .ok_or_else(|| TestError::msg("the job is gone"))?;
    let all = stored.logs(0, 10).await?;
    ensure_eq!(all.lines, ["line 1", "line 2", "line 3"], "log lines");
    ensure_eq!(all.total, 3, "log total");
    let middle = stored.logs(1, 1).await?;
    ensure_eq!(
        (middle.lines, middle.total),
        (vec!["line 2".to_owned()], 3),
        "log page 1..2"
    );
    let past = stored.logs(3, 10).await?;
    ensure_eq!(
        (past.lines.len(), past.total),
        (0, 3),
        "log page past the end"
    );

    let quiet = queue
        .get_job(quiet.id())
        .await?
        .ok_or_else(|| TestError::msg("the quiet job is gone"))?;
    let none = quiet.logs(0, 10).await?;
    ensure_eq!(
        (none.lines.len(), none.total),
        (0, 0),
        "logs of a job that logged nothing"
    );
    Ok(())
}
