//! The steady-rate scenarios the old programs lacked, each with a worker already waiting:
//! * `start_latency`: jobs added at a steady rate; per job, the time from the `add` call to
//!   the processor's start (p50/p95/p99);
//! * `delayed_lateness`: delayed jobs added at a steady rate; per job, its processor's start
//!   minus the time it fell due (the `add` call's time plus the delay; p50/p99).
//!
//! Each job carries its stamp (µs since the epoch, this host's clock) in its data, so the
//! figure needs no store-specific timestamp. Adds are issued on a fixed schedule, each in a
//! task of its own, so one slow add does not hold back the next (an open-loop load).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq::{Job, JobOptions, Worker, WorkerOptions};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::stats::now_us;
use super::target::Target;
use crate::error::{CliError, CliResult};

/// How long a scenario waits for its last job to start once its adding is over, past the
/// jobs' delay.
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// The load of a steady-rate scenario.
#[derive(Debug, Clone, Copy)]
pub struct Steady {
    /// Jobs per second.
    pub rate: u32,
    /// For how long jobs are added.
    pub seconds: f64,
    /// The worker's concurrency.
    pub concurrency: usize,
}

impl Steady {
    /// How many jobs the scenario adds (at least one).
    pub fn jobs(&self) -> usize {
        ((f64::from(self.rate) * self.seconds).round() as usize).max(1)
    }
}

/// `start_latency`: milliseconds from each `add` call to its processor's start.
pub async fn start_latency(target: &Target, run: usize, load: Steady) -> CliResult<Vec<f64>> {
    run_steady(target, "start_latency", run, load, Duration::ZERO).await
}

/// `delayed_lateness`: milliseconds from each job's due time to its processor's start.
pub async fn delayed_lateness(
    target: &Target,
    run: usize,
    load: Steady,
    delay: Duration,
) -> CliResult<Vec<f64>> {
    run_steady(target, "delayed_lateness", run, load, delay).await
}

/// Starts a worker, adds `load.jobs()` jobs on schedule with `delay`, waits until each has
/// started, and answers the samples: start minus (add call + delay), in milliseconds.
async fn run_steady(
    target: &Target,
    scenario: &str,
    run: usize,
    load: Steady,
    delay: Duration,
) -> CliResult<Vec<f64>> {
    let jobs = load.jobs();
    let bench = target.fresh_queue(scenario, run).await?;
    let samples: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::with_capacity(jobs)));
    let all_started = Arc::new(Notify::new());
    let processor = {
        let (samples, all_started) = (samples.clone(), all_started.clone());
        move |job: Job<Value>| {
            // read the clock first thing, before any await
            let started = now_us();
            let due = job.data()["due_us"].as_i64();
            if let (Some(due), Ok(mut samples)) = (due, samples.lock()) {
                samples.push((started - due) as f64 / 1000.0);
                if samples.len() == jobs {
                    all_started.notify_one();
                }
            }
            async { Ok::<_, std::convert::Infallible>(()) }
        }
    };
    let worker = Worker::try_start(
        &bench.worker_side,
        WorkerOptions::new().concurrency(load.concurrency),
        processor,
    )?;

    let delay_us = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
    let options = if delay.is_zero() {
        JobOptions::new()
    } else {
        JobOptions::new().delay(delay)
    };
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(load.rate)));
    // a tick missed (the machine was busy) is made up at once: the rate holds on average
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut adds = JoinSet::new();
    for _ in 0..jobs {
        ticks.tick().await;
        let (queue, options) = (bench.queue.clone(), options.clone());
        adds.spawn(async move {
            let data = json!({ "due_us": now_us() + delay_us });
            queue.add("job", data, options).await
        });
    }
    while let Some(added) = adds.join_next().await {
        added.map_err(|e| CliError::Failed(format!("an add task failed: {e}")))??;
    }

    let waited = tokio::time::timeout(DRAIN_DEADLINE + delay, all_started.notified()).await;
    worker.close().await?;
    let samples = std::mem::take(&mut *samples.lock().map_err(|_| poisoned())?);
    target.clean_up(&bench).await?;
    if waited.is_err() {
        return Err(CliError::Failed(format!(
            "{scenario}: only {} of {jobs} jobs started within {} s after the last add",
            samples.len(),
            (DRAIN_DEADLINE + delay).as_secs()
        )));
    }
    Ok(samples)
}

fn poisoned() -> CliError {
    CliError::Failed("a processor panicked while recording a sample".to_owned())
}
