//! oxq's conformance suite: behaviour tests written once and run on every store, in two
//! layers: client cases against the public API (`Queue`, `Worker`, `QueueEvents`, `Job`,
//! options), and store-contract cases against the `Backend` seam itself.
//!
//! # What it owns
//! * [`Harness`]: one case's world, a fresh store nobody else touches and a queue name of its
//!   own, plus [`Harness::worker_options`], worker settings sized for tests (2 s locks, 500 ms
//!   stalled checks, 250 ms idle waits).
//! * [`support`]: waits with time limits (no bare sleeps), a [`Recorder`](support::Recorder) of
//!   processor attempts, a [`WorkerEvents`](support::WorkerEvents) listener, an
//!   [`InFlight`](support::InFlight) gauge, a [`Gate`](support::Gate) that holds processors.
//! * [`cases`]: the client cases, small files by behaviour. Each is a plain
//!   `pub async fn name(h: &Harness) -> CaseResult`.
//! * [`store`]: the store-contract cases, one file per facet of the seam (add, read, fetch,
//!   finish, retention, locks and stalls, job and queue admin, events, waits), the same shape.
//!   They pass `now` explicitly instead of sleeping wherever a store takes it from the caller.
//! * [`WaitProbe`]: how a store shows that a blocking call is parked, so wake-up cases wait for
//!   that ([`Harness::until_blocked`]) instead of sleeping "to let the waiter block".
//! * [`Corruptor`]: how a store breaks a stored job behind the API's back (a name that is not
//!   UTF-8, a timestamp that is not a number, ...), for the poison-row cases.
//! * [`conformance_suite!`]: expands every case of both layers into one named test per store.
//!
//! # Running it on a store
//! A store writes an async opener (a fresh store per case, with its [`WaitProbe`]) and invokes
//! the macro once, e.g. `tests/sqlite.rs`:
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
//! (`tests/sqlite.rs` adds `.with_probe(..)`; without a probe the wake-up cases skip.) This
//! yields tests named `sqlite::<file>::<case>` (`cargo test -p oxq-testkit sqlite::retries`)
//! and `sqlite::store::<facet>::<case>` (`... sqlite::store::finish`).
//! Each runs on its own two-thread Tokio runtime (built by [`run_case`] rather than
//! `#[tokio::test]`, so an instantiating crate needs no Tokio macros and the runner can enforce
//! [`CASE_TIMEOUT`](harness::CASE_TIMEOUT) and keep the store of a failed case: its location is
//! printed; `OXQ_TESTKIT_KEEP=1` keeps every store). Cases run in parallel.
//!
//! The SQLite instantiation lives in this crate's `tests/sqlite.rs` with `oxq-sqlite` as a
//! dev-dependency, so the library itself depends on no store and a Redis crate can use it as is.
//!
//! # Adding a case
//! Write `pub async fn my_case(h: &Harness) -> CaseResult` in a file under `src/cases/` (or, for
//! a `Backend` call, under `src/store/`) and add its name to the list in [`__for_each_case!`]
//! (or [`__for_each_store_case!`]); a unit test fails when a case is not listed. A change to a
//! store's behaviour extends these cases, not only that store's own tests.
//!
//! # Skips are not passes
//! A case whose store lacks what it needs returns `Err(TestError::skip(..))` (via
//! [`Harness::require`], or [`Harness::until_blocked`] without a probe). The runner prints
//! `SKIPPED <reason>` and fails the test, unless [`ALLOW_SKIP_ENV`] (`OXQ_TESTKIT_ALLOW_SKIP=1`)
//! is set: a store known to lack a feature runs with it set and its log names every skip.
//!
//! # Time
//! Time-based client cases (delays, backoff, retention by age, clean's grace period, delay
//! outcomes) run on the case's [`ManualClock`](oxq_core::ManualClock)
//! ([`Harness::queue_with_clock`]) and move it by hand: due times are checked to the
//! millisecond, and "not yet" is proven by [`advance_and_settle`](support::advance_and_settle)
//! (a worker fetched at the moved time) rather than by waiting. Some cases need real time and
//! say so: Redis expires lock keys and the stalled-check gate on
//! its own clock, and blocking waits block for real durations.
//! `RUST_LOG=oxq_core=debug` shows the runtime's logs for a failing case.

pub mod cases;
mod corrupt;
mod error;
pub mod harness;
mod probe;
pub mod redis_server;
mod skip;
pub mod store;
pub mod support;

pub use corrupt::{Corruption, Corruptor};
pub use error::{CaseResult, TestError};
pub use harness::{Fixture, Harness, TempStore, run_case};
pub use probe::WaitProbe;
pub use skip::ALLOW_SKIP_ENV;

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
            schedulers: each_tick_makes_exactly_one_job_however_many_race,
                an_upsert_replaces_the_schedule_without_doubling,
                the_limit_and_the_end_date_stop_a_scheduler,
                no_burst_of_missed_runs_after_the_clock_jumps_ahead,
                daylight_saving_runs_a_daily_job_once, bad_schedules_are_refused_at_upsert;
            flows: a_tree_runs_its_children_first_and_the_parent_reads_their_values,
                a_failing_child_that_waits_leaves_its_parent_waiting,
                a_failing_child_that_fails_its_parent_fails_it,
                a_failing_child_that_is_ignored_lets_its_parent_read_the_failure,
                a_failing_child_that_is_removed_lets_its_parent_run_without_it,
                a_failing_child_that_continues_its_parent_runs_it_at_once,
                get_flow_reads_a_tree_to_the_depth_and_width_asked,
                removing_a_parent_removes_its_subtree,
                a_job_that_adds_children_and_waits_runs_again_once_they_are_done,
                completing_while_children_are_pending_fails_the_attempt;
            progress_logs: progress_number_and_object, logs_are_kept_in_order;
            events: completed_lifecycle_events_in_order, failed_lifecycle_events, queue_admin_events,
                worker_listener_reports_outcomes;
            worker_lifecycle: graceful_close_finishes_in_flight_jobs, panic_fails_the_job_and_worker_goes_on,
                timeout_fails_the_job,
                close_past_its_deadline_abandons_a_hung_job_to_another_worker,
                close_during_store_backoff_returns_at_once_and_fetches_nothing;
            stalled: stalled_job_is_recovered_exactly_once, stalled_beyond_limit_fails_the_job;
            dead_letters: exhausted_attempts_are_dead_lettered_and_a_replay_runs_again,
                a_final_failure_is_dead_lettered, a_job_stalled_too_often_is_dead_lettered;
            bad_input: invalid_options_are_rejected, oversized_payload_is_rejected,
                undecodable_data_fails_the_job, invalid_worker_and_queue_options_are_rejected;
            volume: hundred_thousand_jobs_exactly_once;
            poison: a_poison_job_fails_alone_and_the_queue_goes_on,
                each_kind_of_poison_fails_only_its_job;
            steps: a_failing_middle_step_is_retried_without_rerunning_the_first,
                a_sleep_parks_the_job_and_resumes_it_on_another_worker,
                a_signal_sent_after_the_wait_wakes_the_job, a_signal_sent_before_the_wait_is_not_lost,
                a_signal_racing_the_park_is_seen_at_once,
                a_wait_that_times_out_answers_timed_out,
                a_step_with_its_own_attempts_fails_the_job_when_they_run_out,
                an_oversized_step_result_is_refused;
            dedup: an_add_returns_the_standing_job_until_a_worker_completes_it,
                a_throttle_window_follows_the_clock, a_debounced_burst_runs_once_with_the_last_data,
                a_removed_key_lets_the_next_add_through, bad_deduplication_options_are_refused;
            limits: a_global_rate_limit_spaces_the_starts_by_window,
                a_worker_limiter_is_shared_by_the_queues_workers,
                a_processor_rate_limit_pauses_the_queue_without_using_an_attempt,
                bad_limits_are_refused;
            workers: running_workers_are_listed_until_they_close;
            metrics: a_worker_with_metrics_counts_completions_and_failures_per_minute;
            cancel: cancel_answers_what_it_did, a_running_job_sees_its_token_at_the_next_renewal,
                a_processor_ignoring_its_token_is_dropped_after_the_grace,
                a_processor_ignoring_its_token_is_dropped_at_its_timeout;
            timeouts: a_timed_out_processor_is_dropped_before_its_failure_is_recorded,
                under_load_every_timed_out_job_fails_and_none_completes;
        }
    };
}

/// The list of store-contract cases ([`store`]), `facet: case, ...;`, handed to `$callback`
/// like [`__for_each_case!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_store_case {
    ($callback:path [$($args:tt)*]) => {
        $callback! { [$($args)*]
            add: a_new_job_reads_back_as_added, automatic_ids_count_up_and_custom_ids_take_a_number,
                a_duplicate_id_answers_the_existing_job, a_custom_id_repeated_in_one_call_is_added_once,
                an_invalid_job_refuses_the_whole_call, each_new_job_is_answered_with_its_state,
                concurrent_adds_get_unique_ids, a_large_bulk_keeps_order_and_ids;
            read: lists_follow_each_states_natural_order, finished_jobs_list_by_finish_time,
                progress_is_stored_and_emitted, logs_keep_order_and_the_newest_lines;
            fetch: waiting_jobs_run_fifo_and_lifo_jobs_jump_the_line,
                prioritized_jobs_run_by_priority_after_waiting_ones,
                a_fetched_job_is_active_under_the_callers_lock, due_delayed_jobs_are_promoted_at_fetch,
                a_paused_queue_hands_out_nothing_but_still_promotes,
                a_fetch_on_an_unknown_queue_finds_nothing, max_jobs_zero_takes_nothing;
            finish: a_wrong_token_or_missing_job_is_refused_per_item, a_completion_records_the_result,
                a_failure_retried_now_waits_at_the_back_with_its_error,
                a_failed_lifo_job_retried_now_goes_to_the_front,
                a_failed_prioritized_job_retried_now_is_prioritized_again,
                a_failure_retried_after_a_backoff_is_delayed,
                a_last_failure_emits_failed_and_retries_exhausted,
                failing_early_does_not_claim_exhausted_retries,
                a_delayed_end_waits_without_using_an_attempt,
                fetch_next_takes_more_jobs_in_the_same_call,
                drained_is_emitted_once_when_nothing_is_left,
                a_finish_without_its_memo_ends_the_attempt_the_same;
            dead_letters: exhausted_attempts_copy_the_job_to_the_dead_letter_queue,
                a_removed_final_failure_is_still_dead_lettered,
                a_queue_without_a_dead_letter_queue_copies_nothing,
                a_dead_letter_queue_must_be_another_queue_of_the_prefix,
                a_job_stalled_too_often_is_dead_lettered_with_the_reason,
                a_replay_adds_the_dead_job_back_to_its_source,
                a_replay_keeps_the_dead_jobs_options,
                a_purge_deletes_the_dead_jobs_named_or_all;
            retention: keep_none_removes_the_job_and_its_logs, keep_count_keeps_the_newest_finished_jobs,
                keep_age_removes_jobs_finished_longer_ago, failed_jobs_are_kept_per_their_keep;
            schedulers: an_upsert_creates_the_first_iteration,
                taking_the_pending_iteration_creates_the_next,
                racing_fetches_and_upserts_make_one_job_per_tick,
                a_remove_deletes_the_scheduler_and_its_pending_run,
                schedulers_are_listed_by_next_run_and_counted, the_store_refuses_a_bad_schedule,
                a_drain_and_a_clean_keep_each_schedulers_pending_run,
                removing_the_pending_run_alone_is_refused,
                a_stalled_scheduler_run_is_recovered_not_failed;
            locks_stalls: locks_extend_reports_the_locks_it_does_not_hold,
                an_extended_lock_is_not_recovered_as_stalled,
                an_expired_lock_is_recovered_once_to_the_front,
                an_expired_lock_is_recovered_by_the_first_check,
                a_job_being_fetched_is_never_recovered,
                stalling_beyond_the_limit_defers_a_failure, the_stalled_check_runs_once_per_interval,
                an_expired_lock_nobody_took_is_still_honoured,
                an_active_job_whose_lock_expired_can_be_removed;
            job_admin: remove_refuses_a_held_job_and_deletes_others,
                promote_makes_a_delayed_job_runnable_now,
                jobs_promote_moves_up_to_the_limit_soonest_first,
                retry_brings_a_finished_job_back_with_its_history,
                jobs_retry_moves_finished_jobs_back_in_bulk;
            admin: pause_and_resume_are_reported_and_emitted, drain_removes_jobs_waiting_to_run,
                clean_by_state_grace_and_limit, obliterate_refuses_active_jobs_unless_forced,
                queues_list_names_the_queues_under_a_prefix;
            events: events_come_in_order_and_page_after_a_cursor, events_of_queues_are_separate,
                a_blocked_read_wakes_on_the_next_event,
                a_blocking_read_with_nothing_new_times_out_empty;
            wait: queue_wait_times_out_on_an_empty_queue,
                queue_wait_answers_at_once_when_jobs_are_ready, an_add_wakes_a_blocked_waiter,
                a_retry_wakes_a_blocked_waiter, a_promote_wakes_a_blocked_waiter,
                resume_wakes_a_waiter_blocked_on_a_paused_queue,
                a_delayed_add_wakes_a_waiter_with_its_due_time_once,
                a_due_time_after_the_timeout_is_not_reported, a_delayed_job_due_at_the_waits_now_is_ready,
                a_dropped_wait_loses_no_wakeup;
            flows: a_flow_writes_its_parent_waiting_for_children_and_leaves_as_added,
                a_flow_with_an_existing_id_or_a_missing_parent_writes_nothing,
                children_on_the_parents_queue_run_before_it,
                a_tree_three_deep_is_released_one_level_at_a_time,
                a_completed_child_moves_its_value_to_processed_and_the_last_releases_the_parent,
                a_released_parent_with_a_delay_is_due_that_long_after_the_release,
                a_released_parent_with_a_priority_is_prioritized,
                a_failed_child_that_waits_keeps_its_parent_waiting,
                a_failed_child_that_fails_its_parent_releases_it_to_fail,
                a_child_failing_its_delayed_parent_makes_it_runnable_now,
                a_failed_child_that_is_ignored_records_its_reason,
                a_failed_child_that_is_removed_leaves_no_trace,
                a_failed_child_that_continues_its_parent_releases_it_at_once,
                a_retried_child_keeps_its_parent_waiting,
                a_parent_cannot_complete_while_a_child_is_pending,
                a_parent_with_a_failed_child_cannot_complete,
                waiting_for_children_parks_the_parent_until_they_are_done,
                waiting_for_children_with_none_pending_runs_the_parent_again_first,
                a_child_added_on_its_own_needs_its_parent_and_does_not_move_it,
                removing_a_parent_removes_its_subtree,
                removing_a_parent_is_refused_while_a_descendant_is_held,
                removing_a_child_releases_its_parent_when_it_was_the_last,
                draining_the_childrens_queue_releases_their_parent,
                retrying_a_completed_child_makes_it_pending_again,
                dependencies_are_listed_up_to_the_limit_with_whole_counts,
                a_childs_parent_link_reads_back_with_its_policy;
            poison: a_name_that_is_not_utf8_defers_a_failure_naming_it,
                data_that_is_not_utf8_defers_a_failure_naming_it,
                a_timestamp_that_is_not_a_number_defers_a_failure_naming_it,
                options_that_do_not_decode_defer_a_failure_naming_them,
                data_that_is_not_json_is_handed_out_as_stored;
            steps: an_entry_is_written_under_the_lock_only,
                a_signal_sent_before_the_wait_is_answered_by_the_save,
                a_signal_wakes_a_delayed_job_that_waits_for_it,
                a_park_after_the_awaited_signal_came_runs_the_job_at_once,
                steps_are_deleted_with_their_job;
            cancel: a_waiting_job_is_failed_as_cancelled_and_never_handed_out,
                delayed_and_prioritized_jobs_are_cancelled_from_their_state,
                an_active_job_is_failed_and_its_holder_told_at_its_renewal,
                finished_and_unknown_jobs_are_left_alone,
                a_cancelled_job_runs_again_only_when_retried,
                a_cancelled_child_applies_its_parents_failure_policy;
            dedup: an_owned_id_answers_its_owner_until_the_owner_completes,
                a_final_failure_releases_the_id_a_retried_one_does_not,
                a_throttle_window_outlives_its_job_and_ends_with_the_clock,
                extend_restarts_the_window_at_each_deduplicated_add,
                debounce_replaces_the_delayed_job_and_restarts_its_delay,
                debounce_keeps_an_owner_that_already_started,
                keep_last_if_active_runs_the_last_add_after_the_owner,
                removals_and_the_facet_release_the_id,
                one_call_with_repeated_ids_writes_the_first_of_each,
                deduplication_with_a_parent_is_refused;
            limits: limits_are_set_read_and_removed, a_global_rate_limit_caps_starts_per_window,
                a_worker_limiter_counts_for_every_worker, global_concurrency_caps_active_jobs,
                a_rate_limited_end_puts_the_job_back_and_limits_the_queue,
                a_manual_limit_stops_every_fetch_until_it_ends;
            workers: an_announced_worker_is_listed_until_it_leaves,
                a_renewed_worker_is_listed_once_and_on_its_queue_only;
            metrics: finishes_are_counted_per_minute_newest_first,
                only_final_failures_are_counted_as_failed;
        }
    };
}

/// Expands every case into one `#[test]` per case for the store named `$store`, opened for each
/// case by `$open` (an `async fn(&'static str) -> CaseResult<Harness>`; the argument is the case
/// name). Tests are named `$store::<file>::<case>` for the client cases and
/// `$store::store::<facet>::<case>` for the store-contract cases.
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

            $crate::__for_each_case!($crate::__suite_tests[$store cases ""]);

            mod store {
                use super::__oxq_testkit_open;

                $crate::__for_each_store_case!($crate::__suite_tests[$store store "store::"]);
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ([$store:ident $root:ident $prefix:literal] $($module:ident: $($case:ident),+ $(,)?;)*) => {
        $(
            mod $module {
                $(
                    #[test]
                    fn $case() {
                        $crate::run_case(
                            stringify!($store),
                            concat!($prefix, stringify!($module), "::", stringify!($case)),
                            super::__oxq_testkit_open,
                            $crate::$root::$module::$case,
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
    ([$name:ident] $($module:ident: $($case:ident),+ $(,)?;)*) => {
        /// Every case of one list, `file::case`, in suite order.
        pub const $name: &[&str] = &[$($(concat!(stringify!($module), "::", stringify!($case))),+),*];
    };
}

__for_each_case!(__case_names[CASES]);
__for_each_store_case!(__case_names[STORE_CASES]);

/// The group (tenant fairness) cases, store contract ([`store::groups`]), `facet: case, ...;`,
/// handed to `$callback` like [`__for_each_store_case!`]. Kept apart from the main lists until
/// every store keeps groups: a store runs them with [`groups_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_groups_store_case {
    ($callback:path [$($args:tt)*]) => {
        $callback! { [$($args)*]
            groups: group_jobs_are_taken_round_robin_after_plain_jobs,
                group_jobs_count_as_waiting_and_per_group,
                a_paused_group_keeps_its_jobs_and_the_others_run,
                group_concurrency_caps_each_group_alone,
                a_group_rate_limit_caps_the_starts_of_its_window,
                delayed_and_retried_group_jobs_stay_in_their_group,
                one_groups_flood_does_not_starve_the_others,
                bad_group_keys_and_settings_are_refused,
                promoting_every_delayed_job_keeps_group_jobs_in_their_groups,
                a_signal_wakes_a_parked_group_job_into_its_group,
                a_replayed_group_job_goes_back_to_its_group,
                a_debounced_group_job_is_replaced_and_stays_delayed_in_its_group,
                a_group_job_kept_aside_runs_in_its_group_after_the_owner,
                clean_removes_waiting_prioritized_and_delayed_group_jobs,
                drain_removes_group_jobs_too,
                group_jobs_are_listed_in_their_states,
                a_prioritized_group_job_counts_as_prioritized,
                cancel_and_remove_take_group_jobs_out_of_their_groups,
                a_flows_children_and_parent_run_in_their_groups,
                delayed_flow_nodes_wait_delayed_in_their_groups,
                parents_released_by_failures_and_removals_go_to_their_group,
                a_schedulers_iterations_run_in_its_templates_group;
        }
    };
}

/// The group client cases ([`cases::groups`]), like [`__for_each_groups_store_case!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_groups_case {
    ($callback:path [$($args:tt)*]) => {
        $callback! { [$($args)*]
            groups: a_worker_runs_group_jobs_round_robin,
                a_paused_group_waits_while_the_others_run;
        }
    };
}

/// Expands the group cases into `#[test]`s for the store named `$store`, opened by `$open`,
/// as [`conformance_suite!`] does (tests `$store::groups::<file>::<case>`).
#[macro_export]
macro_rules! groups_suite {
    ($store:ident, $open:expr) => {
        mod groups_suite {
            #[allow(unused_imports)]
            use super::*;

            fn __oxq_testkit_open(
                case: &'static str,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<$crate::Harness, $crate::TestError>,
            > {
                ($open)(case)
            }

            mod $store {
                use super::__oxq_testkit_open;

                $crate::__for_each_groups_case!($crate::__suite_tests[$store cases ""]);

                mod store {
                    use super::__oxq_testkit_open;

                    $crate::__for_each_groups_store_case!(
                        $crate::__suite_tests[$store store "store::"]
                    );
                }
            }
        }
    };
}

__for_each_groups_case!(__case_names[GROUP_CASES]);
__for_each_groups_store_case!(__case_names[GROUP_STORE_CASES]);

#[cfg(test)]
mod tests {
    use super::{CASES, GROUP_CASES, GROUP_STORE_CASES, STORE_CASES};

    /// Every `pub async fn` in the files of `dir` (but `mod.rs` and `helpers`) is in `listed`.
    fn check_listed(dir: &str, listed: &[&str], list: &str, helpers: &[&str]) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut missing = Vec::new();
        let mut found = 0;
        // a module is a file, or a directory whose files hold its cases (flows/)
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the case directory is readable") {
            let path = entry.expect("a directory entry").path();
            let module = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            if module == "mod" || helpers.contains(&module.as_str()) {
                continue;
            }
            if path.is_dir() {
                for inner in std::fs::read_dir(&path).expect("a case module is readable") {
                    files.push((module.clone(), inner.expect("a directory entry").path()));
                }
            } else {
                files.push((module, path));
            }
        }
        for (module, path) in files {
            let text = std::fs::read_to_string(&path).expect("a case file is readable");
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("pub async fn ") else {
                    continue;
                };
                let name = rest.split('(').next().unwrap_or_default();
                found += 1;
                let full = format!("{module}::{name}");
                if !listed.contains(&full.as_str()) {
                    missing.push(full);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "cases not listed in {list}: {missing:?}"
        );
        assert_eq!(found, listed.len(), "{list} lists cases that do not exist");
    }

    /// Every `pub async fn` under `src/cases/` is listed in `__for_each_case!`, so none is
    /// written and never run.
    #[test]
    fn every_case_is_listed() {
        let listed = [CASES, GROUP_CASES].concat();
        check_listed("src/cases", &listed, "__for_each_case!", &[]);
    }

    /// The same for the store-contract cases under `src/store/` (`kit.rs` holds helpers).
    #[test]
    fn every_store_case_is_listed() {
        let listed = [STORE_CASES, GROUP_STORE_CASES].concat();
        check_listed("src/store", &listed, "__for_each_store_case!", &["kit"]);
    }
}
