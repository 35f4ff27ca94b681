//! `job_update_progress` ↔ `scripts/update_progress.lua`.

use oxq_core::backend::UpdateProgress;
use oxq_core::{Error, JobId};

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::ops::job_code;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct ProgressCall<'a> {
    pub job_id: &'a JobId,
    pub progress: &'a str,
}

impl ScriptCall for ProgressCall<'_> {
    const NAME: &'static str = "update_progress";
    const KEYS: &'static [Key] = &[Key::Meta, Key::Events];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str()).arg(self.progress);
    }
}

pub(crate) async fn update(backend: &RedisBackend, req: UpdateProgress) -> Result<(), Error> {
    if serde_json::from_str::<serde_json::Value>(&req.progress).is_err() {
        // Node's QueueEvents stops on invalid JSON in `progress.data`
        return Err(Error::invalid("progress must be valid JSON"));
    }
    let call = ProgressCall {
        job_id: &req.job_id,
        progress: &req.progress,
    };
    let code = reply::int(&backend.run(&req.queue, &call).await?, "update_progress")?;
    job_code(code, &req.job_id, "existing")
}
