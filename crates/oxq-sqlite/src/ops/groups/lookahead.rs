//! The round-robin's view of what runs next: for each runnable state, the first group after
//! the cursor that has a job in that state, with that job.
//!
//! One query answers both "which group is next" and "which of its jobs": `jobs_by_group` is
//! ordered `(qid, state, group_key, score)`, so the first row after the cursor's key is the
//! next group's next job. A state's answer stays good while the cursor has not reached its
//! group (the fetch changes no other group's rows), so a fetch of N group jobs asks about N
//! queries, not one per group, state and job as a probe per step would.

use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use crate::codec::{Fetchable, PRIORITIZED, WAITING, fetched_from_row_at, job_columns};
use crate::error::StoreResult;

/// The first job, in run order, of the first group after `?3` with a job in state `?2`.
pub(crate) const FIRST_AFTER: &str = concat!(
    "SELECT group_key, jid, ",
    job_columns!(),
    " FROM jobs WHERE qid = ?1 AND state = ?2 AND group_key > ?3 AND +state < 4 \
     ORDER BY group_key, score, jid LIMIT 1"
);

/// A group's next job.
pub(super) struct NextJob {
    pub key: String,
    pub jid: i64,
    pub fetchable: Fetchable,
    /// The state it leaves.
    pub prev: &'static str,
}

/// What one state's query answered (`None`: no group has a job in that state after the key
/// asked), and after which key it asked: good for any cursor from that key up to the group's.
struct Answer {
    asked: String,
    next: Option<NextJob>,
}

impl Answer {
    fn holds_at(&self, cursor: &str) -> bool {
        self.asked.as_str() <= cursor && self.next.as_ref().is_none_or(|n| cursor < n.key.as_str())
    }
}

/// The next group job of each runnable state after a cursor (see the module docs).
pub(super) struct Lookahead<'c> {
    stmt: CachedStatement<'c>,
    qid: i64,
    /// Per state of [`STATES`].
    answers: [Option<Answer>; 2],
}

/// Waiting first: a group runs its waiting jobs before its prioritized ones.
const STATES: [(i64, &str); 2] = [(WAITING, "waiting"), (PRIORITIZED, "prioritized")];

impl<'c> Lookahead<'c> {
    pub(super) fn new(conn: &'c Connection, qid: i64) -> StoreResult<Self> {
        Ok(Self {
            stmt: conn.prepare_cached(FIRST_AFTER)?,
            qid,
            answers: [None, None],
        })
    }

    /// The next group after `cursor` (in key order, not wrapping) and its next job: its first
    /// waiting job, else its first prioritized one. The job is handed over: the caller runs it
    /// or passes the group over, and moves the cursor to the group either way.
    pub(super) fn take_after(&mut self, cursor: &str) -> StoreResult<Option<NextJob>> {
        for (slot, (state, prev)) in STATES.iter().enumerate() {
            if !self.answers[slot]
                .as_ref()
                .is_some_and(|a| a.holds_at(cursor))
            {
                self.answers[slot] = Some(self.ask(*state, prev, cursor)?);
            }
        }
        let next_key = |slot: usize| {
            self.answers[slot]
                .as_ref()
                .and_then(|a| a.next.as_ref())
                .map(|n| n.key.as_str())
        };
        let pick = match (next_key(0), next_key(1)) {
            (Some(waiting), Some(prioritized)) => usize::from(prioritized < waiting),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return Ok(None),
        };
        // handed over: this state is asked again next time
        Ok(self.answers[pick].take().and_then(|a| a.next))
    }

    fn ask(&mut self, state: i64, prev: &'static str, after: &str) -> StoreResult<Answer> {
        let row = self
            .stmt
            .query_row(params![self.qid, state, after], |r| {
                Ok(NextJob {
                    key: r.get(0)?,
                    jid: r.get(1)?,
                    fetchable: fetched_from_row_at(r, 2)?,
                    prev,
                })
            })
            .optional()?;
        Ok(Answer {
            asked: after.to_owned(),
            next: row,
        })
    }
}
