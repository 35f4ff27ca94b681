//! `GET /api/queues/{queue}/throughput?minutes=60`: jobs completed and failed per minute over
//! the last `minutes` (at most [`MAX_MINUTES`]), from one of two sources, named in `source`:
//!
//! * `"metrics"`: BullMQ's per-minute series (`metrics:completed` / `metrics:failed`, see
//!   [`job_metrics`](super::job_metrics)), when the queue's workers record it (oxq's with
//!   `WorkerOptions::metrics`, Node's with `metrics`). Node's `getMetrics` and Bull Board's
//!   chart read the same numbers, jobs removed on completion are counted, and the read costs
//!   the same whatever the queue's size. `complete: false` says the window reaches back before
//!   the oldest point kept (`maxDataPoints`).
//! * `"finished jobs"`, for a queue without that series: each completed or failed job the
//!   store still holds counts in the minute of its `finished_on`. Jobs removed on completion or
//!   failure (`removeOnComplete`/`removeOnFail`, clean) are not counted, and at most
//!   [`MAX_SCAN`] jobs per state are read (newest first; `complete: false` says the series was
//!   cut there).
//!
//! Minutes end on whole minutes of the dashboard's clock; the last one is the minute now
//! running.

use axum::Json;
use axum::extract::{Path, Query, State};
use oxq::backend::ListJobs;
use oxq::{JobState, MetricsKind, MetricsSeries, Queue, QueueRef};
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
    let (completed, failed, source) = match recorded(&queue, &window).await? {
        Some((completed, failed)) => (completed, failed, "metrics"),
        None => (
            per_minute(&state, queue.queue_ref(), JobState::Completed, &window).await?,
            per_minute(&state, queue.queue_ref(), JobState::Failed, &window).await?,
            "finished jobs",
        ),
    };
    Ok(Json(json!({
        "queue": name,
        "from": from,
        "to": to,
        "minute_ms": MINUTE_MS,
        "completed": completed.counts,
        "failed": failed.counts,
        "complete": completed.complete && failed.complete,
        "source": source,
    })))
}

/// The window's completions and failures from the queue's recorded metrics; `None` when the
/// store keeps none or no worker has recorded any for this queue.
async fn recorded(queue: &Queue, window: &Window) -> Result<Option<(Series, Series)>, ApiError> {
    let Some(completed) = read_recorded(queue, MetricsKind::Completed, window).await? else {
        return Ok(None);
    };
    let Some(failed) = read_recorded(queue, MetricsKind::Failed, window).await? else {
        return Ok(None);
    };
    if completed.series.meta.prev_ts == 0 && failed.series.meta.prev_ts == 0 {
        return Ok(None);
    }
    Ok(Some((
        completed.per_minute(window),
        failed.per_minute(window),
    )))
}

/// The points of a recorded series that fall in a window: `series.data[0]` is point `first`
/// of the whole series (newest first).
struct Recorded {
    series: MetricsSeries,
    first: u64,
}

/// One recorded series, only the points that fall in the window; `None` for a store that keeps
/// no metrics.
async fn read_recorded(
    queue: &Queue,
    kind: MetricsKind,
    window: &Window,
) -> Result<Option<Recorded>, ApiError> {
    // the counters first (they say where the points stand), then the window's points
    let head = match queue.metrics(kind, 0, 0).await {
        Ok(head) => head,
        Err(oxq::Error::Unsupported { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let open_minute = head.meta.prev_ts / MINUTE_MS;
    let window_first = window.from / MINUTE_MS;
    // point i stands for the minute `open_minute - 1 - i`
    let Some(last) = open_minute.checked_sub(window_first + 1) else {
        return Ok(Some(Recorded {
            series: MetricsSeries {
                data: Vec::new(),
                ..head
            },
            first: 0,
        }));
    };
    let first = open_minute.saturating_sub(window_first + window.minutes);
    let index = |i: u64| i64::try_from(i).unwrap_or(i64::MAX);
    let series = queue.metrics(kind, index(first), index(last)).await?;
    Ok(Some(Recorded { series, first }))
}

impl Recorded {
    /// Spreads the series over the window's minutes. In BullMQ's layout the minute of `prevTS`
    /// is still open and holds `count - prevCount` jobs; point `i` is the minute `i + 1` before
    /// it; minutes after it saw no finish (a finish would have closed it).
    fn per_minute(&self, window: &Window) -> Series {
        let meta = &self.series.meta;
        let open_minute = meta.prev_ts / MINUTE_MS;
        let window_first = window.from / MINUTE_MS;
        let mut complete = true;
        let counts = (window_first..window_first + window.minutes)
            .map(|minute| {
                if meta.prev_ts == 0 || minute > open_minute {
                    return 0;
                }
                if minute == open_minute {
                    return meta.count.saturating_sub(meta.prev_count);
                }
                let point = (open_minute - minute - 1).saturating_sub(self.first);
                let point = usize::try_from(point).unwrap_or(usize::MAX);
                self.series.data.get(point).copied().unwrap_or_else(|| {
                    // before the oldest point kept
                    complete = false;
                    0
                })
            })
            .collect();
        Series { counts, complete }
    }
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
