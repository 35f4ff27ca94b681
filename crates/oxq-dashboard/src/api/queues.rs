//! `GET /api/queues` and `GET /api/queues/{queue}`: each queue with its counts per state and
//! whether it is paused.

use axum::Json;
use axum::extract::{Path, State};
use oxq::Queue;
use serde_json::Value;

use super::json;
use crate::error::ApiError;
use crate::state::DashboardState;

pub(crate) async fn list(State(state): State<DashboardState>) -> Result<Json<Value>, ApiError> {
    let mut queues = Vec::new();
    for queue_ref in state.queues().await? {
        let queue = Queue::<Value>::from_ref(state.backend.clone(), queue_ref);
        queues.push(describe(&queue).await?);
    }
    Ok(Json(Value::Array(queues)))
}

pub(crate) async fn one(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = state.existing_queue(&name).await?;
    Ok(Json(describe(&queue).await?))
}

async fn describe(queue: &Queue) -> Result<Value, ApiError> {
    let counts = queue.counts().await?;
    let paused = queue.is_paused().await?;
    Ok(json::queue(queue.name(), paused, &counts))
}
