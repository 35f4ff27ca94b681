//! Conversions between Rust values and columns: state codes, times, scores, options JSON and
//! whole job rows.
//!
//! Stored data is never trusted to decode: an options or stacktrace column that is not valid
//! JSON comes back as defaults with a `tracing::warn!`, and out-of-range integers are clamped.

use oxq_core::{JobId, JobOptions, JobRecord, JobState};
use rusqlite::Row;

/// Bits of a prioritized score below the priority: `score = priority << 42 | position`.
const PRIORITY_SHIFT: u32 = 42;

/// Bits of an internal key below the queue id: `key = qid << 40 | n` (see the schema).
const KEY_BITS: u32 = 40;

/// The largest `n` of a key: job counters and event sequence numbers stay at or below it.
pub(crate) const KEY_MAX: i64 = (1 << KEY_BITS) - 1;

/// The internal key of item `n` (job counter or event sequence number) of queue `qid`.
pub(crate) fn row_key(qid: i64, n: i64) -> i64 {
    (qid << KEY_BITS) | (n & KEY_MAX)
}

/// The counter value behind an automatic id: `"17"` → 17. `None` for anything else (custom
/// ids are never canonical decimal numbers, see `JobId::custom`).
pub(crate) fn auto_id_number(id: &str) -> Option<i64> {
    if id.is_empty() || id.len() > 13 || id.starts_with('0') {
        return None;
    }
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse::<i64>().ok().filter(|n| (1..=KEY_MAX).contains(n))
}

/// The column list [`job_from_row`] reads, in order, as a literal for `concat!`.
macro_rules! job_columns {
    () => {
        "id, state, score, timestamp, attempts_made, attempts_started, stalled_count, name, \
         data, options, custom_id, progress, processed_on, processed_by, return_value, \
         failed_reason, stacktrace, deferred_failure"
    };
}
pub(crate) use job_columns;

pub(crate) fn state_code(state: JobState) -> i64 {
    match state {
        JobState::Waiting => 0,
        JobState::Prioritized => 1,
        JobState::Delayed => 2,
        JobState::Active => 3,
        JobState::WaitingChildren => 4,
        JobState::Completed => 5,
        JobState::Failed => 6,
    }
}

pub(crate) fn state_from_code(code: i64) -> Option<JobState> {
    Some(match code {
        0 => JobState::Waiting,
        1 => JobState::Prioritized,
        2 => JobState::Delayed,
        3 => JobState::Active,
        4 => JobState::WaitingChildren,
        5 => JobState::Completed,
        6 => JobState::Failed,
        _ => return None,
    })
}

pub(crate) const WAITING: i64 = 0;
pub(crate) const PRIORITIZED: i64 = 1;
pub(crate) const DELAYED: i64 = 2;
pub(crate) const ACTIVE: i64 = 3;
pub(crate) const COMPLETED: i64 = 5;
pub(crate) const FAILED: i64 = 6;

/// Milliseconds as SQLite stores them (saturating).
pub(crate) fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Milliseconds read back (negative values become 0).
pub(crate) fn ms_from(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn count_from(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// The score of a runnable job: `(state, score)` for its priority and line position.
/// `position` must be positive for a prioritized job (priorities ignore LIFO).
pub(crate) fn runnable_slot(priority: i64, position: i64) -> (i64, i64) {
    if priority > 0 {
        let priority = priority.min(i64::from(oxq_core::MAX_PRIORITY));
        (PRIORITIZED, (priority << PRIORITY_SHIFT) | position)
    } else {
        (WAITING, position)
    }
}

/// Options as stored: JSON without the id (the id has its own column), or NULL for defaults.
pub(crate) fn encode_options(options: &JobOptions) -> Option<String> {
    if options.job_id.is_none() && *options == JobOptions::default() {
        return None;
    }
    let mut stored = options.clone();
    stored.job_id = None;
    if stored == JobOptions::default() {
        return None;
    }
    match serde_json::to_string(&stored) {
        Ok(json) => Some(json),
        Err(e) => {
            // JobOptions always serializes; keep the job rather than refuse it.
            tracing::warn!(error = %e, "cannot encode job options; storing defaults");
            None
        }
    }
}

fn decode_options(id: &str, json: Option<String>) -> JobOptions {
    let Some(json) = json else {
        return JobOptions::default();
    };
    serde_json::from_str(&json).unwrap_or_else(|e| {
        tracing::warn!(job_id = id, error = %e, "stored job options do not decode; using defaults");
        JobOptions::default()
    })
}

fn decode_stacktrace(id: &str, json: Option<String>) -> Vec<String> {
    let Some(json) = json else {
        return Vec::new();
    };
    serde_json::from_str(&json).unwrap_or_else(|e| {
        tracing::warn!(job_id = id, error = %e, "stored stacktrace does not decode; using []");
        Vec::new()
    })
}

/// A job record from a row whose columns are [`job_columns!`], in order.
pub(crate) fn job_from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    job_from_row_at(row, 0)
}

/// A job record from a row holding [`job_columns!`] from column `base` on.
pub(crate) fn job_from_row_at(row: &Row<'_>, base: usize) -> rusqlite::Result<JobRecord> {
    let col = |i: usize| base + i;
    let id: String = row.get(col(0))?;
    let code: i64 = row.get(col(1))?;
    let state = state_from_code(code).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            col(1),
            rusqlite::types::Type::Integer,
            format!("job {id} has unknown state code {code}").into(),
        )
    })?;
    let score: i64 = row.get(col(2))?;
    let mut options = decode_options(&id, row.get(col(9))?);
    let custom: bool = row.get(col(10))?;
    if custom {
        options.job_id = Some(JobId(id.clone()));
    }
    let stacktrace = decode_stacktrace(&id, row.get(col(16))?);
    let mut record = JobRecord::new(
        JobId(id),
        row.get(col(7))?,
        row.get(col(8))?,
        options,
        ms_from(row.get(col(3))?),
    );
    record.state = state;
    record.attempts_made = count_from(row.get(col(4))?);
    record.attempts_started = count_from(row.get(col(5))?);
    record.stalled_count = count_from(row.get(col(6))?);
    if let Some(progress) = row.get::<_, Option<String>>(col(11))? {
        record.progress = progress;
    }
    record.processed_on = row.get::<_, Option<i64>>(col(12))?.map(ms_from);
    record.processed_by = row.get(col(13))?;
    record.return_value = row.get(col(14))?;
    record.failed_reason = row.get(col(15))?;
    record.stacktrace = stacktrace;
    record.deferred_failure = row.get(col(17))?;
    match state {
        JobState::Delayed => record.due_at = Some(ms_from(score)),
        JobState::Completed | JobState::Failed => record.finished_on = Some(ms_from(score)),
        _ => {}
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state_from_code(state_code(state)), Some(state));
        }
        assert_eq!(state_from_code(7), None);
    }

    #[test]
    fn default_options_are_not_stored() {
        assert_eq!(encode_options(&JobOptions::default()), None);
        assert_eq!(encode_options(&JobOptions::new().job_id("abc")), None);
        let json = encode_options(&JobOptions::new().attempts(3)).expect("stored");
        assert!(!json.contains("abc"));
        assert_eq!(decode_options("x", Some(json)).attempts, 3);
        assert_eq!(
            decode_options("x", Some("{not json".into())),
            JobOptions::default()
        );
    }

    #[test]
    fn priority_orders_before_position() {
        let (_, high) = runnable_slot(1, 1_000_000);
        let (_, low) = runnable_slot(2, 1);
        assert!(high < low);
        assert_eq!(runnable_slot(0, 5), (WAITING, 5));
    }

    #[test]
    fn automatic_ids_map_to_row_keys() {
        assert_eq!(auto_id_number("17"), Some(17));
        for custom in ["0", "017", "-3", "abc", "1.5", "", "99999999999999"] {
            assert_eq!(auto_id_number(custom), None, "{custom}");
        }
        let key = row_key(3, 17);
        assert_eq!(key & KEY_MAX, 17);
        assert!(row_key(3, KEY_MAX) < row_key(4, 0));
    }
}
