//! Score bands: where a runnable job with a group sorts in `jobs_by_state`.
//!
//! A fetch takes runnable jobs without a group first, in score order through `jobs_by_state`
//! `(qid, state, score)`. Group jobs of the same states would sit among them, so a backlog of
//! group jobs in front of the plain ones would make every plain fetch read past it. Instead of
//! a second index over every runnable job (which each plain add, fetch and finish would pay
//! for), a runnable group job's score is moved into a band of its own:
//!
//! | state       | plain score                                  | group score            |
//! |-------------|----------------------------------------------|------------------------|
//! | waiting     | line position, within ±2^61                  | position + 2^62        |
//! | prioritized | `priority << 42 \| position`, 0 ..= 2^63 − 1 | that − 2^63 (negative) |
//!
//! So the plain fetch seeks straight to its range ([`plain_range`]) and reads only plain rows,
//! and a queue without groups writes and reads exactly what it did before groups existed. The
//! band is one offset per state, so the order within a group is kept; the group fetch reads it
//! through `jobs_by_group` (migration 0013). Listing a state in score order shows waiting group
//! jobs after the plain ones and prioritized group jobs before them.
//!
//! Every write that makes a job runnable goes through [`stored`] (inserts, scores computed in
//! Rust) or [`stored_score!`] (updates, where the row's own `group_key` decides).

use crate::codec::{PRIORITIZED, WAITING};

/// Offset of a waiting group job's score.
const WAITING_BAND: i64 = 1 << 62;

/// Plain waiting scores (line positions) stay strictly within ±this.
const WAITING_PLAIN_LIMIT: i64 = 1 << 61;

/// `(state, score)` as stored for a job becoming runnable (or any other state, unchanged),
/// `grouped` when the job has a group.
pub(crate) fn stored((state, score): (i64, i64), grouped: bool) -> (i64, i64) {
    if !grouped {
        return (state, score);
    }
    match state {
        WAITING => (state, score.saturating_add(WAITING_BAND)),
        // prioritized scores are >= 0: the sign bit moves them below every plain one
        PRIORITIZED => (state, score.saturating_add(i64::MIN)),
        _ => (state, score),
    }
}

/// The SQL form of [`stored`] for an `UPDATE jobs SET state = ?2, score = <this>` whose
/// unbanded score is `?3`: the row's `group_key` chooses the band.
macro_rules! stored_score {
    () => {
        "?3 + CASE WHEN group_key IS NULL THEN 0 WHEN ?2 = 0 THEN 4611686018427387904 \
         WHEN ?2 = 1 THEN -9223372036854775807 - 1 ELSE 0 END"
    };
}
pub(crate) use stored_score;

/// The scores `low ..= high` of runnable jobs without a group in `state`.
pub(crate) const fn plain_range(state: i64) -> (i64, i64) {
    if state == PRIORITIZED {
        (0, i64::MAX)
    } else {
        (-WAITING_PLAIN_LIMIT, WAITING_PLAIN_LIMIT - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{KEY_MAX, runnable_slot};

    /// The scores `low ..= high` of runnable jobs with a group in `state`.
    fn group_range(state: i64) -> (i64, i64) {
        if state == PRIORITIZED {
            (i64::MIN, -1)
        } else {
            (WAITING_PLAIN_LIMIT, i64::MAX)
        }
    }

    fn within((low, high): (i64, i64), score: i64) -> bool {
        (low..=high).contains(&score)
    }

    /// The extremes of each state's plain scores land in the plain range, and banded they land
    /// in the group range, in the same order.
    #[test]
    fn bands_keep_plain_and_group_scores_apart_and_in_order() {
        let max_priority = i64::from(oxq_core::MAX_PRIORITY);
        let slots = [
            runnable_slot(0, -KEY_MAX),
            runnable_slot(0, -1),
            runnable_slot(0, 1),
            runnable_slot(0, KEY_MAX),
            runnable_slot(1, 1),
            runnable_slot(1, KEY_MAX),
            runnable_slot(max_priority, 1),
            runnable_slot(max_priority, (1 << 42) - 1),
        ];
        for pair in slots.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (ga, gb) = (stored(a, true), stored(b, true));
            if a.0 == b.0 {
                assert!(ga.1 < gb.1, "order kept within a state: {a:?} {b:?}");
            }
        }
        for slot in slots {
            assert_eq!(stored(slot, false), slot);
            assert!(within(plain_range(slot.0), slot.1), "{slot:?} plain");
            assert!(!within(group_range(slot.0), slot.1), "{slot:?} plain");
            let banded = stored(slot, true);
            assert!(within(group_range(slot.0), banded.1), "{slot:?} banded");
            assert!(!within(plain_range(slot.0), banded.1), "{slot:?} banded");
        }
        assert_eq!(stored((2, 5), true), (2, 5), "only runnable states move");
    }

    /// The SQL form computes what [`stored`] does.
    #[test]
    fn the_sql_band_matches_the_rust_one() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let sql = concat!("SELECT ", stored_score!(), " FROM (SELECT ?1 AS group_key)");
        for (state, score) in [(0, -7), (0, 12), (1, (3 << 42) | 5), (2, 99), (3, 4)] {
            for group in [None, Some("g")] {
                let got: i64 =
                    conn.query_row(sql, rusqlite::params![group, state, score], |r| r.get(0))?;
                assert_eq!(
                    got,
                    stored((state, score), group.is_some()).1,
                    "{state} {score} {group:?}"
                );
            }
        }
        Ok(())
    }
}
