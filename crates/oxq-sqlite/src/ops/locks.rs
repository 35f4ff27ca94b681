//! `locks_extend`: renews the locks a worker holds.
//!
//! A lock is renewed (`lock_until = now + duration`) only where the job is still active under
//! the same token; every other id (finished, removed, recovered by the stalled check, taken by
//! another worker) is returned as lost. An expired lock that nobody took over is renewed.

use oxq_core::backend::{ExtendLocks, ExtendedLocks};
use oxq_core::clock::millis;
use rusqlite::params;

use crate::codec::ms;
use crate::error::StoreResult;
use crate::ops::candidate_jid;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

pub(crate) fn extend(ctx: &mut WriteCtx<'_>, req: ExtendLocks) -> StoreResult<ExtendedLocks> {
    let conn = ctx.conn;
    let Some(queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(ExtendedLocks {
            lost: req.locks.into_iter().map(|(id, _)| id).collect(),
        });
    };
    let lock_until = ms(req.now.saturating_add(millis(req.duration)));
    let mut lost = Vec::new();
    for (id, token) in req.locks {
        let renewed = match candidate_jid(conn, queue.qid, id.as_str())? {
            Some(jid) => conn
                .prepare_cached(
                    "UPDATE jobs SET score = ?4 \
                     WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3",
                )?
                .execute(params![jid, id.as_str(), token.as_str(), lock_until])?,
            None => 0,
        };
        if renewed == 0 {
            lost.push(id);
        }
    }
    // Nothing else of the queue changed: no need to save it or wake anyone.
    Ok(ExtendedLocks { lost })
}
