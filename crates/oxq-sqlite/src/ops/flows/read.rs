//! `job_dependencies`: what a parent knows of its children, read on a reader connection.
//!
//! Each kind (processed with values, pending, ignored with reasons, failed) is listed by child
//! key (prefix, queue, id), at most `limit` of each; the counts are whole. `None` when the job
//! does not exist; a job that never had children answers empty lists.

use oxq_core::backend::{Dependencies, DependencyCounts, GetDependencies};
use oxq_core::flow::ChildKey;
use rusqlite::{Connection, OptionalExtension, params};

use super::links::{FAILED, IGNORED, PENDING, PROCESSED, child_key_at};
use crate::error::StoreResult;
use crate::ops::{candidate_jid, list};

const LIST: &str = "SELECT child_prefix, child_queue, child_id, value FROM job_dependencies \
    WHERE parent_jid = ?1 AND status = ?2 \
    ORDER BY child_prefix, child_queue, child_id LIMIT ?3 + 0";

pub(crate) fn dependencies(
    conn: &Connection,
    req: &GetDependencies,
) -> StoreResult<Option<Dependencies>> {
    let Some(qid) = list::queue_id(conn, &req.queue)? else {
        return Ok(None);
    };
    let Some(jid) = candidate_jid(conn, qid, req.job_id.as_str())? else {
        return Ok(None);
    };
    let exists: Option<i64> = conn
        .prepare_cached("SELECT jid FROM jobs WHERE jid = ?1 AND id = ?2")?
        .query_row(params![jid, req.job_id.as_str()], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    let with_values = |status: i64, absent: &str| -> StoreResult<Vec<(ChildKey, String)>> {
        let rows = conn
            .prepare_cached(LIST)?
            .query_map(params![jid, status, limit], |r| {
                let value: Option<String> = r.get(3)?;
                Ok((
                    child_key_at(0)(r)?,
                    value.unwrap_or_else(|| absent.to_owned()),
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    };
    let keys = |status: i64| -> StoreResult<Vec<ChildKey>> {
        Ok(with_values(status, "")?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    };
    let mut counts = DependencyCounts::default();
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM job_dependencies WHERE parent_jid = ?1 GROUP BY status",
    )?;
    let mut rows = stmt.query([jid])?;
    while let Some(row) = rows.next()? {
        let (status, n): (i64, i64) = (row.get(0)?, row.get(1)?);
        let n = u64::try_from(n).unwrap_or(0);
        match status {
            PENDING => counts.pending = n,
            PROCESSED => counts.processed = n,
            IGNORED => counts.ignored = n,
            FAILED => counts.failed = n,
            _ => {}
        }
    }
    Ok(Some(Dependencies {
        processed: with_values(PROCESSED, "null")?,
        pending: keys(PENDING)?,
        ignored: with_values(IGNORED, "")?,
        failed: keys(FAILED)?,
        counts,
    }))
}
