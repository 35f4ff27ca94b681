//! `GET /api/search/data?text=T`: the jobs whose data contains a text, across queues and
//! states, by reading jobs through the store's job pages (both stores the same way).
//!
//! Limits, so one search costs a bounded amount: at most `scan` jobs are read (default
//! [`DEFAULT_SCAN`], at most [`MAX_SCAN`]), newest first in each queue and state, and at most
//! `limit` matches are answered (default 50, at most [`MAX_MATCHES`]). `complete: false` says
//! the budget ran out before every job was read. The text is matched case-insensitively
//! against the data's JSON text (so `"to":"a@b"` needs the quotes and no spaces, as stored).
//! A dashboard that hides data refuses the search (403): matches would reveal the data.

use axum::Json;
use axum::extract::{Query, State};
use oxq::backend::ListJobs;
use oxq::{JobState, QueueRef};
use serde::Deserialize;
use serde_json::{Value, json};

use super::jobs::parse_state;
use super::json;
use crate::error::ApiError;
use crate::state::DashboardState;

/// Jobs read per search unless the request says otherwise.
pub const DEFAULT_SCAN: u64 = 5_000;
/// Jobs one search may read at most.
pub const MAX_SCAN: u64 = 50_000;
/// Matches one search answers at most.
pub const MAX_MATCHES: u64 = 500;
/// Longest text searched for, in characters.
const MAX_TEXT_CHARS: usize = 200;
/// Jobs read from the store per call.
const READ_PAGE: u64 = 200;

#[derive(Debug, Deserialize)]
pub(crate) struct DataSearchQuery {
    text: String,
    queue: Option<String>,
    state: Option<String>,
    #[serde(default = "default_limit")]
    limit: u64,
    #[serde(default = "default_scan")]
    scan: u64,
}

fn default_limit() -> u64 {
    50
}

fn default_scan() -> u64 {
    DEFAULT_SCAN
}

/// What a search reads and how much of it.
struct Budget {
    scanned: u64,
    scan: u64,
    limit: u64,
}

pub(crate) async fn data(
    State(state): State<DashboardState>,
    Query(query): Query<DataSearchQuery>,
) -> Result<Json<Value>, ApiError> {
    if state.options.hide_data {
        return Err(ApiError::DataHidden);
    }
    let text = query.text.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest("text is empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "text is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    if query.scan == 0 || query.scan > MAX_SCAN {
        return Err(ApiError::BadRequest(format!(
            "scan {} is not in 1..={MAX_SCAN}",
            query.scan
        )));
    }
    if query.limit == 0 || query.limit > MAX_MATCHES {
        return Err(ApiError::BadRequest(format!(
            "limit {} is not in 1..={MAX_MATCHES}",
            query.limit
        )));
    }
    let states = match &query.state {
        Some(name) => vec![parse_state(name)?],
        None => JobState::ALL.to_vec(),
    };
    let queues = match &query.queue {
        Some(name) => vec![state.existing_queue(name).await?.queue_ref().clone()],
        None => state.queues().await?,
    };
    let needle = text.to_lowercase();
    let mut budget = Budget {
        scanned: 0,
        scan: query.scan,
        limit: query.limit,
    };
    let mut matches = Vec::new();
    let mut complete = true;
    'search: for queue in &queues {
        for job_state in &states {
            let read_all = search_one(
                &state,
                queue,
                *job_state,
                &needle,
                &mut budget,
                &mut matches,
            )
            .await?;
            if !read_all {
                complete = false;
                break 'search;
            }
        }
    }
    Ok(Json(json!({
        "text": text,
        "matches": matches,
        "scanned": budget.scanned,
        "complete": complete,
    })))
}

/// Reads `queue`'s jobs in `job_state`, newest first, adding the matches; false when the scan
/// budget or the match limit stopped it before the last job.
async fn search_one(
    state: &DashboardState,
    queue: &QueueRef,
    job_state: JobState,
    needle: &str,
    budget: &mut Budget,
    matches: &mut Vec<Value>,
) -> Result<bool, ApiError> {
    let mut offset = 0;
    loop {
        let room = budget.scan - budget.scanned;
        if room == 0 || matches.len() as u64 >= budget.limit {
            return Ok(false);
        }
        let limit = READ_PAGE.min(room);
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
        budget.scanned += read;
        offset += read;
        for record in records {
            if matches.len() as u64 >= budget.limit {
                return Ok(false);
            }
            if record.data.to_lowercase().contains(needle) {
                matches.push(json!({
                    "queue": queue.name,
                    "job": json::job_summary(&record, false),
                }));
            }
        }
        if read < limit {
            return Ok(true);
        }
    }
}
