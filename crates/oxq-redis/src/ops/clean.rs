//! `queue_clean` ↔ `scripts/clean.lua`.

use oxq_core::JobId;
use oxq_core::backend::{CleanQueue, CleanedJobs};
use oxq_core::clock::millis;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct CleanCall {
    pub state: &'static str,
    pub cutoff: u64,
    pub limit: u64,
}

impl ScriptCall for CleanCall {
    const NAME: &'static str = "clean";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
        Key::Meta,
        Key::Events,
        Key::Repeat,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.state).arg(self.cutoff).arg(self.limit);
    }
}

pub(crate) async fn clean(backend: &RedisBackend, req: CleanQueue) -> StoreResult<CleanedJobs> {
    let call = CleanCall {
        state: Key::holding(req.state).as_suffix(),
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
