//! `GET /api/queues/{queue}/schedulers`: a page of the queue's job schedulers, soonest next
//! run first (501 when the store keeps no schedulers).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json;
use crate::error::ApiError;
use crate::state::DashboardState;

#[derive(Debug, Deserialize)]
pub(crate) struct SchedulersQuery {
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    100
}

pub(crate) async fn list(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<SchedulersQuery>,
) -> Result<Json<Value>, ApiError> {
    let queue = state.existing_queue(&name).await?;
    let total = queue.job_scheduler_count().await?;
    let schedulers = queue
        .job_schedulers(query.offset, query.limit, true)
        .await?;
    let hide = state.options.hide_data;
    Ok(Json(json!({
        "queue": name,
        "total": total,
        "schedulers": schedulers.iter().map(|s| json::scheduler(s, hide)).collect::<Vec<_>>(),
    })))
}
