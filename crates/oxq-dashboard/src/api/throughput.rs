//! `GET /api/queues/{queue}/throughput?minutes=60`: jobs completed and failed per minute over
//! the last `minutes` (at most [`MAX_MINUTES`]), computed from the finished jobs the store
//! still holds: each completed or failed job counts in the minute of its `finished_on`.
//!
//! Limits: jobs removed on completion or failure (`removeOnComplete`/`removeOnFail`, clean)
//! are not counted, and at most [`MAX_SCAN`] jobs per state are read (newest first;
//! `complete: false` says the series was cut there). Minutes end on whole minutes of the
//! dashboard's clock; the last one is the minute now running.

use axum::Json;
use axum::extract::{Path, Query, State};
use oxq::backend::ListJobs;
use oxq::{JobState, QueueRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::DashboardState;

/// The longest series, in minutes (a day).
pub const MAX_MINUTES: u64 = 1440;
/// Finished jobs read per state at most.
pub const MAX_SCAN: u64 = 20_000;
const MINUTE_MS: u64 = 60_000;
/// Jobs read from the store per call.
const READ_PAGE: u64 = 500;

#[derive(Debug, Deserialize)]
pub(crate) struct ThroughputQuery {
    #[serde(default = "default_minutes")]
    minutes: u64,
}

fn default_minutes() -> u64 {
    60
}

pub(crate) async fn series(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<ThroughputQuery>,
) -> Result<Json<Value>, ApiError> {
    if query.minutes == 0 || query.minutes > MAX_MINUTES {
        return Err(ApiError::BadRequest(format!(
            "minutes {} is not in 1..={MAX_MINUTES}",
            query.minutes
        )));
    }
    let queue = state.existing_queue(&name).await?;
    let now = state.options.clock.now_ms();
    let to = (now / MINUTE_MS + 1) * MINUTE_MS;
    let from = to.saturating_sub(query.minutes * MINUTE_MS);
    let window = Window {
        from,
        to,
        minutes: query.minutes,
    };
    let completed = per_minute(&state, queue.queue_ref(), JobState::Completed, &window).await?;
    let failed = per_minute(&state, queue.queue_ref(), JobState::Failed, &window).await?;
    Ok(Json(json!({
        "queue": name,
        "from": from,
        "to": to,
        "minute_ms": MINUTE_MS,
        "completed": completed.counts,
        "failed": failed.counts,
        "complete": completed.complete && failed.complete,
        "source": "finished jobs",
    })))
}

/// The minutes counted: `[from, to)`.
struct Window {
    from: u64,
    to: u64,
    minutes: u64,
}

struct Series {
    counts: Vec<u64>,
    /// Every job finished in the window was read.
    complete: bool,
}

/// Counts `queue`'s jobs in `job_state` per minute of their `finished_on`, reading newest
/// first until one finished before the window.
async fn per_minute(
    state: &DashboardState,
    queue: &QueueRef,
    job_state: JobState,
    window: &Window,
) -> Result<Series, ApiError> {
    let buckets = usize::try_from(window.minutes)
        .map_err(|_| ApiError::BadRequest("minutes too large".into()))?;
    let mut counts = vec![0_u64; buckets];
    let mut offset = 0;
    while offset < MAX_SCAN {
        let limit = READ_PAGE.min(MAX_SCAN - offset);
        let records = state
            .backend
            .jobs_list(ListJobs {
                queue: queue.clone(),
                states: vec![job_state],
                offset,
                limit,
                ascending: false,
            })
            .await?;
        let read = records.len() as u64;
        offset += read;
        for record in &records {
            let Some(finished) = record.finished_on else {
                continue;
            };
            if finished < window.from {
                return Ok(Series {
                    counts,
                    complete: true,
                });
            }
            if finished < window.to {
                let minute =
                    usize::try_from((finished - window.from) / MINUTE_MS).unwrap_or(usize::MAX);
                if let Some(count) = counts.get_mut(minute) {
                    *count += 1;
                }
            }
        }
        if read < limit {
            return Ok(Series {
                counts,
                complete: true,
            });
        }
    }
    Ok(Series {
        counts,
        complete: false,
    })
}
