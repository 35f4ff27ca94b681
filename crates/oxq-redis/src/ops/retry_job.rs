//! `job_retry` ↔ `scripts/retry_job.lua`.

use oxq_core::backend::JobAt;
use oxq_core::{Error, JobId};

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::ops::job_code;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct RetryCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for RetryCall<'_> {
    const NAME: &'static str = "retry_job";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Completed,
        Key::Failed,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn retry(backend: &RedisBackend, req: JobAt) -> Result<(), Error> {
    let call = RetryCall {
        job_id: &req.job_id,
    };
    let code = reply::int(&backend.run(&req.queue, &call).await?, "retry_job")?;
    job_code(code, &req.job_id, "completed or failed")
}
