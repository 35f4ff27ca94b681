//! `oxq dlq set|unset|list|replay|purge`: a queue's dead letter queue (see
//! `oxq_core::backend::DeadLetters`) from the command line.
//!
//! `set`/`unset` act on the source queue; `list`, `replay` and `purge` on the dead letter
//! queue itself. `--json` prints one object per command: the setting, the page of dead jobs,
//! `{"replayed": [{"dead_id", "queue", "job_id"}]}`, or `{"purged": n}`. A replay of an id the
//! dead letter queue does not hold exits 3 after replaying the others.

use oxq::JobId;
use oxq::backend::{DeadLetter, ReplayedDeadLetter};
use serde_json::{Value, json};

use crate::args::DlqCommand;
use crate::error::{CliError, CliResult};
use crate::output::{print_json, print_table};
use crate::store::Store;

/// Dead jobs read per page by `replay --all`.
const PAGE: u64 = 1000;

pub async fn run(store: &Store, command: &DlqCommand, json: bool) -> CliResult<()> {
    match command {
        DlqCommand::Set {
            queue,
            dead_letter_queue,
        } => {
            let queue = store.queue(&queue.queue)?;
            queue
                .set_dead_letter_queue(Some(dead_letter_queue.as_str()))
                .await?;
            if json {
                print_json(&json!({"queue": queue.name(), "dead_letter_queue": dead_letter_queue}));
            } else {
                println!(
                    "jobs of {} that fail for good now go to {dead_letter_queue}",
                    queue.name()
                );
            }
        }
        DlqCommand::Unset { queue } => {
            let queue = store.existing_queue(&queue.queue).await?;
            queue.set_dead_letter_queue(None).await?;
            if json {
                print_json(&json!({"queue": queue.name(), "dead_letter_queue": null}));
            } else {
                println!("{} has no dead letter queue now", queue.name());
            }
        }
        DlqCommand::List {
            queue,
            offset,
            limit,
        } => {
            let queue = store.existing_queue(&queue.queue).await?;
            let dead = queue.dead_letters(*offset, *limit).await?;
            if json {
                print_json(&Value::Array(dead.iter().map(dead_json).collect()));
            } else {
                let rows: Vec<Vec<String>> = dead
                    .iter()
                    .map(|d| {
                        vec![
                            d.record.id.to_string(),
                            d.source.name.clone(),
                            d.source_id.to_string(),
                            d.record.name.clone(),
                            d.record.failed_reason.clone().unwrap_or_default(),
                            d.dead_at.to_string(),
                            d.replays.to_string(),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "ID",
                        "SOURCE",
                        "SOURCE ID",
                        "NAME",
                        "REASON",
                        "DEAD AT (ms)",
                        "REPLAYS",
                    ],
                    &rows,
                );
            }
        }
        DlqCommand::Replay { queue, ids, all } => {
            let queue = store.existing_queue(&queue.queue).await?;
            let ids: Vec<JobId> = if *all {
                let mut every = Vec::new();
                loop {
                    let page = queue.dead_letters(every.len() as u64, PAGE).await?;
                    let more = page.len() as u64 == PAGE;
                    every.extend(page.into_iter().map(|d| d.record.id));
                    if !more {
                        break;
                    }
                }
                every
            } else if ids.is_empty() {
                return Err(CliError::Usage("give dead job ids or --all".to_owned()));
            } else {
                ids.iter().map(|id| JobId(id.clone())).collect()
            };
            let answers = queue.replay_dead_letters(&ids).await?;
            let mut replayed = Vec::new();
            let mut missing = Vec::new();
            for (id, answer) in ids.iter().zip(answers) {
                match answer {
                    ReplayedDeadLetter::Replayed { source, job_id } => {
                        if !json {
                            println!("replayed {id} as job {job_id} of {}", source.name);
                        }
                        replayed.push(json!({
                            "dead_id": id.as_str(),
                            "queue": source.name,
                            "job_id": job_id.as_str(),
                        }));
                    }
                    ReplayedDeadLetter::NotFound => missing.push(id.to_string()),
                }
            }
            if json {
                print_json(&json!({ "replayed": replayed }));
            }
            if !missing.is_empty() {
                return Err(CliError::NotFound(format!(
                    "no dead job {} in queue {}",
                    missing.join(", "),
                    queue.name()
                )));
            }
        }
        DlqCommand::Purge { queue, ids, all } => {
            let queue = store.existing_queue(&queue.queue).await?;
            let purged = if *all {
                queue.purge_all_dead_letters().await?
            } else if ids.is_empty() {
                return Err(CliError::Usage("give dead job ids or --all".to_owned()));
            } else {
                let ids: Vec<JobId> = ids.iter().map(|id| JobId(id.clone())).collect();
                queue.purge_dead_letters(&ids).await?
            };
            if json {
                print_json(&json!({ "purged": purged }));
            } else {
                println!("purged {purged} dead jobs from {}", queue.name());
            }
        }
    }
    Ok(())
}

fn dead_json(dead: &DeadLetter) -> Value {
    let data: Value = serde_json::from_str(&dead.record.data)
        .unwrap_or_else(|_| Value::String(dead.record.data.clone()));
    json!({
        "id": dead.record.id.as_str(),
        "source_queue": dead.source.name,
        "source_id": dead.source_id.as_str(),
        "name": dead.record.name,
        "data": data,
        "failed_reason": dead.record.failed_reason,
        "stacktrace": dead.record.stacktrace,
        "attempts_made": dead.record.attempts_made,
        "dead_at": dead.dead_at,
        "replays": dead.replays,
        "replayed_as": dead.replayed_as.as_ref().map(|id| id.as_str()),
    })
}
