//! The job reads: a page of a queue's jobs in one state, one job's detail (with its durable
//! steps, see [`super::steps`]), and the search by id across queues.

use axum::Json;
use axum::extract::{Path, Query, State};
use oxq::backend::{GetDependencies, GetJob, ReadLogs};
use oxq::{JobId, JobState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json;
use crate::error::ApiError;
use crate::state::DashboardState;

/// Jobs a page holds at most.
const MAX_PAGE: u64 = 1000;
/// Log lines a job's detail shows at most (its `logs.total` is whole).
const MAX_LOG_LINES: u64 = 1000;
/// Children of each kind a job's detail shows at most (the counts are whole).
const MAX_CHILDREN: u64 = 100;

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    state: String,
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
    #[serde(default)]
    ascending: bool,
}

fn default_limit() -> u64 {
    20
}

pub(crate) fn parse_state(text: &str) -> Result<JobState, ApiError> {
    text.parse()
        .map_err(|e: oxq::Error| ApiError::BadRequest(e.to_string()))
}

pub(crate) async fn page(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let job_state = parse_state(&query.state)?;
    if query.limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit {} is over {MAX_PAGE}",
            query.limit
        )));
    }
    let queue = state.existing_queue(&name).await?;
    let total = queue.counts().await?.get(job_state);
    let records = state
        .backend
        .jobs_list(oxq::backend::ListJobs {
            queue: queue.queue_ref().clone(),
            states: vec![job_state],
            offset: query.offset,
            limit: query.limit,
            ascending: query.ascending,
        })
        .await?;
    let hide = state.options.hide_data;
    let jobs: Vec<Value> = records.iter().map(|r| json::job_summary(r, hide)).collect();
    Ok(Json(json!({
        "queue": name,
        "state": job_state.as_str(),
        "offset": query.offset,
        "limit": query.limit,
        "total": total,
        "jobs": jobs,
    })))
}

pub(crate) async fn detail(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let queue = state.queue(&name)?;
    let queue_ref = queue.queue_ref().clone();
    let job_id = JobId(id.clone());
    let record = state
        .backend
        .job_get(GetJob {
            queue: queue_ref.clone(),
            job_id: job_id.clone(),
        })
        .await?
        .ok_or(ApiError::JobNotFound { queue: name, id })?;
    let logs = state
        .backend
        .job_logs(ReadLogs {
            queue: queue_ref.clone(),
            job_id: job_id.clone(),
            offset: 0,
            limit: MAX_LOG_LINES,
        })
        .await?;
    let dependencies = match state.backend.flows() {
        Some(flows) => {
            flows
                .job_dependencies(GetDependencies {
                    queue: queue_ref.clone(),
                    job_id,
                    limit: MAX_CHILDREN,
                })
                .await?
        }
        None => None,
    };
    let steps = super::steps::of_job(&queue, &record.id, state.options.hide_data).await?;
    let mut detail = json::job_detail(
        &queue_ref,
        &record,
        &logs,
        dependencies.as_ref(),
        state.options.hide_data,
    );
    if let Value::Object(fields) = &mut detail {
        fields.insert("steps".into(), steps);
    }
    Ok(Json(detail))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    id: String,
}

/// `GET /api/search?id=ID`: every queue's job with that id, as `{queue, job}`.
pub(crate) async fn search(
    State(state): State<DashboardState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let job_id = JobId(query.id);
    let mut found = Vec::new();
    for queue in state.queues().await? {
        let record = state
            .backend
            .job_get(GetJob {
                queue: queue.clone(),
                job_id: job_id.clone(),
            })
            .await?;
        if let Some(record) = record {
            found.push(json!({
                "queue": queue.name,
                "job": json::job_summary(&record, state.options.hide_data),
            }));
        }
    }
    Ok(Json(Value::Array(found)))
}
