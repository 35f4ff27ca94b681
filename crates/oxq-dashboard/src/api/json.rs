//! The JSON shapes of the API's answers: a queue, a job in a list, a job's detail, a scheduler.
//! With [`hide_data`](crate::DashboardOptions::hide_data) every payload (job data, return
//! values, children's values, schedulers' template data) is left out and `data_hidden: true`
//! says so.

use oxq::backend::{Dependencies, JobLogs, JobScheduler};
use oxq::flow::ChildKey;
use oxq::{JobCounts, JobRecord, JobState, QueueRef};
use serde_json::{Map, Value, json};

/// JSON text as a value; text that is not JSON stays a string (nothing is lost).
pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

pub fn counts(counts: &JobCounts) -> Value {
    let object: Map<String, Value> = JobState::ALL
        .iter()
        .map(|state| (state.as_str().to_owned(), json!(counts.get(*state))))
        .collect();
    Value::Object(object)
}

pub fn queue(name: &str, paused: bool, job_counts: &JobCounts) -> Value {
    json!({ "name": name, "paused": paused, "counts": counts(job_counts) })
}

/// A job as a page of jobs shows it.
pub fn job_summary(record: &JobRecord, hide_data: bool) -> Value {
    let mut value = json!({
        "id": record.id.as_str(),
        "name": record.name,
        "state": record.state.as_str(),
        "progress": json_of(&record.progress),
        "attempts_made": record.attempts_made,
        "failed_reason": record.failed_reason,
        "timestamp": record.timestamp,
        "processed_on": record.processed_on,
        "finished_on": record.finished_on,
        "due_at": record.due_at,
    });
    put_payload(&mut value, "data", Some(&record.data), hide_data);
    value
}

/// Everything about a job: its record, log lines, parent and children (when the store has flows).
pub fn job_detail(
    queue: &QueueRef,
    record: &JobRecord,
    logs: &JobLogs,
    dependencies: Option<&Dependencies>,
    hide_data: bool,
) -> Value {
    let mut value = json!({
        "id": record.id.as_str(),
        "queue": queue.name,
        "name": record.name,
        "state": record.state.as_str(),
        "options": record.options,
        "progress": json_of(&record.progress),
        "attempts_made": record.attempts_made,
        "attempts_started": record.attempts_started,
        "stalled_count": record.stalled_count,
        "runs": runs(record),
        "failed_reason": record.failed_reason,
        "stacktrace": record.stacktrace,
        "timestamp": record.timestamp,
        "processed_on": record.processed_on,
        "finished_on": record.finished_on,
        "due_at": record.due_at,
        "processed_by": record.processed_by,
        "logs": { "lines": logs.lines, "total": logs.total },
        "parent": record.options.parent.as_ref().map(|p| child_key(&p.key())),
        "children": dependencies.map(|d| children(d, hide_data)),
    });
    put_payload(&mut value, "data", Some(&record.data), hide_data);
    put_payload(
        &mut value,
        "return_value",
        record.return_value.as_deref(),
        hide_data,
    );
    value
}

/// How many times the job ran and why, from its counters: `started` (runs begun), `ended`
/// (attempts that completed or failed), `running` (one is under way now), `after_stall`
/// (runs that never ended because the job was taken back from its worker after its lock
/// expired: the worker died, froze, or lost the lock; each was followed by a run again, so its
/// effects may have happened twice), and `handed_back` (runs that ended without using an
/// attempt: the processor delayed the job, rate limited the queue or waited for children, or a
/// closing worker gave the job back).
pub fn runs(record: &JobRecord) -> Value {
    let running = record.state == JobState::Active;
    let unended = record
        .attempts_started
        .saturating_sub(record.attempts_made)
        .saturating_sub(u32::from(running));
    json!({
        "started": record.attempts_started,
        "ended": record.attempts_made,
        "running": running,
        "after_stall": record.stalled_count,
        "handed_back": unended.saturating_sub(record.stalled_count),
    })
}

pub fn scheduler(scheduler: &JobScheduler, hide_data: bool) -> Value {
    let mut value = json!({
        "id": scheduler.id,
        "repeat": scheduler.repeat,
        "name": scheduler.template.name,
        "next_run": scheduler.next_run,
        "iterations": scheduler.iterations,
    });
    put_payload(
        &mut value,
        "data",
        Some(&scheduler.template.data),
        hide_data,
    );
    value
}

fn child_key(key: &ChildKey) -> Value {
    json!({ "queue": key.queue.name, "prefix": key.queue.prefix, "id": key.id.as_str() })
}

fn children(d: &Dependencies, hide_data: bool) -> Value {
    let processed: Vec<Value> = d
        .processed
        .iter()
        .map(|(key, value)| {
            let mut child = child_key(key);
            put_payload(&mut child, "return_value", Some(value), hide_data);
            child
        })
        .collect();
    let ignored: Vec<Value> = d
        .ignored
        .iter()
        .map(|(key, reason)| {
            let mut child = child_key(key);
            if let Value::Object(fields) = &mut child {
                fields.insert("failed_reason".into(), json!(reason));
            }
            child
        })
        .collect();
    json!({
        "counts": {
            "processed": d.counts.processed,
            "pending": d.counts.pending,
            "ignored": d.counts.ignored,
            "failed": d.counts.failed,
        },
        "processed": processed,
        "pending": d.pending.iter().map(child_key).collect::<Vec<_>>(),
        "ignored": ignored,
        "failed": d.failed.iter().map(child_key).collect::<Vec<_>>(),
    })
}

/// Sets `field` to the payload `text` as JSON, or marks the object `data_hidden`.
fn put_payload(value: &mut Value, field: &str, text: Option<&str>, hide_data: bool) {
    let Value::Object(fields) = value else {
        return;
    };
    if hide_data {
        fields.insert("data_hidden".into(), Value::Bool(true));
    } else {
        fields.insert(field.into(), text.map_or(Value::Null, json_of));
    }
}
