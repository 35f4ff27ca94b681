//! `job_log_add` ↔ `scripts/add_log.lua`; `job_logs` reads the `:logs` list directly.

use oxq_core::backend::{AddLog, JobLogs, LogAdded, ReadLogs};
use oxq_core::{Error, JobId};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct AddLogCall<'a> {
    pub job_id: &'a JobId,
    pub line: &'a str,
    pub keep: u32,
}

impl ScriptCall for AddLogCall<'_> {
    const NAME: &'static str = "add_log";
    const KEYS: &'static [Key] = &[Key::Meta];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str()).arg(self.line).arg(self.keep);
    }
}

pub(crate) async fn add(backend: &RedisBackend, req: AddLog) -> Result<LogAdded, Error> {
    let call = AddLogCall {
        job_id: &req.job_id,
        line: &req.line,
        keep: req.keep_logs.unwrap_or(0),
    };
    let n = reply::int(&backend.run(&req.queue, &call).await?, "add_log")?;
    let total = u64::try_from(n).map_err(|_| Error::JobNotFound(req.job_id.to_string()))?;
    Ok(LogAdded { total })
}

pub(crate) async fn read(backend: &RedisBackend, req: ReadLogs) -> StoreResult<JobLogs> {
    let key = QueueKeys::new(&req.queue).job_logs(req.job_id.as_str());
    if req.limit == 0 {
        let total: u64 = redis::cmd("LLEN")
            .arg(&key)
            .query_async(&mut backend.conn())
            .await?;
        return Ok(JobLogs {
            lines: Vec::new(),
            total,
        });
    }
    let start = i64::try_from(req.offset).unwrap_or(i64::MAX);
    let end = start
        .saturating_add(i64::try_from(req.limit).unwrap_or(i64::MAX))
        .saturating_sub(1);
    let (lines, total): (Vec<String>, u64) = redis::pipe()
        .atomic()
        .cmd("LRANGE")
        .arg(&key)
        .arg(start)
        .arg(end)
        .cmd("LLEN")
        .arg(&key)
        .query_async(&mut backend.conn())
        .await?;
    Ok(JobLogs { lines, total })
}
