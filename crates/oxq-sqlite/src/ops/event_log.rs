//! Writing events: the kinds, the packed row format, and the buffer a write fills.
//!
//! Events are the most frequent rows the store writes (a bulk add writes two per job, a
//! finish two per job), so they are packed: one `events` row holds up to [`ROW_EVENTS`]
//! consecutive events of one queue that share a timestamp, as a BLOB. The row key is
//! `qid * 2^40 + the sequence number of its last event` and `first` is the sequence number of
//! its first event, so "events after n" is a range scan on the key. Each event's public
//! [`EventId`](oxq_core::EventId) is its own sequence number.
//!
//! Packed format, per event: the kind code (one byte, see [`Kind`]), then the job id and the
//! value, each as a LEB128 length `len + 1` followed by `len` UTF-8 bytes (length 0 = none).
//! The codes are part of the file format: never renumber them.
//!
//! Operations append to an [`EventBuffer`] as they go; [`QueueRow::save`] writes it in the
//! same transaction.
//!
//! [`QueueRow::save`]: crate::ops::queue_row::QueueRow::save

use rusqlite::Connection;

use crate::codec::row_key;
use crate::error::StoreResult;

/// Events packed into one row at most.
pub(crate) const ROW_EVENTS: usize = 256;

/// What happened; the stored code of each kind never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Added = 1,
    Waiting = 2,
    Delayed = 3,
    Active = 4,
    Progress = 5,
    Completed = 6,
    Failed = 7,
    RetriesExhausted = 8,
    Stalled = 9,
    Duplicated = 10,
    Removed = 11,
    Drained = 12,
    Paused = 13,
    Resumed = 14,
    Cleaned = 15,
    WaitingChildren = 16,
    /// Job id: the cancelled job; value: the state it left.
    Cancelled = 24,
    /// Job id: the job that stands; value: JSON `{deduplicationId, deduplicatedJobId}`.
    Deduplicated = 17,
    /// Job id: the source job; value: JSON `{deadLetterQueue, deadLetterId}`.
    DeadLettered = 20,
    /// Job id: the job the replay added; value: JSON `{deadLetterQueue, deadLetterId}`.
    Replayed = 21,
}

impl Kind {
    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        use Kind::*;
        Some(match code {
            1 => Added,
            2 => Waiting,
            3 => Delayed,
            4 => Active,
            5 => Progress,
            6 => Completed,
            7 => Failed,
            8 => RetriesExhausted,
            9 => Stalled,
            10 => Duplicated,
            11 => Removed,
            12 => Drained,
            13 => Paused,
            14 => Resumed,
            15 => Cleaned,
            16 => WaitingChildren,
            24 => Cancelled,
            17 => Deduplicated,
            20 => DeadLettered,
            21 => Replayed,
            _ => return None,
        })
    }
}

/// One packed row being filled.
#[derive(Debug)]
struct PackedRow {
    first: i64,
    last: i64,
    ts: i64,
    count: usize,
    bytes: Vec<u8>,
}

/// Events of one queue waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct EventBuffer {
    rows: Vec<PackedRow>,
}

impl EventBuffer {
    pub(crate) fn push(
        &mut self,
        seq: i64,
        ts: i64,
        kind: Kind,
        job_id: Option<&str>,
        value: Option<&str>,
    ) {
        let fits = self
            .rows
            .last()
            .is_some_and(|row| row.ts == ts && row.count < ROW_EVENTS && row.last + 1 == seq);
        if !fits {
            self.rows.push(PackedRow {
                first: seq,
                last: seq,
                ts,
                count: 0,
                bytes: Vec::with_capacity(256),
            });
        }
        if let Some(row) = self.rows.last_mut() {
            pack(&mut row.bytes, kind, job_id, value);
            row.last = seq;
            row.count += 1;
        }
    }

    /// Drops the buffered events (the queue is being deleted).
    pub(crate) fn clear(&mut self) {
        self.rows.clear();
    }

    /// Writes every buffered event of queue `qid`.
    pub(crate) fn flush(&mut self, conn: &Connection, qid: i64) -> StoreResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        // `OR IGNORE` spares the statement journal; a skipped row is still caught below.
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO events (eid, first, ts, events) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in self.rows.drain(..) {
            let written = insert.execute((
                row_key(qid, row.last),
                row.first,
                row.ts,
                row.bytes.as_slice(),
            ))?;
            if written != 1 {
                return Err(oxq_core::Error::store(format!(
                    "event row {}..={} of queue {qid} was not written",
                    row.first, row.last
                ))
                .into());
            }
        }
        Ok(())
    }
}

fn pack(out: &mut Vec<u8>, kind: Kind, job_id: Option<&str>, value: Option<&str>) {
    out.push(kind as u8);
    for field in [job_id, value] {
        match field {
            None => out.push(0),
            Some(text) => {
                put_varint(out, text.len() as u64 + 1);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// One event read back from a packed row: its kind code (unknown codes are kept so the
/// reader can skip them), job id and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unpacked {
    pub code: u8,
    pub job_id: Option<String>,
    pub value: Option<String>,
}

/// Splits a packed row; `None` when the bytes are not in the format (a damaged row).
pub(crate) fn unpack(mut bytes: &[u8]) -> Option<Vec<Unpacked>> {
    let mut events = Vec::new();
    while let Some((&code, rest)) = bytes.split_first() {
        bytes = rest;
        let job_id = take_text(&mut bytes)?;
        let value = take_text(&mut bytes)?;
        events.push(Unpacked {
            code,
            job_id,
            value,
        });
    }
    Some(events)
}

fn take_text(bytes: &mut &[u8]) -> Option<Option<String>> {
    let mut len: u64 = 0;
    let mut shift = 0u32;
    loop {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        len |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    if len == 0 {
        return Some(None);
    }
    let len = usize::try_from(len - 1).ok()?;
    if len > bytes.len() {
        return None;
    }
    let (text, rest) = bytes.split_at(len);
    *bytes = rest;
    String::from_utf8(text.to_vec()).ok().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_events_round_trip() {
        let long = "x".repeat(300);
        let mut bytes = Vec::new();
        pack(&mut bytes, Kind::Added, Some("17"), Some("email"));
        pack(&mut bytes, Kind::Drained, None, None);
        pack(&mut bytes, Kind::Completed, Some("é"), Some(&long));
        pack(&mut bytes, Kind::Progress, Some("a"), Some(""));
        let events = unpack(&bytes).expect("valid");
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].code, Kind::Added as u8);
        assert_eq!(events[0].job_id.as_deref(), Some("17"));
        assert_eq!(
            events[1],
            Unpacked {
                code: 12,
                job_id: None,
                value: None
            }
        );
        assert_eq!(events[2].value.as_deref(), Some(long.as_str()));
        assert_eq!(events[3].value.as_deref(), Some(""));
        assert!(
            unpack(&bytes[..bytes.len() - 1]).is_none(),
            "a truncated row is refused"
        );
        for code in 1..=15 {
            assert_eq!(Kind::from_code(code).map(|k| k as u8), Some(code));
        }
        assert_eq!(Kind::from_code(0), None);
    }

    #[test]
    fn rows_split_on_time_and_size() {
        let mut buffer = EventBuffer::default();
        for seq in 1..=300 {
            buffer.push(seq, 5, Kind::Waiting, Some("1"), None);
        }
        buffer.push(301, 6, Kind::Paused, None, None);
        let shapes: Vec<_> = buffer
            .rows
            .iter()
            .map(|r| (r.first, r.last, r.count))
            .collect();
        assert_eq!(shapes, vec![(1, 256, 256), (257, 300, 44), (301, 301, 1)]);
    }
}
