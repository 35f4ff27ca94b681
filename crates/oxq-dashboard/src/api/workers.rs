//! `GET /api/queues/{queue}/workers`: the workers serving the queue now (oxq workers of any
//! process; on Redis also Node BullMQ workers), oldest first, each with `name` (null when it
//! has none), `addr`, `age_ms` and `idle_ms`. 501 when the store keeps no worker presence.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::DashboardState;

pub(crate) async fn list(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = state.existing_queue(&name).await?;
    let workers = queue.workers().await?;
    let workers: Vec<Value> = workers
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "addr": w.addr,
                "age_ms": w.age.as_millis() as u64,
                "idle_ms": w.idle.as_millis() as u64,
            })
        })
        .collect();
    Ok(Json(json!({ "queue": name, "workers": workers })))
}
