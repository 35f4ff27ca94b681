//! `locks_extend`: renews the locks a worker holds.
//!
//! A lock is renewed (`lock_until = now + duration`) only where the job is still active under
//! the same token; every other id (finished, removed, recovered by the stalled check, taken by
//! another worker) is returned as lost. An expired lock that nobody took over is renewed.
//! Among the ids that would be lost, one whose `cancelled_lock` is the token sent (or `'*'`)
//! was cancelled ([`cancel`](crate::ops::cancel)) and is answered apart; only a lost id costs
//! that look.

use oxq_core::backend::{ExtendLocks, ExtendedLocks};
use oxq_core::clock::millis;
use rusqlite::{OptionalExtension, params};

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
            cancelled: Vec::new(),
        });
    };
    let lock_until = ms(req.now.saturating_add(millis(req.duration)));
    let (mut lost, mut cancelled) = (Vec::new(), Vec::new());
    for (id, token) in req.locks {
        let jid = candidate_jid(conn, queue.qid, id.as_str())?;
        let renewed = match jid {
            Some(jid) => conn
                .prepare_cached(
                    "UPDATE jobs SET score = ?4 \
                     WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3",
                )?
                .execute(params![jid, id.as_str(), token.as_str(), lock_until])?,
            None => 0,
        };
        if renewed > 0 {
            continue;
        }
        let by: Option<String> = match jid {
            Some(jid) => conn
                .prepare_cached("SELECT cancelled_lock FROM jobs WHERE jid = ?1 AND id = ?2")?
                .query_row(params![jid, id.as_str()], |r| r.get(0))
                .optional()?
                .flatten(),
            None => None,
        };
        if by.is_some_and(|by| by == token.as_str() || by == "*") {
            cancelled.push(id);
        } else {
            lost.push(id);
        }
    }
    // Nothing else of the queue changed: no need to save it or wake anyone.
    Ok(ExtendedLocks { lost, cancelled })
}
