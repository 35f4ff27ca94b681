//! `job_finish` ↔ `scripts/finish.lua`: many outcomes and the next fetch in one call, each
//! item answered on its own (`JobNotFound`, `LockLost`, `JobNotInState`). Each item carries the
//! receipt its fetch kept, when this backend fetched it, so a completion skips a hash read.

use oxq_core::Error;
use oxq_core::backend::{FetchJobs, Fetched, FinishJobs, FinishResult};
use oxq_core::clock::millis;
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::QueueKeys;
use crate::ops::{job_code, move_to_active};
use crate::receipts::Receipt;
use crate::reply;
use crate::scripts::ScriptCall;
use crate::wire::{self, FinishArgs};

pub(crate) struct FinishCall<'a> {
    pub now: u64,
    pub items: Vec<FinishItem<'a>>,
    pub fetch: Option<&'a FetchJobs>,
}

pub(crate) struct FinishItem<'a> {
    pub finish: &'a oxq_core::backend::Finish,
    pub args: FinishArgs,
    pub receipt: Option<Receipt>,
}

impl ScriptCall for FinishCall<'_> {
    const NAME: &'static str = "finish";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "pc",
        "delayed",
        "completed",
        "failed",
        "meta",
        "events",
        "marker",
        "limiter",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.now).arg(self.items.len());
        for item in &self.items {
            let (f, a) = (item.finish, &item.args);
            inv.arg(f.job_id.as_str())
                .arg(f.token.as_str())
                .arg(a.kind)
                .arg(&a.value)
                .arg(a.delay_ms)
                .arg(a.keep_count)
                .arg(a.keep_age_ms);
            match &item.receipt {
                Some(r) => inv.arg(&r.attempts_after),
                None => inv.arg(""),
            };
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
    }
}

pub(crate) async fn finish(backend: &RedisBackend, req: FinishJobs) -> StoreResult<FinishResult> {
    // outcomes this store does not know are refused one by one, the others go out
    let mut answers: Vec<Option<Result<(), Error>>> = Vec::with_capacity(req.items.len());
    let mut items = Vec::with_capacity(req.items.len());
    let keys = QueueKeys::new(&req.queue);
    for item in &req.items {
        match wire::finish_args(&item.outcome) {
            Some(args) => {
                answers.push(None);
                let receipt = backend
                    .receipts
                    .take(&keys.job(item.job_id.as_str()), item.token.as_str());
                items.push(FinishItem {
                    finish: item,
                    args,
                    receipt,
                });
            }
            None => answers.push(Some(Err(Error::Unsupported {
                store: "redis",
                operation: "this finish outcome",
            }))),
        }
    }
    // a fetch on another queue cannot share the script (other keys); it follows it
    let same_queue = req.fetch_next.as_ref().filter(|f| f.queue == req.queue);
    let call = FinishCall {
        now: req.now,
        items,
        fetch: same_queue,
    };
    let value = backend.run(&req.queue, &call).await?;
    let mut parts = reply::array(value, "finish")?.into_iter();
    let (Some(codes), Some(jobs), Some(hint)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(RedisStoreError::reply(
            "finish",
            "expected { codes, jobs, hint }",
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
                Ok(job_code(
                    reply::int(code, "finish")?,
                    &item.finish.job_id,
                    "active",
                ))
            }
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let fetched = match (&req.fetch_next, same_queue) {
        (Some(_), Some(fetch)) => move_to_active::activated(backend, fetch, jobs, &hint, "finish")?,
        (Some(other), None) => match move_to_active::fetch(backend, other).await {
            Ok(fetched) => fetched,
            Err(e) => {
                // the outcomes are recorded; a failed follow-up fetch only means "fetch later"
                tracing::warn!(queue = %other.queue, error = %e, "fetch after finishing failed");
                Fetched::default()
            }
        },
        (None, _) => Fetched::default(),
    };
    Ok(FinishResult {
        items: results,
        fetched,
    })
}
