//! Job schedulers through the public API (`Queue::upsert_job_scheduler` and friends, run by
//! `Worker`s), on the case's manual clock: one job per tick however many workers and producers
//! race, an upsert replaces without doubling, the limit and the end date stop a scheduler, no
//! burst after the clock jumps far ahead, daylight saving in `America/New_York`, and bad input
//! refused at upsert. A store without schedulers skips these cases.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use oxq_core::repeat::iteration_job_id;
use oxq_core::{
    Clock, Error, JobId, JobOptions, JobState, JobTemplate, ManualClock, Queue, Repeat, Worker,
};
use serde_json::{Value, json};

use crate::support::{CANARY, Recorder, WAIT, advance_and_settle, wait_for_state};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

const EVERY: u64 = 1_000;

/// The case's queue on its clock, or a skip when the store has no schedulers.
fn scheduling_queue(h: &Harness) -> CaseResult<Queue<Value>> {
    let queue = h.queue_with_clock::<Value>();
    if queue.backend().schedulers().is_none() {
        return Err(TestError::skip("the store has no job schedulers"));
    }
    Ok(queue)
}

/// Moves the case's clock to the next multiple of `unit` (it only moves forward), so tick
/// times are round numbers; answers the new time.
fn align(clock: &ManualClock, unit: u64) -> u64 {
    let t = (clock.now_ms() / unit + 1) * unit;
    clock.set(t);
    t
}

fn every() -> Repeat {
    Repeat::every(Duration::from_millis(EVERY))
}

fn template(name: &str) -> JobTemplate<Value> {
    JobTemplate::new(name, json!({ "from": name }))
}

fn start_workers(
    h: &Harness,
    queue: &Queue<Value>,
    n: usize,
    recorder: &Arc<Recorder>,
) -> Vec<Worker> {
    (0..n)
        .map(|i| {
            Worker::start(
                queue,
                h.worker_options().name(format!("sched-{i}")),
                recorder.processor_skipping(CANARY),
            )
        })
        .collect()
}

async fn close_all(workers: Vec<Worker>) -> CaseResult {
    for worker in workers {
        worker.close().await?;
    }
    Ok(())
}

/// Waits until the recorder holds `n` runs and the last one has completed (so the clock can
/// move on without making a running job look stalled).
async fn runs(queue: &Queue<Value>, recorder: &Recorder, n: usize) -> CaseResult<Vec<JobId>> {
    let attempts = recorder.wait_len(n, WAIT).await?;
    for attempt in &attempts {
        wait_for_state(queue, &attempt.job_id, JobState::Completed).await?;
    }
    Ok(attempts.into_iter().map(|a| a.job_id).collect())
}

fn ids(scheduler: &str, times: impl IntoIterator<Item = u64>) -> Vec<JobId> {
    times
        .into_iter()
        .map(|t| JobId(iteration_job_id(scheduler, t)))
        .collect()
}

/// Three workers and two producers that upsert the same schedule again at every tick, over
/// six ticks of an `every` scheduler: each tick makes exactly one job (`repeat:<id>:<tick>`),
/// run exactly once, and one run is pending at the end.
pub async fn each_tick_makes_exactly_one_job_however_many_race(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let clock = h.clock();
    let t = align(clock, EVERY);
    let recorder = Recorder::new();
    let workers = start_workers(h, &queue, 3, &recorder);
    let producers = [queue.clone(), queue.clone()];
    for tick in 0..6u64 {
        let upserts = producers
            .iter()
            .map(|p| p.upsert_job_scheduler("race", every(), template("beat")));
        for upserted in futures::future::join_all(upserts).await {
            upserted?;
        }
        runs(&queue, &recorder, usize::try_from(tick + 1)?).await?;
        advance_and_settle(clock, &queue, Duration::from_millis(EVERY)).await?;
    }
    let ran = runs(&queue, &recorder, 7).await?;
    close_all(workers).await?;
    ensure_eq!(
        ran,
        ids("race", (0..7).map(|n| t + n * EVERY)),
        "runs, one per tick"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.delayed, counts.completed),
        (0, 1, 7),
        "waiting, delayed and completed jobs after seven ticks"
    );
    Ok(())
}

/// Upserting a scheduler again replaces its schedule, template and pending run: there is only
/// ever one pending run, and it follows the latest schedule.
pub async fn an_upsert_replaces_the_schedule_without_doubling(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let clock = h.clock();
    let t = align(clock, 3_600_000);
    queue
        .upsert_job_scheduler("swap", every(), template("first"))
        .await?;
    queue
        .upsert_job_scheduler(
            "swap",
            Repeat::every(Duration::from_secs(5)),
            template("second"),
        )
        .await?;
    let hourly = queue
        .upsert_job_scheduler("swap", Repeat::cron("0 * * * *"), template("third"))
        .await?;
    ensure_eq!(
        hourly.next_run,
        Some(t + 3_600_000),
        "next run of the hourly schedule"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.delayed),
        (0, 1),
        "pending runs after three upserts"
    );
    let pending = queue
        .get_record(&JobId(iteration_job_id("swap", t + 3_600_000)))
        .await?
        .ok_or_else(|| TestError::msg("the hourly run is not stored"))?;
    ensure_eq!(pending.name, "third", "name of the pending run");
    ensure_eq!(queue.job_scheduler_count().await?, 1, "schedulers");
    let stored = queue
        .get_job_scheduler("swap")
        .await?
        .ok_or_else(|| TestError::msg("scheduler swap is not stored"))?;
    ensure_eq!(stored.template.name, "third", "template read back");
    Ok(())
}

/// A limit of 3 runs and, on another scheduler, an end date 2.5 ticks after the start: each
/// runs exactly 3 times over 6 ticks, then has no next run.
pub async fn the_limit_and_the_end_date_stop_a_scheduler(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let clock = h.clock();
    let t = align(clock, EVERY);
    let recorder = Recorder::new();
    queue
        .upsert_job_scheduler("limited", every().limit(3), template("limited"))
        .await?;
    queue
        .upsert_job_scheduler("ending", every().end_at(t + 2_500), template("ending"))
        .await?;
    let workers = start_workers(h, &queue, 1, &recorder);
    runs(&queue, &recorder, 2).await?;
    for _ in 0..6 {
        advance_and_settle(clock, &queue, Duration::from_millis(EVERY)).await?;
    }
    let ran = runs(&queue, &recorder, 6).await?;
    close_all(workers).await?;
    ensure_eq!(recorder.len(), 6, "runs of both schedulers");
    for id in ["limited", "ending"] {
        let mine: HashSet<JobId> = ran
            .iter()
            .filter(|j| j.as_str().starts_with(&format!("repeat:{id}:")))
            .cloned()
            .collect();
        ensure_eq!(
            mine,
            ids(id, (0..3).map(|n| t + n * EVERY))
                .into_iter()
                .collect::<HashSet<_>>(),
            "runs of {id}"
        );
        let stored = queue
            .get_job_scheduler(id)
            .await?
            .ok_or_else(|| TestError::msg(format!("scheduler {id} is not stored")))?;
        ensure_eq!(stored.next_run, None, "next run of {id}");
    }
    ensure_eq!(queue.counts().await?.delayed, 0, "pending runs");
    Ok(())
}

/// Workers go away for an hour (the clock jumps 3600 ticks): when one is back, the pending
/// run runs once, late, and the next is the next tick in the future, not the 3600 missed ones.
pub async fn no_burst_of_missed_runs_after_the_clock_jumps_ahead(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let clock = h.clock();
    let t = align(clock, EVERY);
    let recorder = Recorder::new();
    let workers = start_workers(h, &queue, 1, &recorder);
    queue
        .upsert_job_scheduler("sleepy", every(), template("sleepy"))
        .await?;
    runs(&queue, &recorder, 1).await?;
    close_all(workers).await?;
    clock.advance(Duration::from_secs(3_600));
    let back = clock.now_ms();
    let workers = start_workers(h, &queue, 1, &recorder);
    let ran = runs(&queue, &recorder, 2).await?;
    advance_and_settle(clock, &queue, Duration::from_millis(1)).await?;
    close_all(workers).await?;
    ensure_eq!(ran, ids("sleepy", [t, t + EVERY]), "runs");
    ensure_eq!(recorder.len(), 2, "runs after the jump");
    let stored = queue
        .get_job_scheduler("sleepy")
        .await?
        .ok_or_else(|| TestError::msg("scheduler sleepy is not stored"))?;
    ensure_eq!(
        stored.next_run,
        Some(back + EVERY),
        "the next run after the jump"
    );
    Ok(())
}

/// `30 2 * * *` in America/New_York runs once on the spring-forward day (2026-03-08), at
/// 03:30 EDT; `30 1 * * *` runs once on the fall-back day (2026-11-01), at 01:30 EDT and not
/// again at 01:30 EST. The clock is moved across both transitions.
pub async fn daylight_saving_runs_a_daily_job_once(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let clock = h.clock();
    // Nothing is stored yet, so the clock may be set back to before the transitions.
    let start = 1_772_884_800_000; // 2026-03-07T12:00:00Z
    clock.set(start);
    let recorder = Recorder::new();
    let workers = start_workers(h, &queue, 1, &recorder);
    let ny = "America/New_York";
    let spring = queue
        .upsert_job_scheduler(
            "spring",
            Repeat::cron("30 2 * * *").tz(ny),
            template("spring"),
        )
        .await?;
    let run = 1_772_955_000_000; // 2026-03-08T07:30:00Z, 03:30 EDT
    ensure_eq!(spring.next_run, Some(run), "the spring-forward run");
    advance_and_settle(clock, &queue, Duration::from_millis(run - 1 - start)).await?;
    ensure_eq!(recorder.len(), 0, "runs before 03:30 EDT");
    clock.advance(Duration::from_millis(1));
    runs(&queue, &recorder, 1).await?;
    let next = queue
        .get_job_scheduler("spring")
        .await?
        .and_then(|s| s.next_run);
    // 2026-03-09T06:30:00Z
    ensure_eq!(next, Some(1_773_037_800_000), "the run after (02:30 EDT)");
    queue.remove_job_scheduler("spring").await?;

    let autumn_start = 1_793_448_000_000; // 2026-10-31T12:00:00Z
    advance_and_settle(
        clock,
        &queue,
        Duration::from_millis(autumn_start - clock.now_ms()),
    )
    .await?;
    let fall = queue
        .upsert_job_scheduler("fall", Repeat::cron("30 1 * * *").tz(ny), template("fall"))
        .await?;
    let first = 1_793_511_000_000; // 2026-11-01T05:30:00Z, 01:30 EDT
    ensure_eq!(fall.next_run, Some(first), "the fall-back run");
    advance_and_settle(clock, &queue, Duration::from_millis(first - clock.now_ms())).await?;
    runs(&queue, &recorder, 2).await?;
    let second_pass = 1_793_514_600_000; // 2026-11-01T06:30:00Z, 01:30 EST
    advance_and_settle(
        clock,
        &queue,
        Duration::from_millis(second_pass - clock.now_ms()),
    )
    .await?;
    advance_and_settle(clock, &queue, Duration::from_secs(60)).await?;
    close_all(workers).await?;
    ensure_eq!(recorder.len(), 2, "runs, one per transition day");
    ensure_eq!(
        recorder.ids(),
        [
            JobId(iteration_job_id("spring", run)),
            JobId(iteration_job_id("fall", first))
        ],
        "the runs"
    );
    let next = queue
        .get_job_scheduler("fall")
        .await?
        .and_then(|s| s.next_run);
    // 2026-11-02T06:30:00Z
    ensure_eq!(
        next,
        Some(1_793_601_000_000),
        "the run after (01:30 EST next day)"
    );
    Ok(())
}

/// Bad input is refused at upsert with an error naming the problem, and nothing is written:
/// an invalid cron pattern, an unknown time zone, `every` of 0, an end before the start, and
/// templates with invalid options (a priority out of range, a custom id, a delay).
pub async fn bad_schedules_are_refused_at_upsert(h: &Harness) -> CaseResult {
    let queue = scheduling_queue(h)?;
    let now = h.clock().now_ms();
    let refusals: Vec<(Repeat, JobOptions, &str)> = vec![
        (
            Repeat::cron("every day at nine"),
            JobOptions::new(),
            "invalid cron pattern",
        ),
        (
            Repeat::cron("0 9 * * *").tz("Europe/Atlantis"),
            JobOptions::new(),
            "unknown time zone",
        ),
        (
            Repeat::every(Duration::ZERO),
            JobOptions::new(),
            "every must be",
        ),
        (
            every().start_at(now + 10_000).end_at(now),
            JobOptions::new(),
            "before start date",
        ),
        (every(), JobOptions::new().priority(u32::MAX), "priority"),
        (every(), JobOptions::new().job_id("mine"), "job id"),
        (
            every(),
            JobOptions::new().delay(Duration::from_secs(1)),
            "delay",
        ),
    ];
    for (repeat, options, problem) in refusals {
        let result = queue
            .upsert_job_scheduler("bad", repeat, template("bad").options(options))
            .await;
        match result {
            Err(e @ (Error::InvalidSchedule(_) | Error::InvalidOptions(_)))
                if e.to_string().contains(problem) => {}
            other => {
                return Err(TestError::msg(format!(
                    "expected a refusal naming {problem:?}, got {other:?}"
                )));
            }
        }
    }
    ensure!(
        queue
            .upsert_job_scheduler("bad:id", every(), template("x"))
            .await
            .is_err(),
        "a scheduler id with ':' was accepted"
    );
    ensure_eq!(queue.job_scheduler_count().await?, 0, "schedulers stored");
    let counts = queue.counts().await?;
    ensure_eq!(counts.waiting + counts.delayed, 0, "jobs written");
    Ok(())
}
