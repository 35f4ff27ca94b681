//! The actions (POST): retry, remove, promote and cancel a job; pause, resume and clean a
//! queue. A read-only dashboard never reaches them (403, see [`super::routes`]).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use oxq::{CancelOutcome, JobId, Queue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::jobs::parse_state;
use crate::error::ApiError;
use crate::state::DashboardState;

/// The queue and job id, once the job is known to exist (404 otherwise).
async fn existing_job(
    state: &DashboardState,
    name: String,
    id: String,
) -> Result<(Queue, JobId), ApiError> {
    let queue = state.queue(&name)?;
    let job_id = JobId(id.clone());
    if queue.get_record(&job_id).await?.is_none() {
        return Err(ApiError::JobNotFound { queue: name, id });
    }
    Ok((queue, job_id))
}

pub(crate) async fn retry(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (queue, job_id) = existing_job(&state, name, id).await?;
    queue.retry_job(&job_id).await?;
    tracing::info!(queue = queue.name(), job_id = %job_id, "dashboard: retried a job");
    Ok(Json(json!({ "retried": job_id.as_str() })))
}

pub(crate) async fn remove(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (queue, job_id) = existing_job(&state, name.clone(), id.clone()).await?;
    if !queue.remove(&job_id).await? {
        return Err(ApiError::JobNotFound { queue: name, id });
    }
    tracing::info!(queue = queue.name(), job_id = %job_id, "dashboard: removed a job");
    Ok(Json(json!({ "removed": job_id.as_str() })))
}

pub(crate) async fn promote(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (queue, job_id) = existing_job(&state, name, id).await?;
    queue.promote(&job_id).await?;
    tracing::info!(queue = queue.name(), job_id = %job_id, "dashboard: promoted a job");
    Ok(Json(json!({ "promoted": job_id.as_str() })))
}

/// Cancels a job not yet finished (waiting, prioritized, delayed, waiting for children, or
/// active: its worker drops it at its next lock renewal); 409 for a finished job.
pub(crate) async fn cancel(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let queue = state.queue(&name)?;
    let job_id = JobId(id.clone());
    let (outcome, job_state) = match queue.cancel(&job_id).await? {
        CancelOutcome::Cancelled { prev } => ("cancelled", Some(prev)),
        CancelOutcome::Requested => ("requested", None),
        CancelOutcome::AlreadyFinished { state } => {
            return Err(ApiError::Store(oxq::Error::Conflict(format!(
                "job {id} is {state} already; there is nothing to cancel"
            ))));
        }
        CancelOutcome::NotFound => return Err(ApiError::JobNotFound { queue: name, id }),
        other => {
            return Err(ApiError::Store(oxq::Error::Conflict(format!(
                "job {id}: the store answered {other:?}, which this dashboard does not know"
            ))));
        }
    };
    tracing::info!(queue = queue.name(), job_id = %job_id, outcome, "dashboard: cancelled a job");
    Ok(Json(json!({
        "cancelled": job_id.as_str(),
        "outcome": outcome,
        "prev": job_state.map(|s| s.as_str()),
    })))
}

pub(crate) async fn pause(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_paused(&state, &name, true).await
}

pub(crate) async fn resume(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_paused(&state, &name, false).await
}

async fn set_paused(
    state: &DashboardState,
    name: &str,
    paused: bool,
) -> Result<Json<Value>, ApiError> {
    let queue = state.existing_queue(name).await?;
    if paused {
        queue.pause().await?;
    } else {
        queue.resume().await?;
    }
    tracing::info!(queue = name, paused, "dashboard: paused or resumed a queue");
    Ok(Json(json!({ "paused": paused })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CleanQuery {
    state: String,
    #[serde(default)]
    grace_ms: u64,
    #[serde(default = "default_clean_limit")]
    limit: u64,
}

fn default_clean_limit() -> u64 {
    1000
}

pub(crate) async fn clean(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<CleanQuery>,
) -> Result<Json<Value>, ApiError> {
    let job_state = parse_state(&query.state)?;
    let queue = state.existing_queue(&name).await?;
    let removed = queue
        .clean(
            job_state,
            Duration::from_millis(query.grace_ms),
            query.limit,
        )
        .await?;
    tracing::info!(queue = name, state = %job_state, removed = removed.len(), "dashboard: cleaned a queue");
    let ids: Vec<&str> = removed.iter().map(JobId::as_str).collect();
    Ok(Json(json!({ "removed": ids })))
}
