//! [`OtherQueues`]: the rows of queues a write reaches besides its own, through a parent or
//! child on another queue.
//!
//! A write loads its own [`QueueRow`] once and saves it at its end; a second copy of that row
//! would hand out the same positions and event ids. So every row a flow rule needs comes
//! from [`OtherQueues::row`], which answers the write's own row for its own queue and loads
//! any other at most once; [`OtherQueues::save`] saves those with the write. An empty set
//! allocates nothing, so a write that reaches no other queue pays nothing for it.

use oxq_core::{Error, QueueRef};
use rusqlite::Connection;

use crate::error::StoreResult;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

#[derive(Debug, Default)]
pub(crate) struct OtherQueues {
    rows: Vec<QueueRow>,
}

impl OtherQueues {
    /// The row of queue `qid`: `own` when it is that queue, else loaded once.
    pub(crate) fn row<'a>(
        &'a mut self,
        conn: &Connection,
        own: &'a mut QueueRow,
        qid: i64,
    ) -> StoreResult<&'a mut QueueRow> {
        if own.qid == qid {
            return Ok(own);
        }
        let index = match self.rows.iter().position(|r| r.qid == qid) {
            Some(index) => index,
            None => {
                let row = QueueRow::load_qid(conn, qid)?.ok_or_else(|| {
                    Error::store(format!("queue row {qid} vanished during a write"))
                })?;
                self.rows.push(row);
                self.rows.len() - 1
            }
        };
        Ok(&mut self.rows[index])
    }

    /// The row of `queue` (created when missing): `own` when it is that queue.
    pub(crate) fn row_of<'a>(
        &'a mut self,
        conn: &Connection,
        own: &'a mut QueueRow,
        queue: &QueueRef,
    ) -> StoreResult<&'a mut QueueRow> {
        if own.is(queue) {
            return Ok(own);
        }
        let index = match self.rows.iter().position(|r| r.is(queue)) {
            Some(index) => index,
            None => {
                self.rows.push(QueueRow::load_or_create(conn, queue)?);
                self.rows.len() - 1
            }
        };
        Ok(&mut self.rows[index])
    }

    /// Saves every row loaded (their events and counters), after the write's own.
    pub(crate) fn save(self, ctx: &mut WriteCtx<'_>) -> StoreResult<()> {
        for row in self.rows {
            row.save(ctx)?;
        }
        Ok(())
    }
}
