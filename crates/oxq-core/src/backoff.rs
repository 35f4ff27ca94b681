//! Delays between attempts of a failing job.
//!
//! The formulas are BullMQ's so that a job retried by a Node worker or an oxq worker waits the
//! same: `fixed` waits `delay` every time; `exponential` waits `delay · 2^(attempt-1)`. A jitter
//! `j` in `0..=1` draws the wait uniformly from `[m·(1-j), m)` where `m` is the un-jittered wait.
//! `custom` names a strategy the worker registered
//! (`WorkerOptions::backoff_strategy`).

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::options::duration_ms;

/// How long to wait before the next attempt of a failed job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Backoff {
    /// The same wait every time.
    Fixed {
        #[serde(with = "duration_ms")]
        delay: Duration,
        #[serde(default)]
        jitter: f64,
    },
    /// `delay`, `2·delay`, `4·delay`, ...
    Exponential {
        #[serde(with = "duration_ms")]
        delay: Duration,
        #[serde(default)]
        jitter: f64,
    },
    /// A strategy registered on the worker under `name`; `delay` is passed to it.
    Custom {
        name: String,
        #[serde(with = "duration_ms", default)]
        delay: Duration,
    },
}

impl Backoff {
    pub fn fixed(delay: Duration) -> Self {
        Backoff::Fixed { delay, jitter: 0.0 }
    }

    pub fn exponential(delay: Duration) -> Self {
        Backoff::Exponential { delay, jitter: 0.0 }
    }

    pub fn custom(name: impl Into<String>) -> Self {
        Backoff::Custom {
            name: name.into(),
            delay: Duration::ZERO,
        }
    }

    /// Adds jitter (0 = none, 1 = anywhere between zero and the full wait) to fixed or
    /// exponential backoff; custom strategies ignore it.
    pub fn with_jitter(mut self, value: f64) -> Self {
        if let Backoff::Fixed { jitter, .. } | Backoff::Exponential { jitter, .. } = &mut self {
            *jitter = value;
        }
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            Backoff::Fixed { jitter, .. } | Backoff::Exponential { jitter, .. } => {
                if !(0.0..=1.0).contains(jitter) {
                    return Err(Error::invalid(format!(
                        "backoff jitter {jitter} must be between 0 and 1"
                    )));
                }
                Ok(())
            }
            Backoff::Custom { name, .. } if name.is_empty() => {
                Err(Error::invalid("custom backoff needs a strategy name"))
            }
            Backoff::Custom { .. } => Ok(()),
        }
    }

    /// The wait before attempt `next_attempt` (2 for the first retry) for fixed and
    /// exponential backoff; `None` for a custom strategy, which the worker resolves.
    pub fn delay_for(&self, next_attempt: u32, rng: &mut impl Rng) -> Option<Duration> {
        let (base, jitter) = match self {
            Backoff::Fixed { delay, jitter } => (delay.as_millis() as f64, *jitter),
            Backoff::Exponential { delay, jitter } => {
                let exponent = next_attempt.saturating_sub(2).min(62) as i32;
                ((delay.as_millis() as f64) * 2f64.powi(exponent), *jitter)
            }
            Backoff::Custom { .. } => return None,
        };
        let millis = if jitter > 0.0 {
            (rng.random::<f64>() * base * jitter + base * (1.0 - jitter)).floor()
        } else {
            base.round()
        };
        Some(Duration::from_millis(
            millis.clamp(0.0, u64::MAX as f64) as u64
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn exponential_doubles_from_the_first_retry() {
        let mut rng = StdRng::seed_from_u64(1);
        let b = Backoff::exponential(Duration::from_millis(100));
        let waits: Vec<_> = (2..=5).map(|n| b.delay_for(n, &mut rng)).collect();
        let expected = [100, 200, 400, 800].map(|ms| Some(Duration::from_millis(ms)));
        assert_eq!(waits, expected);
    }

    #[test]
    fn fixed_is_constant_and_custom_defers_to_the_worker() {
        let mut rng = StdRng::seed_from_u64(1);
        let b = Backoff::fixed(Duration::from_millis(250));
        assert_eq!(b.delay_for(7, &mut rng), Some(Duration::from_millis(250)));
        assert_eq!(Backoff::custom("linear").delay_for(2, &mut rng), None);
    }

    proptest! {
        #[test]
        fn jitter_stays_within_its_window(delay in 1u64..100_000, jitter in 0.0f64..=1.0, attempt in 2u32..12, seed: u64) {
            let mut rng = StdRng::seed_from_u64(seed);
            let b = Backoff::exponential(Duration::from_millis(delay)).with_jitter(jitter);
            let full = delay as f64 * 2f64.powi(attempt as i32 - 2);
            let got = b.delay_for(attempt, &mut rng).expect("not custom").as_millis() as f64;
            prop_assert!(got <= full);
            prop_assert!(got >= (full * (1.0 - jitter)).floor() - 1.0);
        }
    }
}
