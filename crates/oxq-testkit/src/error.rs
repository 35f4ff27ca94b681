//! How a case fails: [`TestError`], [`CaseResult`] and the `ensure!`/`ensure_eq!`/`bail!` macros.
//!
//! Any `std::error::Error` (an `oxq_core::Error`, a timeout, a JSON error) converts into a
//! [`TestError`] with `?`, so a case reads like ordinary code. The macros prefix the message with
//! the file and line of the failed check.

use std::fmt;

/// Why a case failed, or why it was skipped.
#[derive(Debug)]
pub struct TestError {
    message: String,
    skip: bool,
}

/// What every case returns.
pub type CaseResult<T = ()> = Result<T, TestError>;

impl TestError {
    /// A failure with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            skip: false,
        }
    }

    /// The store lacks what the case needs. Not a pass: the runner prints `SKIPPED <reason>`
    /// and fails the test unless [`ALLOW_SKIP_ENV`](crate::ALLOW_SKIP_ENV) is `1`.
    pub fn skip(reason: impl Into<String>) -> Self {
        Self {
            message: reason.into(),
            skip: true,
        }
    }

    pub fn is_skip(&self) -> bool {
        self.skip
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for TestError {
    fn from(e: E) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::msg(message)
    }
}

/// Fails the case: `bail!("job {id} ran twice")`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return ::std::result::Result::Err($crate::TestError::msg(format!(
            "{}:{}: {}",
            file!(),
            line!(),
            format!($($arg)+)
        )))
    };
}

/// Fails the case unless `cond` holds: `ensure!(n < 5, "ran {n} at once")`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::bail!($($arg)+);
        }
    };
}

/// Fails the case unless `actual == expected`: `ensure_eq!(got, want, "order of {}", name)`.
#[macro_export]
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($arg:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if !(*actual == *expected) {
                    $crate::bail!(
                        "{}: expected {:?}, got {:?}",
                        format!($($arg)+),
                        expected,
                        actual
                    );
                }
            }
        }
    };
}
