//! The one error type of the helpers: a message that says what went wrong and how to fix it.

use std::fmt;

/// A helper's failure, printed as its message (also by `{:?}`, so `expect` shows it plainly).
pub struct Error {
    message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<oxq::Error> for Error {
    fn from(e: oxq::Error) -> Self {
        Error::new(format!("oxq: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
