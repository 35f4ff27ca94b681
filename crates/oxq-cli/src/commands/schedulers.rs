//! `schedulers list|upsert|remove`: job schedulers through the queue's scheduler calls.

use std::time::Duration;

use oxq::backend::JobScheduler;
use oxq::{JobTemplate, Repeat, RepeatRule};
use serde_json::{Value, json};

use crate::args::SchedulersCommand;
use crate::error::{CliError, CliResult};
use crate::output::{json_of, print_json, print_table};
use crate::store::Store;

pub async fn run(store: &Store, command: &SchedulersCommand, json: bool) -> CliResult<()> {
    match command {
        SchedulersCommand::List {
            queue,
            offset,
            limit,
        } => {
            let queue = store.existing_queue(&queue.queue).await?;
            let schedulers = queue.job_schedulers(*offset, *limit, true).await?;
            if json {
                print_json(&Value::Array(
                    schedulers.iter().map(scheduler_json).collect(),
                ));
            } else {
                let rows: Vec<Vec<String>> = schedulers
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.clone(),
                            schedule_text(&s.repeat.rule),
                            s.template.name.clone(),
                            s.next_run.map_or("-".to_owned(), |t| t.to_string()),
                            s.iterations.to_string(),
                        ]
                    })
                    .collect();
                print_table(
                    &["ID", "SCHEDULE", "JOB NAME", "NEXT RUN (ms)", "RUNS"],
                    &rows,
                );
            }
        }
        SchedulersCommand::Upsert {
            id,
            queue,
            cron,
            tz,
            every_ms,
            name,
            data,
        } => {
            let repeat = match (cron, every_ms) {
                (Some(pattern), _) => {
                    let repeat = Repeat::cron(pattern.clone());
                    match tz {
                        Some(zone) => repeat.tz(zone.clone()),
                        None => repeat,
                    }
                }
                (None, Some(ms)) => Repeat::every(Duration::from_millis(*ms)),
                (None, None) => {
                    return Err(CliError::Usage("give --cron or --every-ms".to_owned()));
                }
            };
            let data: Value = match data {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| CliError::Usage(format!("--data is not valid JSON: {e}")))?,
                None => Value::Null,
            };
            let queue = store.queue(&queue.queue)?;
            let scheduler = queue
                .upsert_job_scheduler(id, repeat, JobTemplate::new(name.clone(), data))
                .await?;
            if json {
                print_json(&scheduler_json(&scheduler));
            } else {
                let next = scheduler
                    .next_run
                    .map_or("none".to_owned(), |t| format!("at {t} ms"));
                println!("scheduler {id}: next run {next}");
            }
        }
        SchedulersCommand::Remove { id, queue } => {
            let queue = store.existing_queue(&queue.queue).await?;
            if !queue.remove_job_scheduler(id).await? {
                return Err(CliError::NotFound(format!(
                    "scheduler {id} not found in queue {}",
                    queue.name()
                )));
            }
            if json {
                print_json(&json!({ "removed": id }));
            } else {
                println!("removed scheduler {id}");
            }
        }
    }
    Ok(())
}

fn schedule_text(rule: &RepeatRule) -> String {
    match rule {
        RepeatRule::Cron { pattern, tz } => match tz {
            Some(zone) => format!("cron {pattern} ({zone})"),
            None => format!("cron {pattern}"),
        },
        RepeatRule::Every { every_ms, .. } => format!("every {every_ms} ms"),
        _ => "other".to_owned(),
    }
}

fn scheduler_json(scheduler: &JobScheduler) -> Value {
    json!({
        "id": scheduler.id,
        "repeat": scheduler.repeat,
        "name": scheduler.template.name,
        "data": json_of(&scheduler.template.data),
        "next_run": scheduler.next_run,
        "iterations": scheduler.iterations,
    })
}
