//! Entries of a queue's `events` stream (`bullmq-v5-model.md` §5.1) as [`Event`]s.
//!
//! Entries oxq has no variant for (`debounced`, custom events, ...) decode to `None`, and
//! the reader skips them.

use std::collections::HashMap;

use oxq_core::{Event, JobId, JobState};

use super::numbers::saturate;
use crate::keys::Key;

/// An event from a stream entry's fields; `None` for events oxq has no variant for.
pub(crate) fn decode_event(fields: &HashMap<String, String>) -> Option<Event> {
    let get = |name: &str| fields.get(name).cloned();
    let job_id = || get("jobId").map(JobId);
    let prev = || get("prev").and_then(|p| Key::state_of_suffix(&p));
    let number = |name: &str| {
        get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|n| n.max(0.0) as u64)
    };
    Some(match fields.get("event")?.as_str() {
        "added" => Event::Added {
            job_id: job_id()?,
            name: get("name").unwrap_or_default(),
        },
        "waiting" => Event::Waiting {
            job_id: job_id()?,
            prev: prev(),
        },
        "waiting-children" => Event::WaitingChildren { job_id: job_id()? },
        "delayed" => Event::Delayed {
            job_id: job_id()?,
            due_at: number("delay").unwrap_or(0),
        },
        "active" => Event::Active {
            job_id: job_id()?,
            prev: prev().unwrap_or(JobState::Waiting),
        },
        "progress" => Event::Progress {
            job_id: job_id()?,
            data: get("data").unwrap_or_else(|| "0".to_owned()),
        },
        "completed" => Event::Completed {
            job_id: job_id()?,
            return_value: get("returnvalue").unwrap_or_else(|| "null".to_owned()),
        },
        "failed" => Event::Failed {
            job_id: job_id()?,
            failed_reason: get("failedReason").unwrap_or_default(),
        },
        "retries-exhausted" => Event::RetriesExhausted {
            job_id: job_id()?,
            attempts_made: saturate(number("attemptsMade").unwrap_or(0)),
        },
        "stalled" => Event::Stalled { job_id: job_id()? },
        "duplicated" => Event::Duplicated { job_id: job_id()? },
        "deduplicated" => Event::Deduplicated {
            job_id: job_id()?,
            deduplication_id: get("deduplicationId")?,
            deduplicated_job_id: JobId(get("deduplicatedJobId")?),
        },
        "removed" => Event::Removed {
            job_id: job_id()?,
            prev: prev(),
        },
        "drained" => Event::Drained,
        "paused" => Event::Paused,
        "resumed" => Event::Resumed,
        "cleaned" => Event::Cleaned {
            count: number("count").unwrap_or(0),
        },
        "dead-lettered" => Event::DeadLettered {
            job_id: job_id()?,
            dead_letter_queue: get("deadLetterQueue")?,
            dead_letter_id: JobId(get("deadLetterId")?),
        },
        "replayed" => Event::Replayed {
            job_id: job_id()?,
            dead_letter_queue: get("deadLetterQueue")?,
            dead_letter_id: JobId(get("deadLetterId")?),
        },
        "cancelled" => Event::Cancelled {
            job_id: job_id()?,
            prev: prev()?,
        },
        _ => return None,
    })
}

/// The millisecond part of a stream id (`<ms>-<seq>`).
pub(crate) fn stream_id_millis(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn entries_decode_to_events() {
        assert_eq!(
            decode_event(&entry(&[
                ("event", "delayed"),
                ("jobId", "7"),
                ("delay", "1500")
            ])),
            Some(Event::Delayed {
                job_id: JobId::from("7"),
                due_at: 1500
            })
        );
        assert_eq!(
            decode_event(&entry(&[
                ("event", "waiting"),
                ("jobId", "7"),
                ("prev", "delayed")
            ])),
            Some(Event::Waiting {
                job_id: JobId::from("7"),
                prev: Some(JobState::Delayed)
            })
        );
        assert_eq!(
            decode_event(&entry(&[
                ("event", "waiting-children"),
                ("jobId", "p"),
                ("prev", "active")
            ])),
            Some(Event::WaitingChildren {
                job_id: JobId::from("p")
            })
        );
        assert_eq!(
            decode_event(&entry(&[
                ("event", "deduplicated"),
                ("jobId", "3"),
                ("deduplicationId", "k"),
                ("deduplicatedJobId", "4")
            ])),
            Some(Event::Deduplicated {
                job_id: JobId::from("3"),
                deduplication_id: "k".into(),
                deduplicated_job_id: JobId::from("4")
            })
        );
        assert_eq!(
            decode_event(&entry(&[("event", "deduplicated")])),
            None,
            "no fields"
        );
        assert_eq!(decode_event(&entry(&[("event", "debounced")])), None);
        assert_eq!(
            decode_event(&entry(&[("event", "completed")])),
            None,
            "no jobId"
        );
        assert_eq!(stream_id_millis("1722222222222-3"), 1_722_222_222_222);
        assert_eq!(stream_id_millis("junk"), 0);
    }
}
