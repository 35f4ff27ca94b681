//! The commands that change jobs or the queue: `retry`, `remove`, `promote`, `pause`,
//! `resume`, `drain`, `clean`, `obliterate`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use oxq::{JobId, JobState, Queue};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::store::Store;

/// Prints a sentence for people, or `{key: value}` for scripts.
fn report(json: bool, key: &str, value: serde_json::Value, sentence: String) {
    if json {
        print_json(&json!({ key: value }));
    } else {
        println!("{sentence}");
    }
}

/// The queue and job id, once the job is known to exist.
async fn existing_job(store: &Store, queue_name: &str, id: &str) -> CliResult<(Queue, JobId)> {
    let queue = store.existing_queue(queue_name).await?;
    let id = JobId(id.to_owned());
    if queue.get_record(&id).await?.is_none() {
        return Err(CliError::unknown_job(id.as_str(), queue_name));
    }
    Ok((queue, id))
}

pub async fn retry(store: &Store, queue_name: &str, id: Option<&str>, json: bool) -> CliResult<()> {
    match id {
        Some(id) => {
            let (queue, id) = existing_job(store, queue_name, id).await?;
            queue.retry_job(&id).await?;
            report(
                json,
                "retried",
                json!(id.as_str()),
                format!("job {id} will run again"),
            );
        }
        None => {
            let queue = store.existing_queue(queue_name).await?;
            let moved = queue.retry_jobs(u64::MAX).await?;
            report(
                json,
                "retried",
                json!(moved),
                format!("{moved} failed jobs will run again"),
            );
        }
    }
    Ok(())
}

pub async fn remove(store: &Store, queue_name: &str, id: &str, json: bool) -> CliResult<()> {
    let (queue, id) = existing_job(store, queue_name, id).await?;
    if !queue.remove(&id).await? {
        return Err(CliError::unknown_job(id.as_str(), queue_name));
    }
    report(
        json,
        "removed",
        json!(id.as_str()),
        format!("removed job {id}"),
    );
    Ok(())
}

pub async fn promote(store: &Store, queue_name: &str, id: &str, json: bool) -> CliResult<()> {
    let (queue, id) = existing_job(store, queue_name, id).await?;
    queue.promote(&id).await?;
    report(
        json,
        "promoted",
        json!(id.as_str()),
        format!("job {id} can run now"),
    );
    Ok(())
}

pub async fn set_paused(
    store: &Store,
    queue_name: &str,
    paused: bool,
    json: bool,
) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    if paused {
        queue.pause().await?;
    } else {
        queue.resume().await?;
    }
    let word = if paused { "paused" } else { "resumed" };
    report(
        json,
        "paused",
        json!(paused),
        format!("{word} {queue_name}"),
    );
    Ok(())
}

pub async fn drain(store: &Store, queue_name: &str, delayed: bool, json: bool) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    let removed = queue.drain(delayed).await?;
    report(
        json,
        "removed",
        json!(removed),
        format!("removed {removed} jobs"),
    );
    Ok(())
}

pub async fn clean(
    store: &Store,
    queue_name: &str,
    state: JobState,
    grace_ms: u64,
    limit: u64,
    json: bool,
) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    let ids = queue
        .clean(state, Duration::from_millis(grace_ms), limit)
        .await?;
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let sentence = format!("removed {} {state} jobs", ids.len());
    report(json, "removed", json!(ids), sentence);
    Ok(())
}

pub async fn obliterate(
    store: &Store,
    queue_name: &str,
    force: bool,
    yes: bool,
    json: bool,
) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    if !yes {
        confirm(&format!(
            "delete queue {queue_name} and every job in it ({} jobs)?",
            queue.counts().await?.total()
        ))?;
    }
    queue.obliterate(force).await?;
    report(
        json,
        "obliterated",
        json!(queue_name),
        format!("deleted queue {queue_name}"),
    );
    Ok(())
}

/// Asks `question` on the terminal; refuses outright when stdin is not one.
fn confirm(question: &str) -> CliResult<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "refusing to obliterate without --yes: stdin is not a terminal to ask on".to_owned(),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr()
        .flush()
        .map_err(|e| CliError::Failed(format!("cannot ask: {e}")))?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Failed(
            "not confirmed; nothing was deleted".to_owned(),
        ))
    }
}
