//! Reading the event log, and decoding its compact rows back into [`Event`]s.
//!
//! Rows pack several events (see [`event_log`](crate::ops::event_log) for the format); each
//! event carries its kind, job id and one other field as text (name, prev state, due time,
//! progress, return value, failed reason, attempts, count). The [`EventId`] is the decimal
//! sequence number, which grows per queue and is never reused (not even after obliterate).
//! An event of an unknown kind (written by a newer build) is skipped with a warning.

use oxq_core::{Error, Event, EventId, JobId, JobState, QueueRef, StoredEvent};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{KEY_MAX, ms_from, row_key};
use crate::error::StoreResult;
use crate::ops::event_log::{Kind, unpack};
use crate::ops::list;

/// The sequence number inside an [`EventId`] from this store.
pub(crate) fn parse_event_id(id: &EventId) -> StoreResult<i64> {
    id.0.parse::<i64>().map_err(|_| {
        Error::invalid(format!(
            "event id {:?} was not issued by the sqlite store (expected a decimal number)",
            id.0
        ))
        .into()
    })
}

/// The newest event id of the queue (or of its obliterated namesake).
pub(crate) fn latest(conn: &Connection, queue: &QueueRef) -> StoreResult<Option<EventId>> {
    let seq: Option<i64> = conn
        .prepare_cached(
            "SELECT event_seq FROM queues WHERE prefix = ?1 AND name = ?2 \
             UNION ALL SELECT event_seq FROM retired_queues WHERE prefix = ?1 AND name = ?2 \
             LIMIT 1",
        )?
        .query_row(params![queue.prefix, queue.name], |r| r.get(0))
        .optional()?;
    Ok(seq.filter(|s| *s > 0).map(|s| EventId(s.to_string())))
}

/// Up to `max` events with ids above `after`, oldest first, and the id of the last event
/// looked at (events this build cannot decode are skipped, but the reader moves past them).
pub(crate) fn read_after(
    conn: &Connection,
    queue: &QueueRef,
    after: i64,
    max: usize,
) -> StoreResult<(Vec<StoredEvent>, Option<i64>)> {
    let Some(qid) = list::queue_id(conn, queue)? else {
        return Ok((Vec::new(), None));
    };
    let after = after.clamp(0, KEY_MAX);
    // Rows whose last event is after the cursor; each holds at least one event.
    let mut stmt = conn.prepare_cached(
        "SELECT first, ts, events FROM events WHERE eid > ?1 AND eid <= ?2 ORDER BY eid",
    )?;
    let mut rows = stmt.query(params![row_key(qid, after), row_key(qid, KEY_MAX)])?;
    let mut events = Vec::new();
    let mut last = None;
    while events.len() < max {
        let Some(row) = rows.next()? else {
            break;
        };
        let first: i64 = row.get(0)?;
        let ts: i64 = row.get(1)?;
        let bytes = match row.get_ref(2)? {
            ValueRef::Blob(bytes) => bytes,
            _ => &[],
        };
        let Some(unpacked) = unpack(bytes) else {
            tracing::warn!(first, "skipping a damaged event row");
            continue;
        };
        for (seq, packed) in (first..).zip(unpacked) {
            if seq <= after {
                continue;
            }
            if events.len() >= max {
                break;
            }
            last = Some(seq);
            match decode(packed.code, packed.job_id, packed.value) {
                Some(event) => events.push(StoredEvent {
                    id: EventId(seq.to_string()),
                    timestamp: ms_from(ts),
                    event,
                }),
                None => tracing::warn!(
                    seq,
                    code = packed.code,
                    "skipping an event this build cannot decode"
                ),
            }
        }
    }
    Ok((events, last))
}

fn decode(code: u8, job_id: Option<String>, value: Option<String>) -> Option<Event> {
    let job = || job_id.clone().map(JobId);
    let text = || value.clone().unwrap_or_default();
    let state = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<JobState>().ok());
    let number = || {
        value
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(match Kind::from_code(code)? {
        Kind::Added => Event::Added {
            job_id: job()?,
            name: text(),
        },
        Kind::Waiting => Event::Waiting {
            job_id: job()?,
            prev: state(&value),
        },
        Kind::WaitingChildren => Event::WaitingChildren { job_id: job()? },
        Kind::Delayed => Event::Delayed {
            job_id: job()?,
            due_at: number(),
        },
        Kind::Active => Event::Active {
            job_id: job()?,
            prev: state(&value).unwrap_or(JobState::Waiting),
        },
        Kind::Progress => Event::Progress {
            job_id: job()?,
            data: text(),
        },
        Kind::Completed => Event::Completed {
            job_id: job()?,
            return_value: text(),
        },
        Kind::Failed => Event::Failed {
            job_id: job()?,
            failed_reason: text(),
        },
        Kind::RetriesExhausted => Event::RetriesExhausted {
            job_id: job()?,
            attempts_made: u32::try_from(number()).unwrap_or(u32::MAX),
        },
        Kind::Stalled => Event::Stalled { job_id: job()? },
        Kind::Duplicated => Event::Duplicated { job_id: job()? },
        Kind::Removed => Event::Removed {
            job_id: job()?,
            prev: state(&value),
        },
        Kind::Drained => Event::Drained,
        Kind::Paused => Event::Paused,
        Kind::Resumed => Event::Resumed,
        Kind::Cleaned => Event::Cleaned { count: number() },
        Kind::Cancelled => Event::Cancelled {
            job_id: job()?,
            prev: state(&value)?,
        },
        Kind::DeadLettered | Kind::Replayed => {
            let fields: serde_json::Value = serde_json::from_str(&text()).ok()?;
            let dead_letter_queue = fields.get("deadLetterQueue")?.as_str()?.to_owned();
            let dead_letter_id = JobId(fields.get("deadLetterId")?.as_str()?.to_owned());
            let job_id = job()?;
            if code == Kind::DeadLettered as u8 {
                Event::DeadLettered {
                    job_id,
                    dead_letter_queue,
                    dead_letter_id,
                }
            } else {
                Event::Replayed {
                    job_id,
                    dead_letter_queue,
                    dead_letter_id,
                }
            }
        }
        Kind::Deduplicated => {
            let fields: serde_json::Value = serde_json::from_str(&text()).ok()?;
            let field = |name: &str| fields.get(name)?.as_str().map(str::to_owned);
            Event::Deduplicated {
                job_id: job()?,
                deduplication_id: field("deduplicationId")?,
                deduplicated_job_id: JobId(field("deduplicatedJobId")?),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_kind_it_writes() {
        let id = || Some("7".to_owned());
        let v = |s: &str| Some(s.to_owned());
        let job = || JobId::from("7");
        assert_eq!(
            decode(Kind::Waiting as u8, id(), v("delayed")),
            Some(Event::Waiting {
                job_id: job(),
                prev: Some(JobState::Delayed)
            })
        );
        assert_eq!(
            decode(Kind::Waiting as u8, id(), None),
            Some(Event::Waiting {
                job_id: job(),
                prev: None
            })
        );
        assert_eq!(
            decode(Kind::Delayed as u8, id(), v("1234")),
            Some(Event::Delayed {
                job_id: job(),
                due_at: 1234
            })
        );
        assert_eq!(
            decode(Kind::WaitingChildren as u8, id(), None),
            Some(Event::WaitingChildren { job_id: job() })
        );
        assert_eq!(
            decode(Kind::Cleaned as u8, None, v("3")),
            Some(Event::Cleaned { count: 3 })
        );
        assert_eq!(
            decode(Kind::Drained as u8, None, None),
            Some(Event::Drained)
        );
        assert_eq!(
            decode(Kind::Completed as u8, None, v("1")),
            None,
            "a job event needs a job id"
        );
        assert_eq!(decode(200, id(), None), None, "a kind from a newer build");
    }
}
