//! BullMQ's wire format, known to this module only: job hash fields, the encoded `opts` JSON,
//! score encodings, finish-script arguments and event stream fields, translated to and from
//! oxq's Rust types. Key names are [`crate::keys`]'s.
//!
//! | module | owns |
//! |---|---|
//! | [`fields`] | the names of a job hash's fields (`atm`, `defa`, `parentKey`, ...) |
//! | [`opts`] | the `opts` JSON: attempts, delay, priority, backoff, retention, parent, oxq's `timeout` |
//! | [`parent`] | a flow's links: a child's `parentKey` / `parent` fields, `opts.parent` and its policy flag, child keys |
//! | [`record`] | a job hash as a [`JobRecord`](oxq_core::JobRecord), and when it cannot be run |
//! | [`outcome`] | how an attempt ended, as `finish.lua` reads it |
//! | [`events`] | event stream entries as [`Event`](oxq_core::Event)s |
//! | [`scores`] | the delayed score encoding |
//! | `numbers` | lenient numbers from untrusted text and JSON |
//!
//! Everything read from Redis is untrusted: a hash whose `opts` or `stacktrace` is not valid
//! JSON, or whose numbers do not parse, decodes with defaults and a `tracing::warn!` instead of
//! the store failing the whole read or fetch (see [`record`]).
//!
//! Encodings follow BullMQ 6 (`bullmq-v5-model.md` §2–§5).

pub(crate) mod events;
pub(crate) mod fields;
mod numbers;
pub(crate) mod opts;
pub(crate) mod outcome;
pub(crate) mod parent;
pub(crate) mod record;
pub(crate) mod scores;

pub(crate) use events::{decode_event, stream_id_millis};
pub(crate) use opts::encode_opts;
pub(crate) use outcome::{FinishArgs, finish_args};
pub(crate) use record::{decode_record, unrunnable};
