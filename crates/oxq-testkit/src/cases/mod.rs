//! The cases, one file per behaviour. Every case is `pub async fn name(h: &Harness) ->
//! CaseResult` and is listed in [`__for_each_case!`](crate::__for_each_case).

pub mod admin;
pub mod bad_input;
pub mod cancel;
pub mod concurrency;
pub mod dead_letters;
pub mod dedup;
pub mod delays;
pub mod events;
pub mod flows;
pub mod groups;
pub mod job_admin;
pub mod limits;
pub mod listing;
pub mod metrics;
pub mod order;
pub mod outcomes;
pub mod poison;
pub mod progress_logs;
pub mod retention;
pub mod retries;
pub mod schedulers;
pub mod stalled;
pub mod steps;
pub mod timeouts;
pub mod volume;
pub mod worker_lifecycle;
pub mod workers;
