//! The JSON API under `/api`: reads anyone with the credentials may make, and actions a
//! read-only dashboard refuses with 403. Errors answer `{"error": "<sentence>"}` with 400 (a
//! bad parameter), 404 (an unknown queue or job), 409 (the job is held or in the wrong state),
//! 501 (the store lacks the feature) or 5xx.
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/config` | `read_only`, `hide_data`, `store`, `prefix`, `auth` (`token`, `basic` or null): what the pages offer |
//! | `GET /api/queues` | every queue under the prefix: `name`, `paused`, `counts` per state |
//! | `GET /api/queues/{queue}` | one queue, the same fields |
//! | `GET /api/queues/{queue}/jobs?state=S&offset=0&limit=20&ascending=false` | a page of jobs in state S (newest first unless `ascending`), with `total` in S |
//! | `GET /api/queues/{queue}/jobs/{id}` | a job's detail: record, logs, parent, children, durable `steps` (see [`steps`]) |
//! | `GET /api/queues/{queue}/throughput?minutes=60` | jobs completed and failed per minute, from the recorded metrics or else finished jobs' `finished_on` (see [`throughput`]) |
//! | `GET /api/queues/{queue}/metrics?type=completed\|failed&start=0&end=-1` | BullMQ's per-minute metrics as Node's `getMetrics` answers them: `meta` (`count`, `prevTS`, `prevCount`), `data` newest first, `count` (see [`job_metrics`]) |
//! | `GET /api/search?id=ID` | the jobs with that id, in any queue |
//! | `GET /api/search/data?text=T&queue=Q&state=S&limit=50&scan=5000` | jobs whose data contains T (bounded, see [`search`]) |
//! | `GET /api/queues/{queue}/schedulers?offset=0&limit=100` | schedulers, soonest next run first |
//! | `GET /api/queues/{queue}/workers` | workers serving the queue now: `name`, `addr`, `age_ms`, `idle_ms` (see [`workers`]) |
//! | `POST /api/queues/{queue}/jobs/{id}/retry` | a failed or completed job runs again |
//! | `POST /api/queues/{queue}/jobs/{id}/remove` | removes a job no worker holds |
//! | `POST /api/queues/{queue}/jobs/{id}/promote` | a delayed job runs now |
//! | `POST /api/queues/{queue}/jobs/{id}/cancel` | a job not finished is failed as `cancelled` (an active one: its worker is told); 409 when finished |
//! | `GET /api/queues/{queue}/dead-letters?offset=0&limit=20` | the dead jobs the queue holds as a dead letter queue, oldest first, with `total`, and `dead_letter_queue`: where the queue sends its own (see [`dead_letters`]) |
//! | `POST /api/queues/{queue}/dead-letters/{id}/replay` | adds one dead job back to its source queue |
//! | `POST /api/queues/{queue}/dead-letters/replay` | the same for `{"ids": [...]}`, one answer per id |
//! | `POST /api/queues/{queue}/dead-letters/{id}/purge` | deletes one dead job |
//! | `POST /api/queues/{queue}/dead-letters/purge` | deletes `{"ids": [...]}` or `{"all": true}` |
//! | `POST /api/queues/{queue}/pause`, `.../resume` | pauses or resumes the queue |
//! | `POST /api/queues/{queue}/clean?state=S&grace_ms=0&limit=1000` | removes finished (or other) jobs in S older than the grace |

mod actions;
mod config;
pub mod dead_letters;
pub mod job_metrics;
mod jobs;
mod json;
mod queues;
mod schedulers;
pub mod search;
pub mod steps;
pub mod throughput;
mod workers;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::DashboardState;

pub(crate) fn routes(state: DashboardState) -> Router<DashboardState> {
    let reads = Router::new()
        .route("/config", get(config::show))
        .route("/queues", get(queues::list))
        .route("/queues/{queue}", get(queues::one))
        .route("/queues/{queue}/jobs", get(jobs::page))
        .route("/queues/{queue}/jobs/{id}", get(jobs::detail))
        .route("/queues/{queue}/throughput", get(throughput::series))
        .route("/queues/{queue}/metrics", get(job_metrics::series))
        .route("/search", get(jobs::search))
        .route("/search/data", get(search::data))
        .route("/queues/{queue}/schedulers", get(schedulers::list))
        .route("/queues/{queue}/workers", get(workers::list))
        .route("/queues/{queue}/dead-letters", get(dead_letters::list));
    let actions = Router::new()
        .route("/queues/{queue}/jobs/{id}/retry", post(actions::retry))
        .route("/queues/{queue}/jobs/{id}/remove", post(actions::remove))
        .route("/queues/{queue}/jobs/{id}/promote", post(actions::promote))
        .route("/queues/{queue}/jobs/{id}/cancel", post(actions::cancel))
        .route(
            "/queues/{queue}/dead-letters/replay",
            post(dead_letters::replay_many),
        )
        .route(
            "/queues/{queue}/dead-letters/purge",
            post(dead_letters::purge_many),
        )
        .route(
            "/queues/{queue}/dead-letters/{id}/replay",
            post(dead_letters::replay_one),
        )
        .route(
            "/queues/{queue}/dead-letters/{id}/purge",
            post(dead_letters::purge_one),
        )
        .route("/queues/{queue}/pause", post(actions::pause))
        .route("/queues/{queue}/resume", post(actions::resume))
        .route("/queues/{queue}/clean", post(actions::clean))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            refuse_when_read_only,
        ));
    reads.merge(actions)
}

/// 403 for every action of a read-only dashboard.
async fn refuse_when_read_only(
    State(state): State<DashboardState>,
    request: Request,
    next: Next,
) -> Response {
    if state.options.read_only {
        ApiError::ReadOnly.into_response()
    } else {
        next.run(request).await
    }
}
