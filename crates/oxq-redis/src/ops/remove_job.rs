//! `job_remove` ↔ `scripts/remove_job.lua`: one job, or a parent with its whole subtree
//! (children on any queue), refused whole while a worker holds any of them.

use oxq_core::backend::{JobRemoved, RemoveJob};
use oxq_core::{Error, JobId};
use redis::Value;

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct RemoveCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for RemoveCall<'_> {
    const NAME: &'static str = "remove_job";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
        Key::Stalled,
        Key::Meta,
        Key::Events,
        Key::Repeat,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn remove(backend: &RedisBackend, req: RemoveJob) -> Result<JobRemoved, Error> {
    let id = &req.job_id;
    let answer = backend.run(&req.queue, &RemoveCall { job_id: id }).await?;
    if let Value::Array(parts) = &answer {
        return match parts.as_slice() {
            [Value::Int(-2), held] => Err(Error::Conflict(format!(
                "job {id} cannot be removed: job {} of its subtree is locked by a worker",
                reply::string(held, "remove_job")?
            ))),
            _ => Err(Error::store(format!(
                "remove_job: unexpected answer {parts:?}"
            ))),
        };
    }
    let code = reply::int(&answer, "remove_job")?;
    match code {
        1 => Ok(JobRemoved { existed: true }),
        0 => Ok(JobRemoved { existed: false }),
        -2 => Err(Error::Conflict(format!(
            "job {id} is locked by a worker and cannot be removed"
        ))),
        -8 => Err(Error::Conflict(format!(
            "job {id} is the pending iteration of a job scheduler; remove the scheduler instead"
        ))),
        other => Err(Error::store(format!("remove_job: unexpected code {other}"))),
    }
}
