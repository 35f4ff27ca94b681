//! `queue_pause` / `queue_resume` ↔ `scripts/pause.lua` / `scripts/resume.lua` (BullMQ 6:
//! pausing keeps jobs in `wait`; resuming merges a legacy 5.x `paused` list in batches).

use oxq_core::QueueRef;
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::QueueKeys;
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct PauseCall;

impl ScriptCall for PauseCall {
    const NAME: &'static str = "pause";
    const KEYS: &'static [&'static str] = &["meta", "events", "marker"];

    fn args(&self, _inv: &mut ScriptInvocation<'_>) {}
}

pub(crate) struct ResumeCall {
    pub first: bool,
}

impl ScriptCall for ResumeCall {
    const NAME: &'static str = "resume";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "delayed",
        "meta",
        "events",
        "marker",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(if self.first { "1" } else { "0" });
    }
}

pub(crate) async fn pause(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<()> {
    backend.run(queue, &PauseCall).await?;
    Ok(())
}

pub(crate) async fn resume(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<()> {
    let mut first = true;
    loop {
        let left = reply::int(&backend.run(queue, &ResumeCall { first }).await?, "resume")?;
        if left <= 0 {
            return Ok(());
        }
        first = false;
    }
}

pub(crate) async fn is_paused(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<bool> {
    let key = QueueKeys::new(queue).key("meta");
    Ok(redis::cmd("HEXISTS")
        .arg(key)
        .arg("paused")
        .query_async(&mut backend.conn())
        .await?)
}
