//! Durable steps through the public API: memoized step results across retries, a durable
//! sleep (across a worker restart) on the case's manual clock, signals sent before and after a
//! wait and one racing the park (seen at once), a wait's timeout, per-step attempts and an
//! oversized step result. Side effects are counted in the case, outside the queue; time is
//! moved by hand, never waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{
    Clock, Event, Job, JobOptions, JobState, QueueOptions, Signal, StepOptions, StepStatus, Worker,
};
use serde_json::{Value, json};

use crate::support::{CANARY, WAIT, events_until, names_for, wait_for_state};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn require_steps(h: &Harness) -> CaseResult {
    if h.backend().steps().is_none() {
        return Err(TestError::skip("the store has no durable steps"));
    }
    Ok(())
}

/// Side effects per step name, counted outside the queue.
#[derive(Default)]
struct Effects {
    a: AtomicU32,
    b: AtomicU32,
    c: AtomicU32,
}

impl Effects {
    fn counts(&self) -> [u32; 3] {
        [
            self.a.load(Ordering::SeqCst),
            self.b.load(Ordering::SeqCst),
            self.c.load(Ordering::SeqCst),
        ]
    }
}

fn bump(counter: &AtomicU32) -> u32 {
    counter.fetch_add(1, Ordering::SeqCst) + 1
}

/// Three steps, the middle one failing on its first two tries, in a job with 3 attempts: the
/// first step runs once, the middle three times, the last once; the job completes with every
/// step's result and the steps read back as done.
pub async fn a_failing_middle_step_is_retried_without_rerunning_the_first(
    h: &Harness,
) -> CaseResult {
    require_steps(h)?;
    let queue = h.queue::<Value>();
    let effects = Arc::new(Effects::default());
    let seen = effects.clone();
    let worker = Worker::start(&queue, h.worker_options(), move |job: Job<Value>| {
        let effects = seen.clone();
        async move {
            let a: u32 = job
                .step("a", || async { Ok::<_, BoxError>(bump(&effects.a) * 10) })
                .await?;
            let b: String = job
                .step("b", || async {
                    match bump(&effects.b) {
                        n if n < 3 => Err(BoxError::from(format!("flaky {n}"))),
                        n => Ok(format!("b{n}")),
                    }
                })
                .await?;
            let c: bool = job
                .step("c", || async { Ok::<_, BoxError>(bump(&effects.c) == 1) })
                .await?;
            Ok::<_, BoxError>(json!([a, b, c]))
        }
    });
    let job = queue
        .add("three", json!({}), JobOptions::new().attempts(3))
        .await?;
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(effects.counts(), [1, 3, 1], "side effects of steps a, b, c");
    ensure_eq!(done.attempts_made, 3, "attempts made");
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#"[10,"b3",true]"#),
        "the job's return value"
    );
    ensure_eq!(done.stacktrace.len(), 2, "failed attempts recorded");
    ensure!(
        done.stacktrace[0].contains("step \"b\" failed") && done.stacktrace[0].contains("flaky 1"),
        "the first failure names the step and its error: {:?}",
        done.stacktrace
    );
    let steps = queue
        .job_steps(job.id())
        .await?
        .ok_or_else(|| TestError::msg("the job's steps are gone"))?;
    ensure_eq!(steps.result::<u32>("a"), Some(10), "step a's stored result");
    ensure_eq!(
        steps.result::<String>("b"),
        Some("b3".to_owned()),
        "step b's stored result"
    );
    ensure_eq!(steps.steps.len(), 3, "stored steps: {:?}", steps.steps);
    // what a reader of `get_job` sees: each step's status and how many times it ran
    let read = queue
        .get_job(job.id())
        .await?
        .ok_or_else(|| TestError::msg("the job is gone"))?
        .steps()
        .await?;
    ensure_eq!(read, steps, "Job::steps and Queue::job_steps agree");
    let runs: Vec<(&str, &str, Option<u32>)> = read
        .steps
        .iter()
        .map(|(name, status)| (name.as_str(), status.kind(), status.attempts()))
        .collect();
    ensure_eq!(
        runs,
        [
            ("a", "done", Some(1)),
            ("b", "done", Some(3)),
            ("c", "done", Some(1))
        ],
        "each step's status and attempts"
    );
    Ok(())
}

/// A sleep of 60 s parks the job in delayed without using an attempt and without running the
/// steps after it; the worker that ran it closes, and a new worker runs it once the (manual)
/// clock has moved 60 s: the step before the sleep does not run again, the one after runs once.
pub async fn a_sleep_parks_the_job_and_resumes_it_on_another_worker(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let effects = Arc::new(Effects::default());
    let processor = {
        let effects = effects.clone();
        move |job: Job<Value>| {
            let effects = effects.clone();
            async move {
                if job.name() == CANARY {
                    return Ok(json!(null));
                }
                job.step("before", || async { Ok::<_, BoxError>(bump(&effects.a)) })
                    .await?;
                job.sleep("nap", Duration::from_secs(60)).await?;
                job.step("after", || async { Ok::<_, BoxError>(bump(&effects.c)) })
                    .await?;
                Ok::<_, BoxError>(json!("woke"))
            }
        }
    };
    let first = Worker::start(&queue, h.worker_options(), processor.clone());
    let start = clock.now_ms();
    let job = queue
        .add("sleeper", json!({}), JobOptions::new().attempts(1))
        .await?;
    let parked = wait_for_state(&queue, job.id(), JobState::Delayed).await?;
    first.close().await?;
    ensure_eq!(parked.attempts_made, 0, "attempts made by the sleep");
    ensure_eq!(
        parked.due_at,
        Some(start + 60_000),
        "the sleeping job's due time"
    );
    ensure_eq!(
        effects.counts(),
        [1, 0, 0],
        "side effects before the sleep ends"
    );
    let steps = queue.job_steps(job.id()).await?.unwrap_or_default();
    ensure_eq!(
        steps.step("nap"),
        Some(&StepStatus::Sleeping {
            until: start + 60_000
        }),
        "the stored sleep"
    );

    let second = Worker::start(&queue, h.worker_options(), processor);
    crate::support::advance_and_settle(clock, &queue, Duration::from_secs(59)).await?;
    ensure_eq!(
        queue.get_record(job.id()).await?.map(|r| r.state),
        Some(JobState::Delayed),
        "state 1 s before the sleep ends"
    );
    clock.advance(Duration::from_secs(1));
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    second.close().await?;
    ensure_eq!(effects.counts(), [1, 0, 1], "side effects after the sleep");
    ensure_eq!(done.attempts_made, 1, "attempts made in all");
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#""woke""#),
        "return value"
    );
    Ok(())
}

/// The processor of the signal cases: waits up to `timeout` for `approval` and returns what
/// it got (`{"approved": payload}` or `"timed out"`), counting its runs of the step after.
fn approval_processor(
    timeout: Duration,
    after: Arc<AtomicU32>,
) -> impl Fn(Job<Value>) -> futures::future::BoxFuture<'static, Result<Value, BoxError>>
+ Send
+ Sync
+ Clone
+ 'static {
    move |job: Job<Value>| {
        let after = after.clone();
        Box::pin(async move {
            if job.name() == CANARY {
                return Ok(json!(null));
            }
            let answer: Signal<Value> = job.wait_for_signal("approval", timeout).await?;
            job.step("after", || async { Ok::<_, BoxError>(bump(&after)) })
                .await?;
            Ok(match answer {
                Signal::Received(payload) => json!({ "approved": payload }),
                Signal::TimedOut => json!("timed out"),
            })
        })
    }
}

/// A job waiting for a signal parks in delayed until the wait's timeout (no earlier look);
/// `Queue::signal` wakes it at once (answering true) and the job gets the payload; the clock
/// never moves.
pub async fn a_signal_sent_after_the_wait_wakes_the_job(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let queue = h.queue_with_clock::<Value>();
    let after = Arc::new(AtomicU32::new(0));
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        approval_processor(Duration::from_secs(3600), after.clone()),
    );
    let start = h.clock().now_ms();
    let job = queue.add("order", json!({}), JobOptions::new()).await?;
    let parked = wait_for_state(&queue, job.id(), JobState::Delayed).await?;
    ensure_eq!(parked.attempts_made, 0, "attempts made by the wait");
    ensure_eq!(
        parked.due_at,
        Some(start + 3_600_000),
        "the park's due time: the wait's timeout"
    );
    ensure!(
        !queue.signal(job.id(), "other", json!(1)).await?,
        "a signal the job does not wait for woke it"
    );
    ensure!(
        queue
            .signal(job.id(), "approval", json!({"by": "ann"}))
            .await?,
        "the signal did not wake the job"
    );
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#"{"approved":{"by":"ann"}}"#),
        "return value"
    );
    ensure_eq!(
        after.load(Ordering::SeqCst),
        1,
        "runs of the step after the wait"
    );
    Ok(())
}

/// A signal sent to a job that has not reached its wait yet (it is delayed by its options) is
/// kept: when the job runs, its wait answers at once, and the job never parks.
pub async fn a_signal_sent_before_the_wait_is_not_lost(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let after = Arc::new(AtomicU32::new(0));
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        approval_processor(Duration::from_secs(3600), after.clone()),
    );
    let job = queue
        .add(
            "order",
            json!({}),
            JobOptions::new().delay(Duration::from_secs(10)),
        )
        .await?;
    ensure!(
        !queue.signal(job.id(), "approval", json!("early")).await?,
        "a signal woke a job that was not waiting for it"
    );
    clock.advance(Duration::from_secs(10));
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#"{"approved":"early"}"#),
        "return value"
    );
    Ok(())
}

/// A signal that races the job's parking is seen at once: the processor sends it after its
/// wait looked for it and stored the wait (the wait answered `Suspended`), just before it
/// returns that error, so the job is still active and the signal cannot wake it (`signal`
/// answers false). The attempt's end finds it where it would park the job: the job is never
/// delayed, runs again at once (`waiting{prev: active}`) and gets the payload; the clock never
/// moves.
pub async fn a_signal_racing_the_park_is_seen_at_once(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let queue = h.queue_with_clock::<Value>();
    let mut events = queue.events().await?;
    let sender = queue.clone();
    let (sent, woke) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let (seen_sent, seen_woke) = (sent.clone(), woke.clone());
    let worker = Worker::start(&queue, h.worker_options(), move |job: Job<Value>| {
        let (sender, sent, woke) = (sender.clone(), seen_sent.clone(), seen_woke.clone());
        async move {
            if job.name() == CANARY {
                return Ok(json!(null));
            }
            match job
                .wait_for_signal::<Value>("approval", Duration::from_secs(3600))
                .await
            {
                Ok(Signal::Received(payload)) => Ok(payload),
                Ok(Signal::TimedOut) => Ok(json!("timed out")),
                Err(parked) => {
                    // the race, made certain: the signal comes between the wait's look and
                    // the park
                    bump(&sent);
                    if sender.signal(job.id(), "approval", json!("raced")).await? {
                        bump(&woke);
                    }
                    Err::<Value, BoxError>(parked.into())
                }
            }
        }
    });
    let job = queue.add("order", json!({}), JobOptions::new()).await?;
    let id = job.id().clone();
    let seen = events_until(
        &mut events,
        WAIT,
        |e| matches!(e, Event::Completed { job_id, .. } if job_id == &id),
    )
    .await?;
    worker.close().await?;
    ensure_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "signals sent by the processor"
    );
    ensure_eq!(
        woke.load(Ordering::SeqCst),
        0,
        "signals that woke the active job"
    );
    ensure_eq!(
        names_for(&seen, &id),
        [
            "added",
            "waiting",
            "active",
            "waiting",
            "active",
            "completed"
        ],
        "events of the job (never delayed)"
    );
    let prevs: Vec<Option<JobState>> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Waiting { job_id, prev } if job_id == &id => Some(*prev),
            _ => None,
        })
        .collect();
    ensure_eq!(
        prevs,
        [None, Some(JobState::Active)],
        "waiting.prev: added, then straight from active"
    );
    let done = queue
        .get_record(&id)
        .await?
        .ok_or_else(|| TestError::msg("the job is gone"))?;
    ensure_eq!(done.state, JobState::Completed, "state");
    ensure_eq!(done.attempts_made, 1, "attempts made");
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#""raced""#),
        "return value"
    );
    Ok(())
}

/// A wait whose timeout passes answers `Signal::TimedOut` (not an error): the job resumes when
/// the clock reaches the timeout, and a signal sent after that changes nothing.
pub async fn a_wait_that_times_out_answers_timed_out(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let after = Arc::new(AtomicU32::new(0));
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        approval_processor(Duration::from_secs(30), after.clone()),
    );
    let job = queue.add("order", json!({}), JobOptions::new()).await?;
    wait_for_state(&queue, job.id(), JobState::Delayed).await?;
    clock.advance(Duration::from_secs(30));
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#""timed out""#),
        "return value"
    );
    ensure!(
        !queue.signal(job.id(), "approval", json!("late")).await?,
        "a late signal woke a completed job"
    );
    let steps = queue.job_steps(job.id()).await?.unwrap_or_default();
    ensure_eq!(
        steps.result::<Signal<Value>>("approval"),
        Some(Signal::TimedOut),
        "the stored answer of the wait"
    );
    ensure_eq!(
        steps.signals,
        vec![("approval".to_owned(), json!("late"))],
        "signals kept"
    );
    Ok(())
}

/// A step allowed 2 attempts fails the job for good at its second failure, though the job has
/// 10 attempts; the failure says so.
pub async fn a_step_with_its_own_attempts_fails_the_job_when_they_run_out(
    h: &Harness,
) -> CaseResult {
    require_steps(h)?;
    let queue = h.queue::<Value>();
    let tries = Arc::new(AtomicU32::new(0));
    let seen = tries.clone();
    let worker = Worker::start(&queue, h.worker_options(), move |job: Job<Value>| {
        let tries = seen.clone();
        async move {
            job.step_with("charge", StepOptions::new().attempts(2), || async {
                bump(&tries);
                Err::<u32, _>(BoxError::from("card declined"))
            })
            .await?;
            Ok::<_, BoxError>(json!(null))
        }
    });
    let job = queue
        .add("pay", json!({}), JobOptions::new().attempts(10))
        .await?;
    let failed = wait_for_state(&queue, job.id(), JobState::Failed).await?;
    worker.close().await?;
    ensure_eq!(tries.load(Ordering::SeqCst), 2, "tries of the step");
    ensure_eq!(failed.attempts_made, 2, "attempts made");
    let reason = failed.failed_reason.unwrap_or_default();
    ensure!(
        reason.contains("failed 2 times") && reason.contains("card declined"),
        "failed reason: {reason}"
    );
    Ok(())
}

/// A step whose result is larger than the queue's `max_payload_bytes` is refused: nothing is
/// stored, the job fails for good with an error that names the step and both sizes.
pub async fn an_oversized_step_result_is_refused(h: &Harness) -> CaseResult {
    require_steps(h)?;
    let queue = h
        .queue::<Value>()
        .with_options(QueueOptions::new().max_payload_bytes(1024))?;
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        move |job: Job<Value>| async move {
            job.step("render", || async { Ok::<_, BoxError>("x".repeat(4096)) })
                .await?;
            Ok::<_, BoxError>(json!(null))
        },
    );
    let job = queue
        .add("big", json!({}), JobOptions::new().attempts(3))
        .await?;
    let failed = wait_for_state(&queue, job.id(), JobState::Failed).await?;
    worker.close().await?;
    ensure_eq!(failed.attempts_made, 1, "attempts made");
    let reason = failed.failed_reason.unwrap_or_default();
    ensure!(
        reason.contains("\"render\"") && reason.contains("over the limit of 1024 bytes"),
        "failed reason: {reason}"
    );
    let steps = queue.job_steps(job.id()).await?.unwrap_or_default();
    ensure!(steps.steps.is_empty(), "stored steps: {:?}", steps.steps);
    Ok(())
}
