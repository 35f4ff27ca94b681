//! `job_remove` ↔ `scripts/remove_job.lua`.

use oxq_core::{Error, JobId, QueueRef};
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct RemoveCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for RemoveCall<'_> {
    const NAME: &'static str = "remove_job";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "paused",
        "active",
        "prioritized",
        "delayed",
        "completed",
        "failed",
        "waiting-children",
        "stalled",
        "meta",
        "events",
        "repeat",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn remove(
    backend: &RedisBackend,
    queue: &QueueRef,
    id: &JobId,
) -> Result<bool, Error> {
    let code = reply::int(
        &backend.run(queue, &RemoveCall { job_id: id }).await?,
        "remove_job",
    )?;
    match code {
        1 => Ok(true),
        0 => Ok(false),
        -2 => Err(Error::Conflict(format!(
            "job {id} is locked by a worker and cannot be removed"
        ))),
        -8 => Err(Error::Conflict(format!(
            "job {id} is the pending iteration of a job scheduler; remove the scheduler instead"
        ))),
        other => Err(Error::Store(format!("remove_job: unexpected code {other}"))),
    }
}
