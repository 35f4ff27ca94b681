//! `job_get` ↔ `scripts/get_job.lua` (the hash and the state in one atomic read).

use oxq_core::backend::GetJob;
use oxq_core::{JobId, JobRecord};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct GetCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for GetCall<'_> {
    const NAME: &'static str = "get_job";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn get(backend: &RedisBackend, req: GetJob) -> StoreResult<Option<JobRecord>> {
    let call = GetCall {
        job_id: &req.job_id,
    };
    let items = reply::array(backend.run(&req.queue, &call).await?, "get_job")?;
    let mut items = items.into_iter();
    let (Some(suffix), Some(score), Some(fields)) = (items.next(), items.next(), items.next())
    else {
        return Ok(None);
    };
    Ok(Some(reply::job_record(
        req.job_id.as_str(),
        &suffix,
        &score,
        fields,
        "get_job",
    )?))
}
