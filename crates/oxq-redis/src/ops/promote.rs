//! `job_promote` ↔ `scripts/promote.lua`.

use oxq_core::backend::JobAt;
use oxq_core::{Error, JobId};

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::ops::job_code;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct PromoteCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for PromoteCall<'_> {
    const NAME: &'static str = "promote";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
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
