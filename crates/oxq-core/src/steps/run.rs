//! The step calls of a [`Job`] inside a processor: [`Job::step`], [`Job::step_with`],
//! [`Job::sleep`], [`Job::sleep_until`], [`Job::wait_for_signal`] and
//! [`Job::idempotency_key`]. See [`crate::steps`] for the behaviour.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::entry::{Signal, StepStatus};
use super::error::StepError;
use crate::backend::{ReadSteps, SaveStep, SavedStep, Steps};
use crate::clock::{epoch_ms, millis};
use crate::error::{BoxError, Error};
use crate::ids::LockToken;
use crate::job::Job;

/// Options of one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOptions {
    /// How many times the step may fail, across the job's attempts, before the job fails for
    /// good (`None`: only the job's own attempts bound it).
    pub attempts: Option<u32>,
}

impl StepOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// The step fails the job for good at its `n`th failure (`n` of 0 counts as 1).
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = Some(n.max(1));
        self
    }
}

/// The longest failure message a failed step stores.
const MAX_STORED_ERROR: usize = 2000;

impl<T> Job<T> {
    /// Runs `run` once for this job and stores its result; every later run of the job returns
    /// the stored result without calling `run`. See [`crate::steps`].
    pub async fn step<R, E, F, Fut>(&self, name: &str, run: F) -> Result<R, StepError>
    where
        R: Serialize + DeserializeOwned,
        E: Into<BoxError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        self.step_with(name, StepOptions::default(), run).await
    }

    /// [`Job::step`] with options (per-step attempts).
    pub async fn step_with<R, E, F, Fut>(
        &self,
        name: &str,
        options: StepOptions,
        run: F,
    ) -> Result<R, StepError>
    where
        R: Serialize + DeserializeOwned,
        E: Into<BoxError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let token = self.begin_step(name).await?;
        let failures = match self.steps_state().entry(name) {
            Some(StepStatus::Done { value, .. }) => return decode_value(name, value),
            Some(StepStatus::Failed { failures, .. }) => failures,
            Some(other) => return Err(name_taken(name, &other)),
            None => 0,
        };
        match run().await {
            Ok(result) => {
                let value = serde_json::to_value(&result).map_err(|e| StepError::Encode {
                    step: name.to_owned(),
                    reason: e.to_string(),
                })?;
                self.save_step(name, &token, StepStatus::Done { value, failures }, None)
                    .await?;
                Ok(result)
            }
            Err(e) => {
                let source: BoxError = e.into();
                let failures = failures.saturating_add(1);
                let mut error = source.to_string();
                truncate(&mut error, MAX_STORED_ERROR);
                let status = StepStatus::Failed { failures, error };
                if let Err(save) = self.save_step(name, &token, status, None).await {
                    tracing::warn!(job_id = %self.id(), step = name, error = %save, "cannot record a step's failure");
                }
                let step = name.to_owned();
                if options.attempts.is_some_and(|n| failures >= n) {
                    Err(StepError::GaveUp {
                        step,
                        failures,
                        source,
                    })
                } else {
                    Err(StepError::Failed { step, source })
                }
            }
        }
    }

    /// Sleeps `duration` from the first time this run reaches `name`: the attempt ends
    /// ([`StepError::Suspended`], propagate it with `?`) and the job is delayed without using an
    /// attempt; once due, it runs again and this call returns `Ok(())`.
    pub async fn sleep(&self, name: &str, duration: Duration) -> Result<(), StepError> {
        self.sleep_step(name, |now| now.saturating_add(millis(duration)))
            .await
    }

    /// [`Job::sleep`] until a point in time (one in the past returns at once).
    pub async fn sleep_until(&self, name: &str, until: SystemTime) -> Result<(), StepError> {
        let until = epoch_ms(until);
        self.sleep_step(name, |_| until).await
    }

    /// Waits up to `timeout` for the signal `name` ([`Queue::signal`](crate::Queue::signal));
    /// a signal sent before this call is kept and returned at once. The job is parked in
    /// delayed meanwhile, as for a sleep. The answer is memoized like a step's: a later run
    /// gets the same [`Signal`].
    ///
    /// The job parks until the timeout, and no signal is missed in between: the store records
    /// the awaited name with the `Waiting` entry, and the attempt's end looks for that signal
    /// in the same atomic step that would park the job. A signal sent after this call looked
    /// but before the job is in delayed (it is still active, so the signal cannot wake it)
    /// makes the job runnable at once instead of parked; one sent later wakes it in delayed.
    pub async fn wait_for_signal<P>(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Signal<P>, StepError>
    where
        P: Serialize + DeserializeOwned,
    {
        let token = self.begin_step(name).await?;
        let now = self.now_ms();
        let until = match self.steps_state().entry(name) {
            Some(StepStatus::Done { value, .. }) => return decode_value(name, value),
            Some(StepStatus::Waiting { signal, until }) if signal == name => {
                if self.steps_state().signal(name).is_none() && now >= until {
                    let value = to_value(name, &Signal::<P>::TimedOut)?;
                    let done = StepStatus::Done { value, failures: 0 };
                    self.save_step(name, &token, done, None).await?;
                    return Ok(Signal::TimedOut);
                }
                until
            }
            Some(other) => return Err(name_taken(name, &other)),
            None => now.saturating_add(millis(timeout)),
        };
        if let Some(payload) = self.steps_state().signal(name) {
            return self.receive_signal(name, &token, &payload).await;
        }
        let waiting = StepStatus::Waiting {
            signal: name.to_owned(),
            until,
        };
        let saved = self
            .save_step(name, &token, waiting, Some(name.to_owned()))
            .await?;
        if let Some(payload) = saved.signal {
            return self.receive_signal(name, &token, &payload).await;
        }
        // Parked until the timeout: a signal sent from here until the job is in delayed is
        // found by the store when the attempt ends, which then runs the job again at once.
        self.steps_state().suspend(until);
        Err(StepError::Suspended {
            step: name.to_owned(),
            until,
        })
    }

    /// A key that names this job's step `step` and stays the same across runs
    /// (`<prefix>:<queue>:<job id>:<step>`), for external APIs that deduplicate requests.
    pub fn idempotency_key(&self, step: &str) -> String {
        format!("{}:{}:{}", self.queue().key(), self.id(), step)
    }

    async fn sleep_step(
        &self,
        name: &str,
        until_of: impl FnOnce(u64) -> u64,
    ) -> Result<(), StepError> {
        let token = self.begin_step(name).await?;
        let now = self.now_ms();
        let until = match self.steps_state().entry(name) {
            Some(StepStatus::Sleeping { until }) => until,
            Some(other) => return Err(name_taken(name, &other)),
            None => {
                let until = until_of(now);
                if until <= now {
                    return Ok(());
                }
                self.save_step(name, &token, StepStatus::Sleeping { until }, None)
                    .await?;
                until
            }
        };
        if now >= until {
            return Ok(());
        }
        self.steps_state().suspend(until);
        Err(StepError::Suspended {
            step: name.to_owned(),
            until,
        })
    }

    async fn receive_signal<P>(
        &self,
        name: &str,
        token: &LockToken,
        payload: &str,
    ) -> Result<Signal<P>, StepError>
    where
        P: Serialize + DeserializeOwned,
    {
        let payload: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| StepError::Decode {
                step: name.to_owned(),
                reason: format!("the signal's payload is not JSON: {e}"),
            })?;
        let value = to_value(name, &Signal::Received(payload))?;
        let answer: Signal<P> = decode_value(name, value.clone())?;
        let done = StepStatus::Done { value, failures: 0 };
        self.save_step(name, token, done, None).await?;
        Ok(answer)
    }

    /// The lock token, the steps loaded, and `name` claimed for this run.
    async fn begin_step(&self, name: &str) -> Result<LockToken, StepError> {
        let token = self
            .token()
            .cloned()
            .ok_or_else(|| StepError::OutsideWorker {
                step: name.to_owned(),
            })?;
        if !self.steps_state().is_loaded() {
            self.load_steps(name).await?;
        }
        if !self.steps_state().claim(name) {
            return Err(StepError::DuplicateName {
                step: name.to_owned(),
            });
        }
        Ok(token)
    }

    fn steps_facet(&self, step: &str) -> Result<&dyn Steps, StepError> {
        let backend = self.backend().as_ref();
        backend.steps().ok_or_else(|| StepError::Store {
            step: step.to_owned(),
            source: Error::Unsupported {
                store: backend.kind(),
                operation: "durable steps",
            },
        })
    }

    /// The one read of an attempt's steps, at its first step call.
    async fn load_steps(&self, step: &str) -> Result<(), StepError> {
        let store_error = |source| StepError::Store {
            step: step.to_owned(),
            source,
        };
        let stored = self
            .steps_facet(step)?
            .steps_read(ReadSteps {
                queue: self.queue().clone(),
                job_id: self.id().clone(),
            })
            .await
            .map_err(store_error)?
            .ok_or_else(|| store_error(Error::JobNotFound(self.id().to_string())))?;
        let job_id = self.id().to_string();
        let mut entries = HashMap::with_capacity(stored.entries.len());
        for (name, text) in stored.entries {
            let status = StepStatus::decode(&job_id, &text).map_err(|e| StepError::Decode {
                step: name.clone(),
                reason: e.to_string(),
            })?;
            entries.insert(name, status);
        }
        let signals = stored.signals.into_iter().collect();
        self.steps_state().install(job_id, entries, signals);
        Ok(())
    }

    /// Stores `status` for `name` under the job's lock (refused past the payload limit).
    async fn save_step(
        &self,
        name: &str,
        token: &LockToken,
        status: StepStatus,
        waits_for: Option<String>,
    ) -> Result<SavedStep, StepError> {
        let entry = status.encode().map_err(|e| StepError::Encode {
            step: name.to_owned(),
            reason: e.to_string(),
        })?;
        let limit = self.steps_state().limit();
        if entry.len() > limit {
            return Err(StepError::TooLarge {
                step: name.to_owned(),
                size: entry.len(),
                limit,
            });
        }
        let saved = self
            .steps_facet(name)?
            .step_save(SaveStep {
                queue: self.queue().clone(),
                job_id: self.id().clone(),
                token: token.clone(),
                name: name.to_owned(),
                entry,
                waits_for,
            })
            .await
            .map_err(|source| StepError::Store {
                step: name.to_owned(),
                source,
            })?;
        self.steps_state().record(name, status);
        Ok(saved)
    }
}

fn to_value<V: Serialize>(step: &str, value: &V) -> Result<serde_json::Value, StepError> {
    serde_json::to_value(value).map_err(|e| StepError::Encode {
        step: step.to_owned(),
        reason: e.to_string(),
    })
}

fn decode_value<R: DeserializeOwned>(step: &str, value: serde_json::Value) -> Result<R, StepError> {
    serde_json::from_value(value).map_err(|e| StepError::Decode {
        step: step.to_owned(),
        reason: e.to_string(),
    })
}

/// A name stored for another kind of call (a step's name reused by a sleep, say).
fn name_taken(step: &str, stored: &StepStatus) -> StepError {
    let kind = match stored {
        StepStatus::Done { .. } | StepStatus::Failed { .. } => "a step or a signal wait",
        StepStatus::Sleeping { .. } => "a sleep",
        StepStatus::Waiting { .. } => "a signal wait",
    };
    StepError::Decode {
        step: step.to_owned(),
        reason: format!("the name is stored for {kind}"),
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}
