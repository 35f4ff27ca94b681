//! `queue_clean` ↔ `scripts/clean.lua`.

use oxq_core::JobId;
use oxq_core::backend::{CleanQueue, CleanedJobs};
use oxq_core::clock::millis;
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::reply;
use crate::scripts::ScriptCall;
use crate::wire;

pub(crate) struct CleanCall {
    pub state: &'static str,
    pub cutoff: u64,
    pub limit: u64,
}

impl ScriptCall for CleanCall {
    const NAME: &'static str = "clean";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "delayed",
        "completed",
        "failed",
        "waiting-children",
        "meta",
        "events",
        "repeat",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.state).arg(self.cutoff).arg(self.limit);
    }
}

pub(crate) async fn clean(backend: &RedisBackend, req: CleanQueue) -> StoreResult<CleanedJobs> {
    let call = CleanCall {
        state: wire::state_suffix(req.state),
        cutoff: req.now.saturating_sub(millis(req.grace)),
        limit: req.limit,
    };
    let ids = reply::array(backend.run(&req.queue, &call).await?, "clean")?;
    let ids = ids
        .iter()
        .map(|v| reply::string(v, "clean").map(JobId))
        .collect::<StoreResult<_>>()?;
    Ok(CleanedJobs { ids })
}
