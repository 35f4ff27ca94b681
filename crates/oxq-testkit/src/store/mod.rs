//! The store contract: [`Backend`](oxq_core::Backend) calls tested once, by facet, on every
//! store (River's `riverdrivertest`).
//!
//! Where [`cases`](crate::cases) drive the public API (`Queue`, `Worker`), these call the seam
//! directly and check what a store must answer and record: states, ids, counters, events,
//! locks, the order of the line. They replace the copies each store kept in its own `tests/`,
//! which had drifted; a store's own tests now cover only what is truly its own (Redis key
//! layout and scripts, SQLite rows and processes).
//!
//! Each case is a plain `pub async fn name(h: &Harness) -> CaseResult`, listed in
//! [`__for_each_store_case!`](crate::__for_each_store_case) and run by
//! [`conformance_suite!`](crate::conformance_suite) as `<store>::store::<facet>::<case>`.
//! `kit.rs` holds the short forms of the calls. Times are passed explicitly (`now` offsets
//! from the case's start) wherever a store takes them from the caller; the few places that
//! need real time say why (Redis lock expiry, blocking waits).

pub mod add;
pub mod admin;
pub mod cancel;
pub mod dead_letters;
pub mod dedup;
pub mod events;
pub mod fetch;
pub mod finish;
pub mod flows;
pub mod groups;
pub mod job_admin;
pub(crate) mod kit;
pub mod limits;
pub mod locks_stalls;
pub mod metrics;
pub mod poison;
pub mod read;
pub mod retention;
pub mod schedulers;
pub mod steps;
pub mod wait;
pub mod workers;
