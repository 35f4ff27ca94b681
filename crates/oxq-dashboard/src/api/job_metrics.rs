//! `GET /api/queues/{queue}/metrics?type=completed|failed&start=0&end=-1`: BullMQ's per-minute
//! metrics of the queue (recorded by workers started with `metrics`, oxq's or Node's), in the
//! shape of Node's `queue.getMetrics(type, start, end)`: `meta` (`count`, `prevTS`,
//! `prevCount`), `data` (jobs per minute, newest first, `start`..=`end` as Redis `LRANGE`
//! reads indexes) and `count` (points kept), plus `queue` and `type`. Unlike
//! [`throughput`](super::throughput) it counts jobs removed on completion too, and costs one
//! read whatever the queue's size. 400 for another `type`, 501 when the store keeps no metrics.

use axum::Json;
use axum::extract::{Path, Query, State};
use oxq::MetricsKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::DashboardState;

#[derive(Debug, Deserialize)]
pub(crate) struct MetricsQuery {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    start: i64,
    #[serde(default = "to_the_end")]
    end: i64,
}

fn to_the_end() -> i64 {
    -1
}

pub(crate) async fn series(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<MetricsQuery>,
) -> Result<Json<Value>, ApiError> {
    let kind = MetricsKind::parse(&query.kind).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "type {:?} is not `completed` or `failed`",
            query.kind
        ))
    })?;
    let queue = state.existing_queue(&name).await?;
    let series = queue.metrics(kind, query.start, query.end).await?;
    Ok(Json(json!({
        "queue": name,
        "type": kind.as_str(),
        "meta": series.meta,
        "data": series.data,
        "count": series.count,
    })))
}
