//! Durable steps inside one job: memoized step results, durable sleeps, signals and
//! idempotency keys.
//!
//! ```no_run
//! # use std::time::Duration;
//! # async fn charge(key: &str) -> Result<String, std::io::Error> { Ok(key.into()) }
//! # async fn demo(job: oxq_core::Job<u64>) -> Result<(), oxq_core::BoxError> {
//! let receipt: String = job
//!     .step("charge", || async { charge(&job.idempotency_key("charge")).await })
//!     .await?;
//! job.sleep("cool-off", Duration::from_secs(30 * 60)).await?;
//! job.step("ask-review", || async { Ok::<_, std::io::Error>(receipt.len()) }).await?;
//! # Ok(()) }
//! ```
//!
//! * [`Job::step`](crate::Job::step) runs its closure once: the result is stored with the job
//!   (under the job's lock, refused once the lock is lost) as soon as the closure returns, and
//!   every later run of the job (a retry, a run after a stall or a crash, a resume after a
//!   sleep) gets the stored result back without running the closure. A failing step fails the
//!   attempt (retried with the job's attempts and backoff; completed steps do not run again);
//!   [`StepOptions::attempts`] bounds how many times that one step may fail before the job
//!   fails for good.
//! * [`Job::sleep`](crate::Job::sleep) / [`Job::sleep_until`](crate::Job::sleep_until) record
//!   the wake-up time, then end the attempt: the job goes to delayed without using an attempt
//!   and without holding a worker slot, and once due it runs again, with the steps before the
//!   sleep memoized and the sleep itself done.
//! * [`Job::wait_for_signal`](crate::Job::wait_for_signal) parks the job (as a sleep until its
//!   timeout) until [`Queue::signal`](crate::Queue::signal) names it; a signal sent before the
//!   wait is kept, and the timeout is a distinct answer ([`Signal::TimedOut`]). No signal is
//!   missed between the wait's look and the park: the store ends the attempt and looks for the
//!   awaited signal in one atomic step, and runs the job again at once when it was sent in
//!   that moment; a signal sent once the job is parked wakes it in the same step that stores it.
//! * [`Job::idempotency_key`](crate::Job::idempotency_key) is `queue:job id:step`, stable across
//!   runs, for APIs that deduplicate requests.
//!
//! **How a sleep ends the attempt.** A sleep answers `Err(StepError::Suspended)`; propagate it
//! with `?`. The worker sees that the job asked to sleep (whatever error the processor returns,
//! even one that lost the original), and moves it to delayed instead of failing it. A processor
//! that swallows the error and returns `Ok` completes the job: nothing sleeps then.
//!
//! **Loading.** A job's stored steps are read lazily, once per attempt, at its first step call:
//! a job that uses no steps costs no read and no write.
//!
//! **Changing the code between runs.** Steps are matched by name, not by position. A name with
//! no stored result simply runs; a renamed step therefore runs again (its old result is kept
//! but no longer read), and reordered steps return their own stored results in the new order.
//! A name may be used once per run ([`StepError::DuplicateName`] otherwise). When a run
//! completes without reaching a stored step, the worker logs a warning naming it: the code
//! changed under a job in flight.
//!
//! **What steps cannot do.** A step that ran its side effect but died before its result was
//! stored (a crash, a lost lock) runs again: the window between a side effect and its recording
//! remains. Hand [`Job::idempotency_key`](crate::Job::idempotency_key) to APIs that accept one
//! to close it. A Node BullMQ worker taking such a job ignores the steps and runs its own
//! processor.

mod entry;
mod error;
mod run;
mod signal;
mod state;

pub use entry::{JobSteps, Signal, StepStatus};
pub use error::StepError;
pub use run::StepOptions;

pub(crate) use state::StepsState;
