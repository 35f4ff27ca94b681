//! `job_move_to_active` ↔ `scripts/move_to_active.lua`: up to `max_jobs` jobs in one call, and
//! a [`Receipt`] kept per job for its completion.

use oxq_core::backend::{FetchJobs, Fetched};
use oxq_core::clock::millis;
use redis::{ScriptInvocation, Value};

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::QueueKeys;
use crate::receipts::Receipt;
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
    let mut parts = reply::array(value, "move_to_active")?.into_iter();
    let (Some(jobs), Some(hint)) = (parts.next(), parts.next()) else {
        return Err(RedisStoreError::reply(
            "move_to_active",
            "expected { jobs, hint }",
        ));
    };
    activated(backend, req, jobs, &hint, "move_to_active")
}

/// The fetch part of a script's reply (`{id, fields, ...}` and the hint) as [`Fetched`],
/// keeping each job's receipt for its completion.
pub(crate) fn activated(
    backend: &RedisBackend,
    req: &FetchJobs,
    jobs: Value,
    hint: &Value,
    context: &'static str,
) -> StoreResult<Fetched> {
    let keys = QueueKeys::new(&req.queue);
    let items = reply::array(jobs, context)?;
    let mut records = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(id), Some(hash)) = (items.next(), items.next()) {
        let id = reply::string(&id, context)?;
        let fields = reply::field_map(hash, context)?;
        if let Some(receipt) = Receipt::from_hash(req.token.as_str(), &fields) {
            backend.receipts.keep(keys.job(&id), receipt);
        }
        records.push(reply::fetched_job(&id, fields));
    }
    Ok(Fetched {
        jobs: records,
        next_due_at: reply::hint(hint, context)?,
    })
}
