//! A job's durable steps in its detail (`steps` of `GET /api/queues/{queue}/jobs/{id}`): each
//! stored step with its status, how many times it ran, its result or last error and when a
//! sleep or a signal wait ends, and the signals sent to the job. Results and signal payloads
//! are payloads: [`hide_data`](crate::DashboardOptions::hide_data) leaves them out.

use oxq::{JobId, JobSteps, Queue};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The job's steps as JSON: `{"steps": [...], "signals": [...]}`; `null` when the store keeps no
/// steps or the job is gone (its detail answers that).
pub(crate) async fn of_job(queue: &Queue, id: &JobId, hide_data: bool) -> Result<Value, ApiError> {
    if queue.backend().steps().is_none() {
        return Ok(Value::Null);
    }
    Ok(queue
        .job_steps(id)
        .await?
        .map_or(Value::Null, |steps| to_json(&steps, hide_data)))
}

fn to_json(steps: &JobSteps, hide_data: bool) -> Value {
    let list: Vec<Value> = steps
        .steps
        .iter()
        .map(|(name, status)| {
            let mut step = Map::new();
            step.insert("name".into(), json!(name));
            step.insert("status".into(), json!(status.kind()));
            step.insert("attempts".into(), json!(status.attempts()));
            step.insert("error".into(), json!(status.error()));
            step.insert("until".into(), json!(status.until()));
            if hide_data {
                step.insert("data_hidden".into(), Value::Bool(true));
            } else {
                step.insert(
                    "result".into(),
                    status.result().cloned().unwrap_or(Value::Null),
                );
            }
            if let oxq::StepStatus::Waiting { signal, .. } = status {
                step.insert("signal".into(), json!(signal));
            }
            Value::Object(step)
        })
        .collect();
    let signals: Vec<Value> = steps
        .signals
        .iter()
        .map(|(name, payload)| {
            if hide_data {
                json!({ "name": name, "data_hidden": true })
            } else {
                json!({ "name": name, "payload": payload })
            }
        })
        .collect();
    json!({ "steps": list, "signals": signals })
}
