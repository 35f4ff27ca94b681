//! The dead letter view: `GET /api/queues/{queue}/dead-letters` lists the dead jobs a queue
//! holds as a dead letter queue (oldest first) and names the queue it sends its own dead jobs
//! to; the actions replay dead jobs to their source queues or purge them (a read-only
//! dashboard refuses them, see [`super::routes`]). 501 when the store has no dead letter
//! queues.
//!
//! Replay and purge of many take a JSON body: `{"ids": ["1", "2"]}`, or for a purge
//! `{"all": true}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use oxq::backend::{DeadLetter, ReplayedDeadLetter};
use oxq::{JobId, Queue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::json_of;
use crate::error::ApiError;
use crate::state::DashboardState;

/// Dead jobs a page holds at most.
const MAX_PAGE: u64 = 1000;
/// Dead jobs one replay or purge names at most.
const MAX_IDS: usize = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    20
}

/// `GET /api/queues/{queue}/dead-letters?offset=0&limit=20`.
pub(crate) async fn list(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    if query.limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit {} is over {MAX_PAGE}",
            query.limit
        )));
    }
    let queue = state.existing_queue(&name).await?;
    let sends_to = queue.dead_letter_queue().await?;
    let total = queue.dead_letter_count().await?;
    let dead = queue.dead_letters(query.offset, query.limit).await?;
    let hide = state.options.hide_data;
    Ok(Json(json!({
        "queue": name,
        "dead_letter_queue": sends_to,
        "offset": query.offset,
        "limit": query.limit,
        "total": total,
        "dead_letters": dead.iter().map(|d| dead_letter(d, hide)).collect::<Vec<_>>(),
    })))
}

/// One dead job: its id in the dead letter queue, where it came from, why it failed, its
/// replays and its data.
fn dead_letter(dead: &DeadLetter, hide_data: bool) -> Value {
    let record = &dead.record;
    let mut value = json!({
        "id": record.id.as_str(),
        "name": record.name,
        "source_queue": dead.source.name,
        "source_id": dead.source_id.as_str(),
        "dead_at": dead.dead_at,
        "replays": dead.replays,
        "replayed_as": dead.replayed_as.as_ref().map(JobId::as_str),
        "failed_reason": record.failed_reason,
        "stacktrace": record.stacktrace,
        "attempts_made": record.attempts_made,
        "options": record.options,
    });
    if let Value::Object(fields) = &mut value {
        if hide_data {
            fields.insert("data_hidden".into(), Value::Bool(true));
        } else {
            fields.insert("data".into(), json_of(&record.data));
        }
    }
    value
}

/// A dead letter queue that exists (404 otherwise).
async fn dead_letter_queue(state: &DashboardState, name: &str) -> Result<Queue, ApiError> {
    state.existing_queue(name).await
}

/// `POST /api/queues/{queue}/dead-letters/{id}/replay`: adds the dead job back to its source
/// queue; answers the new job's queue and id.
pub(crate) async fn replay_one(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let queue = dead_letter_queue(&state, &name).await?;
    let answers = queue.replay_dead_letters(&[JobId(id.clone())]).await?;
    match answers.into_iter().next() {
        Some(ReplayedDeadLetter::Replayed { source, job_id }) => {
            tracing::info!(queue = name, dead_id = id, source = source.name, job_id = %job_id, "dashboard: replayed a dead job");
            Ok(Json(json!({
                "replayed": id,
                "source_queue": source.name,
                "job_id": job_id.as_str(),
            })))
        }
        Some(ReplayedDeadLetter::NotFound) | None => Err(ApiError::JobNotFound { queue: name, id }),
    }
}

/// `POST /api/queues/{queue}/dead-letters/{id}/purge`: deletes one dead job.
pub(crate) async fn purge_one(
    State(state): State<DashboardState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let queue = dead_letter_queue(&state, &name).await?;
    let purged = queue.purge_dead_letters(&[JobId(id.clone())]).await?;
    if purged == 0 {
        return Err(ApiError::JobNotFound { queue: name, id });
    }
    tracing::info!(queue = name, dead_id = id, "dashboard: purged a dead job");
    Ok(Json(json!({ "purged": purged })))
}

/// The body of a replay or purge of many.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Selection {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    all: bool,
}

fn selection(body: &[u8]) -> Result<Selection, ApiError> {
    let selection: Selection = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"ids\": [\"1\", \"2\"]}}: {e}"
        ))
    })?;
    if selection.ids.len() > MAX_IDS {
        return Err(ApiError::BadRequest(format!(
            "{} ids given, at most {MAX_IDS} at once",
            selection.ids.len()
        )));
    }
    Ok(selection)
}

/// `POST /api/queues/{queue}/dead-letters/replay` with `{"ids": [...]}`: one answer per id, in
/// order (`replayed` true with the new job's queue and id, or false when the queue holds no
/// such dead job).
pub(crate) async fn replay_many(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let selection = selection(&body)?;
    if selection.all || selection.ids.is_empty() {
        return Err(ApiError::BadRequest(
            "name the dead jobs to replay: {\"ids\": [...]}".to_owned(),
        ));
    }
    let queue = dead_letter_queue(&state, &name).await?;
    let ids: Vec<JobId> = selection.ids.iter().cloned().map(JobId).collect();
    let answers = queue.replay_dead_letters(&ids).await?;
    let results: Vec<Value> = ids
        .iter()
        .zip(&answers)
        .map(|(id, answer)| match answer {
            ReplayedDeadLetter::Replayed { source, job_id } => json!({
                "id": id.as_str(),
                "replayed": true,
                "source_queue": source.name,
                "job_id": job_id.as_str(),
            }),
            ReplayedDeadLetter::NotFound => json!({
                "id": id.as_str(),
                "replayed": false,
                "error": format!("no dead job {id} in queue {name}"),
            }),
        })
        .collect();
    let replayed = answers
        .iter()
        .filter(|a| matches!(a, ReplayedDeadLetter::Replayed { .. }))
        .count();
    tracing::info!(
        queue = name,
        replayed,
        asked = ids.len(),
        "dashboard: replayed dead jobs"
    );
    Ok(Json(json!({ "replayed": replayed, "results": results })))
}

/// `POST /api/queues/{queue}/dead-letters/purge` with `{"ids": [...]}` or `{"all": true}`:
/// answers how many dead jobs were deleted.
pub(crate) async fn purge_many(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let selection = selection(&body)?;
    let queue = dead_letter_queue(&state, &name).await?;
    let purged = match (selection.all, selection.ids.is_empty()) {
        (true, true) => queue.purge_all_dead_letters().await?,
        (false, false) => {
            let ids: Vec<JobId> = selection.ids.into_iter().map(JobId).collect();
            queue.purge_dead_letters(&ids).await?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give either {\"ids\": [...]} or {\"all\": true}".to_owned(),
            ));
        }
    };
    tracing::info!(queue = name, purged, "dashboard: purged dead jobs");
    Ok(Json(json!({ "purged": purged })))
}
