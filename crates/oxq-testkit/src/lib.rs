//! oxq's conformance suite: behaviour tests written once against the public API (`Queue`,
//! `Worker`, `QueueEvents`, `Job`, options) and run on every store.
//!
//! # What it owns
//! * [`Harness`]: one case's world, a fresh store nobody else touches and a queue name of its
//!   own, plus [`Harness::worker_options`], worker settings sized for tests (2 s locks, 500 ms
//!   stalled checks, 250 ms idle waits).
//! * [`support`]: waits with time limits (no bare sleeps), a [`Recorder`](support::Recorder) of
//!   processor attempts, a [`WorkerEvents`](support::WorkerEvents) listener, an
//!   [`InFlight`](support::InFlight) gauge, a [`Gate`](support::Gate) that holds processors.
//! * [`cases`]: the cases, small files by behaviour. Each is a plain
//!   `pub async fn name(h: &Harness) -> CaseResult`.
//! * [`conformance_suite!`]: expands every case into one named test per store.
//!
//! # Running it on a store
//! A store writes an async opener and invokes the macro once, e.g. `tests/sqlite.rs`:
//!
//! ```no_run
//! use oxq_sqlite::{SqliteBackend, SqliteOptions};
//! use oxq_testkit::{CaseResult, Harness, TempStore};
//!
//! async fn open(case: &'static str) -> CaseResult<Harness> {
//!     let dir = TempStore::new(case)?;
//!     let backend = SqliteBackend::open(dir.file("oxq.db"), SqliteOptions::default()).await?;
//!     Harness::new("sqlite", case, backend, dir)
//! }
//!
//! oxq_testkit::conformance_suite!(sqlite, open);
//! # fn main() {}
//! ```
//!
//! This yields tests named `sqlite::<file>::<case>` (`cargo test -p oxq-testkit sqlite::retries`).
//! Each runs on its own two-thread Tokio runtime (built by [`run_case`] rather than
//! `#[tokio::test]`, so an instantiating crate needs no Tokio macros and the runner can enforce
//! [`CASE_TIMEOUT`](harness::CASE_TIMEOUT) and keep the store of a failed case: its location is
//! printed; `OXQ_TESTKIT_KEEP=1` keeps every store). Cases run in parallel.
//!
//! The SQLite instantiation lives in this crate's `tests/sqlite.rs` with `oxq-sqlite` as a
//! dev-dependency, so the library itself depends on no store and a Redis crate can use it as is.
//!
//! # Adding a case
//! Write `pub async fn my_case(h: &Harness) -> CaseResult` in a file under `src/cases/` and add
//! its name to the list in [`__for_each_case!`]; a unit test fails when a case is not listed.
//! A case whose store lacks a capability returns `Err(TestError::skip(..))` via
//! [`Harness::require`].
//!
//! # Caveats
//! Timing cases (delays, backoff) check lower bounds exactly (a job never starts before it is
//! due) and upper bounds with a tolerance of about a second, since CI machines are slow.
//! `RUST_LOG=oxq_core=debug` shows the runtime's logs for a failing case.

pub mod cases;
mod error;
pub mod harness;
pub mod support;

pub use error::{CaseResult, TestError};
pub use harness::{Fixture, Harness, TempStore, run_case};

/// The one list of cases, `file: case, case, ...;`, handed to `$callback` (with `[$args]`).
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ($callback:path [$($args:tt)*]) => {
        $callback! { [$($args)*]
            order: fifo_order, lifo_order, priority_order, idempotent_job_id;
            concurrency: concurrency_is_reached_and_never_exceeded,
                workers_share_a_queue_without_overlap;
            delays: delayed_jobs_never_run_early, promote_runs_a_delayed_job_now;
            retries: fixed_backoff_waits_between_attempts, exponential_backoff_doubles,
                exponential_backoff_with_jitter_stays_in_window, custom_backoff_strategy,
                exhausted_attempts_fail_with_every_error, unrecoverable_error_skips_remaining_attempts;
            outcomes: delay_outcome_runs_again_later_without_using_an_attempt,
                delay_until_a_past_time_runs_again_at_once, fail_outcomes_retry_or_stop;
            retention: remove_on_complete_count_keeps_newest, remove_on_complete_none_removes_job,
                remove_on_complete_age_removes_old_jobs, remove_on_fail_count_keeps_newest,
                job_retention_overrides_worker_default;
            admin: pause_and_resume, drain_removes_jobs_waiting_to_run, clean_by_state_grace_and_limit,
                obliterate_refuses_active_jobs_unless_forced;
            job_admin: remove_job, retry_failed_jobs, retry_one_job;
            listing: get_jobs_pages_by_state, counts_by_state;
            progress_logs: progress_number_and_object, logs_are_kept_in_order;
            events: completed_lifecycle_events_in_order, failed_lifecycle_events, queue_admin_events,
                worker_listener_reports_outcomes;
            worker_lifecycle: graceful_close_finishes_in_flight_jobs, panic_fails_the_job_and_worker_goes_on,
                timeout_fails_the_job;
            stalled: stalled_job_is_recovered_exactly_once, stalled_beyond_limit_fails_the_job;
            bad_input: invalid_options_are_rejected, oversized_payload_is_rejected,
                undecodable_data_fails_the_job;
            volume: hundred_thousand_jobs_exactly_once;
        }
    };
}

/// Expands every case into one `#[test]` per case for the store named `$store`, opened for each
/// case by `$open` (an `async fn(&'static str) -> CaseResult<Harness>`; the argument is the case
/// name). Tests are named `$store::<file>::<case>`.
#[macro_export]
macro_rules! conformance_suite {
    ($store:ident, $open:expr) => {
        mod $store {
            #[allow(unused_imports)]
            use super::*;

            fn __oxq_testkit_open(
                case: &'static str,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<$crate::Harness, $crate::TestError>,
            > {
                ($open)(case)
            }

            $crate::__for_each_case!($crate::__suite_tests[$store]);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ([$store:ident] $($module:ident: $($case:ident),+ $(,)?;)*) => {
        $(
            mod $module {
                $(
                    #[test]
                    fn $case() {
                        $crate::run_case(
                            stringify!($store),
                            concat!(stringify!($module), "::", stringify!($case)),
                            super::__oxq_testkit_open,
                            $crate::cases::$module::$case,
                        );
                    }
                )+
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_names {
    ([] $($module:ident: $($case:ident),+ $(,)?;)*) => {
        /// Every case, `file::case`, in suite order.
        pub const CASES: &[&str] = &[$($(concat!(stringify!($module), "::", stringify!($case))),+),*];
    };
}

__for_each_case!(__case_names []);

#[cfg(test)]
mod tests {
    use super::CASES;

    /// Every `pub async fn` under `src/cases/` is listed in `__for_each_case!`, so none is
    /// written and never run.
    #[test]
    fn every_case_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cases");
        let mut missing = Vec::new();
        let mut found = 0;
        for entry in std::fs::read_dir(&dir).expect("src/cases is readable") {
            let path = entry.expect("a directory entry").path();
            let module = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if module == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a case file is readable");
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("pub async fn ") else {
                    continue;
                };
                let name = rest.split('(').next().unwrap_or_default();
                found += 1;
                let full = format!("{module}::{name}");
                if !CASES.contains(&full.as_str()) {
                    missing.push(full);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "cases not listed in __for_each_case!: {missing:?}"
        );
        assert_eq!(found, CASES.len(), "listed cases that do not exist");
    }
}
