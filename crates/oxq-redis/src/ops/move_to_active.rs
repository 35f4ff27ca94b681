//! `job_move_to_active` ↔ `scripts/move_to_active.lua`: up to `max_jobs` jobs in one call, each
//! handed out with its [`FetchNote`] as the job's memo, for its completion. The worker's
//! limiter rides along as two arguments ('' for none); a rate-limited queue answers when the
//! limit ends (see [`oxq_core::backend::Limits`]).

use oxq_core::backend::{Fetch, FetchJobs, Fetched, FetchedJob};
use oxq_core::clock::millis;
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::memo::FetchNote;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct FetchCall<'a> {
    pub now: u64,
    pub fetch: &'a Fetch,
}

impl ScriptCall for FetchCall<'_> {
    const NAME: &'static str = "move_to_active";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Meta,
        Key::Events,
        Key::Marker,
        Key::Limiter,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        let f = self.fetch;
        inv.arg(self.now)
            .arg(f.token.as_str())
            .arg(millis(f.lock_duration).max(1))
            .arg(f.max_jobs)
            .arg(f.worker_name.as_deref().unwrap_or(""));
        limiter_args(f, inv);
    }
}

/// The worker limiter's max and duration (ms) as the fetch reads them; '' for none.
pub(crate) fn limiter_args<A: Argv>(f: &Fetch, inv: &mut A) {
    match f.limiter {
        Some(limit) => inv.arg(limit.max).arg(millis(limit.duration).max(1)),
        None => inv.arg("").arg(""),
    };
}

pub(crate) async fn fetch(backend: &RedisBackend, req: &FetchJobs) -> StoreResult<Fetched> {
    let call = FetchCall {
        now: req.now,
        fetch: &req.fetch,
    };
    let value = backend.run(&req.queue, &call).await?;
    let mut parts = reply::array(value, "move_to_active")?.into_iter();
    let (Some(jobs), Some(hint), Some(limited)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(RedisStoreError::reply(
            "move_to_active",
            "expected { jobs, hint, limitedUntil }",
        ));
    };
    activated(jobs, &hint, &limited, "move_to_active")
}

/// The fetch part of a script's reply (`{id, fields, ...}`, the hint and the end of a rate
/// limit) as [`Fetched`], each job with the note its completion will use.
pub(crate) fn activated(
    jobs: Value,
    hint: &Value,
    limited: &Value,
    context: &'static str,
) -> StoreResult<Fetched> {
    let items = reply::array(jobs, context)?;
    let mut fetched = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(id), Some(hash)) = (items.next(), items.next()) {
        let id = reply::string(&id, context)?;
        let not_utf8 = reply::non_utf8_field(&hash);
        let fields = reply::field_map(hash, context)?;
        let memo = FetchNote::memo(&fields);
        fetched.push(FetchedJob {
            record: reply::fetched_job(&id, fields, not_utf8),
            memo,
        });
    }
    Ok(Fetched {
        jobs: fetched,
        next_due_at: reply::hint(hint, context)?,
        rate_limited_until: reply::hint(limited, context)?,
    })
}
