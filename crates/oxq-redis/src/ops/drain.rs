//! `queue_drain` ↔ `scripts/drain.lua`.

use oxq_core::backend::{DrainQueue, DrainedJobs};
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct DrainCall {
    pub include_delayed: bool,
}

impl ScriptCall for DrainCall {
    const NAME: &'static str = "drain";
    const KEYS: &'static [&'static str] =
        &["wait", "paused", "prioritized", "pc", "delayed", "repeat"];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(if self.include_delayed { "1" } else { "0" });
    }
}

pub(crate) async fn drain(backend: &RedisBackend, req: DrainQueue) -> StoreResult<DrainedJobs> {
    let call = DrainCall {
        include_delayed: req.include_delayed,
    };
    let n = reply::int(&backend.run(&req.queue, &call).await?, "drain")?;
    Ok(DrainedJobs {
        count: u64::try_from(n).unwrap_or(0),
    })
}
