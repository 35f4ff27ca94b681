//! `job_retry` ↔ `scripts/retry_job.lua`.

use oxq_core::backend::JobAt;
use oxq_core::{Error, JobId};
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::ops::job_code;
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct RetryCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for RetryCall<'_> {
    const NAME: &'static str = "retry_job";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "active",
        "prioritized",
        "pc",
        "completed",
        "failed",
        "meta",
        "events",
        "marker",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
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
