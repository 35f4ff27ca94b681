//! `job_move_to_active` ↔ `scripts/move_to_active.lua`: up to `max_jobs` jobs in one call.

use oxq_core::backend::{FetchJobs, Fetched};
use oxq_core::clock::millis;
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct FetchCall<'a> {
    pub req: &'a FetchJobs,
}

impl ScriptCall for FetchCall<'_> {
    const NAME: &'static str = "move_to_active";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "pc",
        "delayed",
        "meta",
        "events",
        "marker",
        "limiter",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        let r = self.req;
        inv.arg(r.now)
            .arg(r.token.as_str())
            .arg(millis(r.lock_duration).max(1))
            .arg(r.max_jobs)
            .arg(r.worker_name.as_deref().unwrap_or(""));
    }
}

pub(crate) async fn fetch(backend: &RedisBackend, req: &FetchJobs) -> StoreResult<Fetched> {
    let value = backend.run(&req.queue, &FetchCall { req }).await?;
    decode(value, "move_to_active")
}

/// `{ jobs, hint }` as [`Fetched`].
pub(crate) fn decode(value: redis::Value, context: &'static str) -> StoreResult<Fetched> {
    let mut items = reply::array(value, context)?.into_iter();
    let (Some(jobs), Some(hint)) = (items.next(), items.next()) else {
        return Err(RedisStoreError::reply(context, "expected { jobs, hint }"));
    };
    Ok(Fetched {
        jobs: reply::fetched_jobs(jobs, context)?,
        next_due_at: reply::hint(&hint, context)?,
    })
}
