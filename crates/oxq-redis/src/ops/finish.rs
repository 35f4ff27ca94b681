//! `job_finish` ↔ `scripts/finish.lua`: many attempt ends and the next fetch of the same queue
//! in one call, each item answered on its own (`JobNotFound`, `LockLost`, `JobNotInState`, and
//! for a parent's completion `PendingDependencies` / `FailedDependency`).
//! An item whose memo holds the [`FetchNote`] its fetch took skips the script's hash read when
//! it completes; without one (another process fetched the job) the script reads the hash.

use oxq_core::backend::{Fetch, Finish, FinishJobs, FinishResult};
use oxq_core::clock::millis;
use oxq_core::{Error, JobId};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::memo::FetchNote;
use crate::ops::{job_code, move_to_active};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};
use crate::wire::{self, FinishArgs};

pub(crate) struct FinishCall<'a> {
    pub now: u64,
    pub items: Vec<FinishItem<'a>>,
    pub fetch: Option<&'a Fetch>,
    /// The most metrics points to keep per series; `None` records no metrics.
    pub metrics: Option<u32>,
}

pub(crate) struct FinishItem<'a> {
    pub finish: &'a Finish,
    pub args: FinishArgs,
    /// The attempts made once this attempt ends, from the job's fetch note.
    pub attempts_after: Option<&'a str>,
}

impl ScriptCall for FinishCall<'_> {
    const NAME: &'static str = "finish";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::Meta,
        Key::Events,
        Key::Marker,
        Key::Limiter,
        Key::WaitingChildren,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now).arg(self.items.len());
        for item in &self.items {
            let (f, a) = (item.finish, &item.args);
            inv.arg(f.job_id.as_str())
                .arg(f.token.as_str())
                .arg(a.kind)
                .arg(&a.value)
                .arg(a.delay_ms)
                .arg(a.keep_count)
                .arg(a.keep_age_ms)
                .arg(item.attempts_after.unwrap_or(""));
        }
        match self.fetch {
            Some(f) => inv
                .arg("1")
                .arg(f.token.as_str())
                .arg(millis(f.lock_duration).max(1))
                .arg(f.max_jobs)
                .arg(f.worker_name.as_deref().unwrap_or("")),
            None => inv.arg("0").arg("").arg(0).arg(0).arg(""),
        };
        match self.fetch {
            Some(f) => move_to_active::limiter_args(f, inv),
            None => {
                inv.arg("").arg("");
            }
        }
        match self.metrics {
            Some(points) => inv.arg(points),
            None => inv.arg(""),
        };
    }
}

pub(crate) async fn finish(backend: &RedisBackend, req: FinishJobs) -> StoreResult<FinishResult> {
    // ends this store does not know are refused one by one, the others go out
    let mut answers: Vec<Option<Result<(), Error>>> = Vec::with_capacity(req.items.len());
    let mut items = Vec::with_capacity(req.items.len());
    for item in &req.items {
        match wire::finish_args(&item.end, req.now) {
            Some(args) => {
                answers.push(None);
                items.push(FinishItem {
                    finish: item,
                    args,
                    attempts_after: item
                        .memo
                        .get::<FetchNote>()
                        .map(|note| note.attempts_after.as_str()),
                });
            }
            None => answers.push(Some(Err(Error::Unsupported {
                store: "redis",
                operation: "this attempt end",
            }))),
        }
    }
    let call = FinishCall {
        now: req.now,
        items,
        fetch: req.fetch_next.as_ref(),
        metrics: req.metrics,
    };
    let value = backend.run(&req.queue, &call).await?;
    let mut parts = reply::array(value, "finish")?.into_iter();
    let (Some(codes), Some(jobs), Some(hint), Some(limited)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RedisStoreError::reply(
            "finish",
            "expected { codes, jobs, hint, limitedUntil }",
        ));
    };
    let codes = reply::array(codes, "finish")?;
    if codes.len() != call.items.len() {
        return Err(RedisStoreError::reply(
            "finish",
            "one code per item expected",
        ));
    }
    let mut codes = codes.iter().zip(&call.items);
    let results = answers
        .into_iter()
        .map(|answer| match answer {
            Some(refused) => Ok(refused),
            None => {
                let (code, item) = codes
                    .next()
                    .ok_or_else(|| RedisStoreError::reply("finish", "missing code"))?;
                item_answer(code, &item.finish.job_id)
            }
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let fetched = move_to_active::activated(jobs, &hint, &limited, "finish")?;
    Ok(FinishResult {
        items: results,
        fetched,
    })
}

/// One item's code: an integer ([`job_code`]), or a parent's refused completion
/// `{ -4, pending }` / `{ -9, child key }`.
fn item_answer(code: &Value, job_id: &JobId) -> StoreResult<Result<(), Error>> {
    let Value::Array(parts) = code else {
        return Ok(job_code(reply::int(code, "finish")?, job_id, "active"));
    };
    match parts.as_slice() {
        [Value::Int(-4), pending] => Ok(Err(Error::PendingDependencies {
            job_id: job_id.to_string(),
            pending: u64::try_from(reply::int(pending, "finish")?).unwrap_or(0),
        })),
        [Value::Int(-9), child] => Ok(Err(Error::FailedDependency {
            job_id: job_id.to_string(),
            child: reply::string(child, "finish")?,
        })),
        _ => Err(RedisStoreError::reply(
            "finish",
            format!("unexpected item answer {parts:?}"),
        )),
    }
}
