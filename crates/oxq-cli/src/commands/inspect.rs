//! The read-only commands: `queues`, `counts`, `list`, `get` (a job with its logs, parent,
//! children and durable steps).

use oxq::{JobId, JobState, JobSteps, StepStatus};
use serde_json::{Map, Value, json};

use crate::error::{CliError, CliResult};
use crate::output::{job_json, json_of, print_json, print_table, truncate};
use crate::store::Store;

/// Log lines `get` shows at most.
const MAX_LOG_LINES: u64 = 1000;
/// Children of each kind `get` shows at most (the counts are whole).
const MAX_CHILDREN: u64 = 100;

pub async fn queues(store: &Store, json: bool) -> CliResult<()> {
    let names: Vec<String> = store.queues().await?.into_iter().map(|q| q.name).collect();
    if json {
        print_json(&json!(names));
    } else {
        for name in names {
            println!("{name}");
        }
    }
    Ok(())
}

pub async fn counts(store: &Store, queue: &str, json: bool) -> CliResult<()> {
    let counts = store.existing_queue(queue).await?.counts().await?;
    if json {
        let object: Map<String, Value> = JobState::ALL
            .iter()
            .map(|state| (state.as_str().to_owned(), json!(counts.get(*state))))
            .collect();
        print_json(&Value::Object(object));
    } else {
        let rows: Vec<Vec<String>> = JobState::ALL
            .iter()
            .map(|state| vec![state.as_str().to_owned(), counts.get(*state).to_string()])
            .collect();
        print_table(&["STATE", "JOBS"], &rows);
    }
    Ok(())
}

pub async fn list(
    store: &Store,
    queue: &str,
    state: JobState,
    offset: u64,
    limit: u64,
    json: bool,
) -> CliResult<()> {
    let queue = store.existing_queue(queue).await?;
    let records: Vec<_> = queue
        .get_jobs(&[state], offset, limit, true)
        .await?
        .into_iter()
        .map(|job| job.record().clone())
        .collect();
    if json {
        print_json(&Value::Array(records.iter().map(job_json).collect()));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.name.clone(),
                r.attempts_made.to_string(),
                truncate(&r.data, 40),
                truncate(r.failed_reason.as_deref().unwrap_or(""), 40),
            ]
        })
        .collect();
    print_table(&["ID", "NAME", "ATTEMPTS", "DATA", "FAILED REASON"], &rows);
    Ok(())
}

pub async fn get(store: &Store, queue_name: &str, id: &str, json: bool) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    let job = queue
        .get_job(&JobId(id.to_owned()))
        .await?
        .ok_or_else(|| CliError::unknown_job(id, queue_name))?;
    let logs = job.logs(0, MAX_LOG_LINES).await?;
    let dependencies = if store.backend.flows().is_some() {
        Some(job.dependencies(MAX_CHILDREN).await?)
    } else {
        None
    };
    let steps = if store.backend.steps().is_some() {
        Some(job.steps().await?)
    } else {
        None
    };
    let parent = job.parent().map(|p| p.key().to_string());
    if json {
        let mut value = job_json(job.record());
        if let Value::Object(fields) = &mut value {
            fields.insert("logs".into(), json!(logs.lines));
            fields.insert("parent".into(), json!(parent));
            fields.insert(
                "dependencies".into(),
                dependencies.as_ref().map_or(Value::Null, |d| {
                    json!({
                        "processed": d.processed.iter()
                            .map(|(key, value)| (key.to_string(), json_of(value)))
                            .collect::<Map<String, Value>>(),
                        "pending": d.pending.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "ignored": d.ignored.iter()
                            .map(|(key, reason)| (key.to_string(), json!(reason)))
                            .collect::<Map<String, Value>>(),
                        "failed": d.failed.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                }),
            );
            fields.insert(
                "steps".into(),
                steps.as_ref().map_or(Value::Null, steps_json),
            );
        }
        print_json(&value);
        return Ok(());
    }
    let record = job.record();
    let field = |name: &str, value: &str| println!("{name:<16}{value}");
    field("id", record.id.as_str());
    field("name", &record.name);
    field("state", record.state.as_str());
    field("data", &record.data);
    field(
        "options",
        &serde_json::to_string(&record.options).unwrap_or_default(),
    );
    field("progress", &record.progress);
    field(
        "attempts",
        &format!(
            "{} made, {} started",
            record.attempts_made, record.attempts_started
        ),
    );
    if let Some(value) = &record.return_value {
        field("return value", value);
    }
    if let Some(reason) = &record.failed_reason {
        field("failed reason", reason);
    }
    for (n, error) in record.stacktrace.iter().enumerate() {
        field(&format!("error #{}", n + 1), error);
    }
    if let Some(parent) = &parent {
        field("parent", parent);
    }
    if let Some(d) = &dependencies {
        let c = &d.counts;
        if c.processed + c.pending + c.ignored + c.failed > 0 {
            field(
                "children",
                &format!(
                    "{} processed, {} pending, {} ignored, {} failed",
                    c.processed, c.pending, c.ignored, c.failed
                ),
            );
            for key in &d.pending {
                field("  pending", &key.to_string());
            }
            for (key, value) in &d.processed {
                field("  processed", &format!("{key} = {value}"));
            }
            for (key, reason) in &d.ignored {
                field("  ignored", &format!("{key}: {reason}"));
            }
            for key in &d.failed {
                field("  failed", &key.to_string());
            }
        }
    }
    if let Some(steps) = &steps {
        for (name, status) in &steps.steps {
            field("step", &format!("{name}: {}", describe_step(status)));
        }
        for (name, payload) in &steps.signals {
            field("signal", &format!("{name} = {payload}"));
        }
    }
    for line in &logs.lines {
        field("log", line);
    }
    Ok(())
}

/// A step's status, attempts and result or error, on one line.
fn describe_step(status: &StepStatus) -> String {
    let attempts = match status.attempts() {
        Some(1) => " (1 attempt)".to_owned(),
        Some(n) => format!(" ({n} attempts)"),
        None => String::new(),
    };
    let detail = match status {
        StepStatus::Done { value, .. } => format!(" = {value}"),
        StepStatus::Failed { error, .. } => format!(": {error}"),
        StepStatus::Sleeping { until } => format!(" until {until} ms since the epoch"),
        StepStatus::Waiting { signal, until } => {
            format!(" for signal {signal:?} until {until} ms since the epoch")
        }
    };
    format!("{}{attempts}{detail}", status.kind())
}

/// The steps as `get --json` prints them: a list of `{name, status, attempts, result, error,
/// until}` and the signals by name.
fn steps_json(steps: &JobSteps) -> Value {
    let list: Vec<Value> = steps
        .steps
        .iter()
        .map(|(name, status)| {
            json!({
                "name": name,
                "status": status.kind(),
                "attempts": status.attempts(),
                "result": status.result(),
                "error": status.error(),
                "until": status.until(),
            })
        })
        .collect();
    let signals: Map<String, Value> = steps.signals.iter().cloned().collect();
    json!({ "steps": list, "signals": signals })
}
