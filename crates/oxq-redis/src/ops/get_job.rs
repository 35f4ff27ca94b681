//! `job_get` ↔ `scripts/get_job.lua` (the hash and the state in one atomic read).

use oxq_core::{JobId, JobRecord, JobState, QueueRef};
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::reply;
use crate::scripts::ScriptCall;
use crate::wire;

pub(crate) struct GetCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for GetCall<'_> {
    const NAME: &'static str = "get_job";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "delayed",
        "completed",
        "failed",
        "waiting-children",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn get(
    backend: &RedisBackend,
    queue: &QueueRef,
    id: &JobId,
) -> StoreResult<Option<JobRecord>> {
    let items = reply::array(
        backend.run(queue, &GetCall { job_id: id }).await?,
        "get_job",
    )?;
    let mut items = items.into_iter();
    let (Some(suffix), Some(score), Some(fields)) = (items.next(), items.next(), items.next())
    else {
        return Ok(None);
    };
    Ok(Some(record(
        id.as_str(),
        &suffix,
        &score,
        fields,
        "get_job",
    )?))
}

/// A record from a script's `suffix, score, fields` triple.
pub(crate) fn record(
    id: &str,
    suffix: &redis::Value,
    score: &redis::Value,
    fields: redis::Value,
    context: &'static str,
) -> StoreResult<JobRecord> {
    let suffix = reply::string(suffix, context)?;
    let state = wire::state_from_suffix(&suffix).unwrap_or_else(|| {
        tracing::warn!(
            job_id = id,
            "job hash is in no state key; reported as waiting"
        );
        JobState::Waiting
    });
    let score = reply::string(score, context)?.parse::<f64>().ok();
    let fields = reply::field_map(fields, context)?;
    if fields.is_empty() {
        return Err(RedisStoreError::reply(context, "empty job hash"));
    }
    Ok(wire::decode_record(id, state, score, fields))
}
