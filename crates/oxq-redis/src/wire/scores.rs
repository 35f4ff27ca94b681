//! Score encodings of BullMQ's sorted sets (`bullmq-v5-model.md` §3): a delayed job's score is
//! `due · 4096 + tiebreak` (decode: `floor(score / 4096)`); a prioritized job's is
//! `priority · 2^32 + counter`. The scripts compute both (`scripts/include/common.lua`); Rust
//! only decodes due times.

/// Due time (ms since the epoch) of a delayed score; 0 for a score that is not a positive
/// number.
pub(crate) fn due_from_delayed_score(score: f64) -> u64 {
    if score.is_finite() && score > 0.0 {
        (score / 4096.0).floor() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_score_decodes_to_due_time() {
        assert_eq!(
            due_from_delayed_score(1_722_222_222_222.0 * 4096.0 + 17.0),
            1_722_222_222_222
        );
        assert_eq!(due_from_delayed_score(-1.0), 0);
        assert_eq!(due_from_delayed_score(f64::NAN), 0);
    }

    proptest::proptest! {
        #[test]
        fn delayed_scores_keep_the_due_millisecond(due in 0u64..2_000_000_000_000, tie in 0u64..4096) {
            let score = (due * 4096 + tie) as f64;
            proptest::prop_assert_eq!(due_from_delayed_score(score), due);
        }
    }
}
