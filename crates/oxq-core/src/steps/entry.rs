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
    Done { value: serde_json::Value },
    /// The step failed `failures` times, the last with `error`; the next run tries it again.
    Failed { failures: u32, error: String },
    /// A sleep that ends at `until` (ms since the epoch).
    Sleeping { until: u64 },
    /// Waiting for `signal` until `until` (ms since the epoch).
    Waiting { signal: String, until: u64 },
}

impl StepStatus {
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

/// A job's steps and the signals sent to it, as [`Queue::job_steps`](crate::Queue::job_steps)
/// reads them; each list ordered by name.
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
            StepStatus::Done { value } => serde_json::from_value(value.clone()).ok(),
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
        };
        let text = done.encode().expect("encodes");
        assert_eq!(text, r#"{"done":{"value":{"id":7}}}"#);
        assert_eq!(StepStatus::decode("1", &text).expect("decodes"), done);
        let signal: Signal<u32> = Signal::Received(3);
        assert_eq!(
            serde_json::to_string(&signal).expect("encodes"),
            r#"{"received":3}"#
        );
        assert!(StepStatus::decode("1", "{\"nope\":1}").is_err());
    }
}
