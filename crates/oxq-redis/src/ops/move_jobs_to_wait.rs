//! `jobs_retry` and `jobs_promote` ↔ `scripts/move_jobs_to_wait.lua`, in pages of at most 1000
//! jobs per script call.

use oxq_core::backend::{MovedJobs, PromoteJobs, RetryJobs};
use oxq_core::{Error, JobState, QueueRef};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

const PAGE: u64 = 1000;

pub(crate) struct MoveCall {
    /// `failed`, `completed` or `delayed`.
    pub source: &'static str,
    /// Highest score moved (`+inf` for all).
    pub max_score: String,
    pub limit: u64,
}

impl ScriptCall for MoveCall {
    const NAME: &'static str = "move_jobs_to_wait";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.source).arg(&self.max_score).arg(self.limit);
    }
}

async fn move_many(
    backend: &RedisBackend,
    queue: &QueueRef,
    source: &'static str,
    max_score: String,
    limit: u64,
) -> StoreResult<u64> {
    let mut moved = 0;
    while moved < limit {
        let call = MoveCall {
            source,
            max_score: max_score.clone(),
            limit: (limit - moved).min(PAGE),
        };
        let n = reply::int(&backend.run(queue, &call).await?, "move_jobs_to_wait")?;
        let n = u64::try_from(n).unwrap_or(0);
        moved += n;
        if n < call.limit {
            break;
        }
    }
    Ok(moved)
}

pub(crate) async fn retry_many(backend: &RedisBackend, req: RetryJobs) -> Result<MovedJobs, Error> {
    let source = match req.state {
        JobState::Failed => "failed",
        JobState::Completed => "completed",
        other => {
            return Err(Error::invalid(format!(
                "only failed or completed jobs can be retried, not {other}"
            )));
        }
    };
    let count = move_many(
        backend,
        &req.queue,
        source,
        req.finished_before.to_string(),
        req.limit,
    )
    .await?;
    Ok(MovedJobs { count })
}

pub(crate) async fn promote_many(
    backend: &RedisBackend,
    req: PromoteJobs,
) -> StoreResult<MovedJobs> {
    let count = move_many(backend, &req.queue, "delayed", "+inf".to_owned(), req.limit).await?;
    Ok(MovedJobs { count })
}
