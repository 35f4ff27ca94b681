//! `job_promote` ↔ `scripts/promote.lua`.

use oxq_core::backend::JobAt;
use oxq_core::{Error, JobId};
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::ops::job_code;
use crate::reply;
use crate::scripts::ScriptCall;

pub(crate) struct PromoteCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for PromoteCall<'_> {
    const NAME: &'static str = "promote";
    const KEYS: &'static [&'static str] = &[
        "wait",
        "active",
        "prioritized",
        "pc",
        "delayed",
        "meta",
        "events",
        "marker",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) async fn promote(backend: &RedisBackend, req: JobAt) -> Result<(), Error> {
    let call = PromoteCall {
        job_id: &req.job_id,
    };
    let code = reply::int(&backend.run(&req.queue, &call).await?, "promote")?;
    job_code(code, &req.job_id, "delayed")
}
