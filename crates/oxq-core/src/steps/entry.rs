//! What the runtime stores per step ([`StepStatus`], JSON in the store) and what a reader sees
//! of a job's steps ([`JobSteps`]).

use serde::{Deserialize, Serialize};

use crate::backend::JobStepEntries;
use crate::error::{Error, Result};

/// The stored state of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The step returned `value`; later runs get it back without running the step.
    Done {
        value: serde_json::Value,
        /// Times the step failed before it returned `value` (absent when it never failed).
        #[serde(default, skip_serializing_if = "is_zero")]
        failures: u32,
    },
    /// The step failed `failures` times, the last with `error`; the next run tries it again.
    Failed { failures: u32, error: String },
    /// A sleep that ends at `until` (ms since the epoch).
    Sleeping { until: u64 },
    /// Waiting for `signal` until `until` (ms since the epoch).
    Waiting { signal: String, until: u64 },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl StepStatus {
    /// The status as one word: `done`, `failed`, `sleeping` or `waiting`.
    pub fn kind(&self) -> &'static str {
        match self {
            StepStatus::Done { .. } => "done",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Sleeping { .. } => "sleeping",
            StepStatus::Waiting { .. } => "waiting",
        }
    }

    /// How many times the step ran: its failures, plus the run that returned its value. `None`
    /// for a sleep or a signal wait, which run nothing.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            StepStatus::Done { failures, .. } => Some(failures.saturating_add(1)),
            StepStatus::Failed { failures, .. } => Some(*failures),
            StepStatus::Sleeping { .. } | StepStatus::Waiting { .. } => None,
        }
    }

    /// The stored result of a completed step.
    pub fn result(&self) -> Option<&serde_json::Value> {
        match self {
            StepStatus::Done { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The last error of a step that failed and has not succeeded since.
    pub fn error(&self) -> Option<&str> {
        match self {
            StepStatus::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// When a sleep or a signal wait ends (ms since the epoch).
    pub fn until(&self) -> Option<u64> {
        match self {
            StepStatus::Sleeping { until } | StepStatus::Waiting { until, .. } => Some(*until),
            _ => None,
        }
    }

    pub(crate) fn encode(&self) -> Result<String> {
        serde_json::to_string(self).map_err(Error::Encode)
    }

    pub(crate) fn decode(job_id: &str, text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|source| Error::Decode {
            job_id: job_id.to_owned(),
            source,
        })
    }
}

/// The outcome of [`Job::wait_for_signal`](crate::Job::wait_for_signal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal<P> {
    /// The signal arrived with this payload.
    Received(P),
    /// The timeout passed first.
    TimedOut,
}

/// A job's steps and the signals sent to it, as [`Job::steps`](crate::Job::steps) and
/// [`Queue::job_steps`](crate::Queue::job_steps) read them; each list ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobSteps {
    pub steps: Vec<(String, StepStatus)>,
    pub signals: Vec<(String, serde_json::Value)>,
}

impl JobSteps {
    pub(crate) fn decode(job_id: &str, stored: JobStepEntries) -> Result<Self> {
        let steps = stored
            .entries
            .into_iter()
            .map(|(name, text)| Ok((name, StepStatus::decode(job_id, &text)?)))
            .collect::<Result<Vec<_>>>()?;
        let signals = stored
            .signals
            .into_iter()
            .map(|(name, text)| {
                let payload = serde_json::from_str(&text).map_err(|source| Error::Decode {
                    job_id: job_id.to_owned(),
                    source,
                })?;
                Ok((name, payload))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { steps, signals })
    }

    /// The stored state of the step `name`.
    pub fn step(&self, name: &str) -> Option<&StepStatus> {
        self.steps.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// The stored result of the completed step `name`, decoded as `R`.
    pub fn result<R: serde::de::DeserializeOwned>(&self, name: &str) -> Option<R> {
        match self.step(name)? {
            StepStatus::Done { value, .. } => serde_json::from_value(value.clone()).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_as_tagged_json() {
        let done = StepStatus::Done {
            value: serde_json::json!({"id": 7}),
            failures: 0,
        };
        let text = done.encode().expect("encodes");
        assert_eq!(text, r#"{"done":{"value":{"id":7}}}"#);
        assert_eq!(StepStatus::decode("1", &text).expect("decodes"), done);
        assert_eq!(done.attempts(), Some(1));
        let after_two = StepStatus::Done {
            value: serde_json::json!(1),
            failures: 2,
        };
        let text = after_two.encode().expect("encodes");
        assert_eq!(text, r#"{"done":{"value":1,"failures":2}}"#);
        assert_eq!(StepStatus::decode("1", &text).expect("decodes"), after_two);
        assert_eq!(after_two.attempts(), Some(3));
        assert_eq!(after_two.kind(), "done");
        let signal: Signal<u32> = Signal::Received(3);
        assert_eq!(
            serde_json::to_string(&signal).expect("encodes"),
            r#"{"received":3}"#
        );
        assert!(StepStatus::decode("1", "{\"nope\":1}").is_err());
    }
}
