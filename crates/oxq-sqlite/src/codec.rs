//! Conversions between Rust values and columns: state codes, times, scores, options JSON and
//! whole job rows.
//!
//! Stored data is never trusted to decode ([`JobRow`]): a row written behind oxq's back (a name
//! that is not UTF-8, a timestamp that is text, options that are not JSON) reads with lenient
//! values and a `tracing::warn!`, and a fetch hands it out with a deferred failure naming the
//! column, so one bad row fails its job instead of every fetch of the queue. A stacktrace that
//! is not JSON reads as `[]`; out-of-range integers are clamped.

use oxq_core::{JobId, JobOptions, JobRecord, JobState};
use rusqlite::Row;
use rusqlite::types::ValueRef;

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

fn decode_stacktrace(id: &str, json: Option<String>) -> Vec<String> {
    let Some(json) = json else {
        return Vec::new();
    };
    serde_json::from_str(&json).unwrap_or_else(|e| {
        tracing::warn!(job_id = id, error = %e, "stored stacktrace does not decode; using []");
        Vec::new()
    })
}

/// A job record from a row whose columns are [`job_columns!`], in order. A column that does
/// not decode is read leniently (see [`JobRow`]) with a `tracing::warn!`: a read never fails
/// because of one malformed job.
pub(crate) fn job_from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let decoded = JobRow::read(row, 0)?;
    if let Some(problem) = &decoded.malformed {
        tracing::warn!(job_id = %decoded.record.id, problem = %problem, "malformed job row read with defaults");
    }
    Ok(decoded.record)
}

/// What a fetch makes of one row ([`fetched_from_row_at`]).
pub(crate) enum Fetchable {
    /// Handed out; a malformed row carries the problem as its deferred failure.
    Run(Box<JobRecord>),
    /// An id that is not UTF-8 text: no worker could address the job to finish it, so the
    /// fetch fails it in the store with `reason` instead of handing it out.
    Unaddressable { reason: String },
}

/// A job the fetch takes, from a row holding [`job_columns!`] from column `base` on. A row
/// with a column that does not decode is still handed out, with the problem as its deferred
/// failure: the worker fails it at once and the fetch goes on with the other jobs.
pub(crate) fn fetched_from_row_at(row: &Row<'_>, base: usize) -> rusqlite::Result<Fetchable> {
    let JobRow {
        mut record,
        malformed,
        id_malformed,
    } = JobRow::read(row, base)?;
    if let Some(problem) = malformed {
        tracing::warn!(job_id = %record.id, problem = %problem, "malformed job row; the job fails");
        if id_malformed {
            return Ok(Fetchable::Unaddressable { reason: problem });
        }
        if record.deferred_failure.is_none() {
            record.deferred_failure = Some(problem);
        }
    }
    Ok(Fetchable::Run(Box::new(record)))
}

/// One job row read without trusting it: a column of the wrong type, text that is not UTF-8
/// (TEXT or BLOB; a BLOB of valid UTF-8 is accepted) or options that are not JSON give a
/// lenient value (lossy text, 0, defaults) and the first such problem in `malformed`, naming
/// the column. Only a state code that names no state fails the read (every query filters or
/// checks it).
pub(crate) struct JobRow {
    pub(crate) record: JobRecord,
    pub(crate) malformed: Option<String>,
    /// The id itself is not UTF-8 (read lossily into `record.id`, which then names no row).
    pub(crate) id_malformed: bool,
}

impl JobRow {
    fn read(row: &Row<'_>, base: usize) -> rusqlite::Result<Self> {
        let mut cols = Columns {
            row,
            base,
            malformed: None,
        };
        let id = cols.text(0, "id")?.unwrap_or_default();
        let id_malformed = cols.malformed.is_some();
        let code: i64 = row.get(base + 1)?;
        let state = state_from_code(code).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                base + 1,
                rusqlite::types::Type::Integer,
                format!("job {id} has unknown state code {code}").into(),
            )
        })?;
        let score = cols.int(2, "score")?.unwrap_or(0);
        let mut options = cols.options(&id)?;
        if cols.int(10, "custom_id")?.unwrap_or(0) != 0 {
            options.job_id = Some(JobId(id.clone()));
        }
        let stacktrace = decode_stacktrace(&id, cols.text(16, "stacktrace")?);
        let name = cols.text(7, "name")?.unwrap_or_default();
        let data = cols.text(8, "data")?.unwrap_or_default();
        let timestamp = ms_from(cols.int(3, "timestamp")?.unwrap_or(0));
        let mut record = JobRecord::new(JobId(id), name, data, options, timestamp);
        record.state = state;
        record.attempts_made = count_from(cols.int(4, "attempts_made")?.unwrap_or(0));
        record.attempts_started = count_from(cols.int(5, "attempts_started")?.unwrap_or(0));
        record.stalled_count = count_from(cols.int(6, "stalled_count")?.unwrap_or(0));
        if let Some(progress) = cols.text(11, "progress")? {
            record.progress = progress;
        }
        record.processed_on = cols.int(12, "processed_on")?.map(ms_from);
        record.processed_by = cols.text(13, "processed_by")?;
        record.return_value = cols.text(14, "return_value")?;
        record.failed_reason = cols.text(15, "failed_reason")?;
        record.stacktrace = stacktrace;
        record.deferred_failure = cols.text(17, "deferred_failure")?;
        match state {
            JobState::Delayed => record.due_at = Some(ms_from(score)),
            JobState::Completed | JobState::Failed => record.finished_on = Some(ms_from(score)),
            _ => {}
        }
        Ok(Self {
            record,
            malformed: cols.malformed,
            id_malformed,
        })
    }
}

/// The columns of one row, read leniently; the first problem is kept.
struct Columns<'r, 's> {
    row: &'r Row<'s>,
    base: usize,
    malformed: Option<String>,
}

impl Columns<'_, '_> {
    fn problem(&mut self, column: &str, what: String) {
        if self.malformed.is_none() {
            self.malformed = Some(format!("malformed job row: `{column}` {what}"));
        }
    }

    /// A text column: TEXT, or a BLOB holding UTF-8; anything else is read lossily.
    fn text(&mut self, i: usize, column: &str) -> rusqlite::Result<Option<String>> {
        let bytes = match self.row.get_ref(self.base + i)? {
            ValueRef::Null => return Ok(None),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes,
            ValueRef::Integer(n) => return Ok(Some(n.to_string())),
            ValueRef::Real(f) => return Ok(Some(f.to_string())),
        };
        Ok(Some(match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(e) => {
                self.problem(column, format!("is not valid UTF-8 ({e})"));
                String::from_utf8_lossy(bytes).into_owned()
            }
        }))
    }

    /// An integer column: INTEGER, or a REAL holding a whole number; anything else reads as
    /// `None`.
    fn int(&mut self, i: usize, column: &str) -> rusqlite::Result<Option<i64>> {
        let found = match self.row.get_ref(self.base + i)? {
            ValueRef::Null => return Ok(None),
            ValueRef::Integer(n) => return Ok(Some(n)),
            ValueRef::Real(f) if f.is_finite() && f.fract() == 0.0 => return Ok(Some(f as i64)),
            ValueRef::Real(f) => format!("the number {f}"),
            ValueRef::Text(bytes) => format!("the text {:?}", String::from_utf8_lossy(bytes)),
            ValueRef::Blob(bytes) => format!("a BLOB of {} bytes", bytes.len()),
        };
        self.problem(column, format!("is not an integer (found {found})"));
        Ok(None)
    }

    /// The options column: NULL for defaults, else JSON of [`JobOptions`].
    fn options(&mut self, id: &str) -> rusqlite::Result<JobOptions> {
        let Some(json) = self.text(9, "options")? else {
            return Ok(JobOptions::default());
        };
        Ok(match serde_json::from_str(&json) {
            Ok(options) => options,
            Err(e) => {
                tracing::debug!(job_id = id, error = %e, "stored job options do not decode");
                self.problem("options", format!("do not decode as job options ({e})"));
                JobOptions::default()
            }
        })
    }
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
        let stored: JobOptions = serde_json::from_str(&json).expect("stored options decode");
        assert_eq!(stored.attempts, 3);
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
