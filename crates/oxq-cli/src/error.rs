//! [`CliError`]: what a command can fail with, and the exit code each failure gets.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | failure: the store failed or refused, a job could not be changed, the user declined |
//! | 2 | usage: bad arguments (clap's), a malformed URL, JSON or job option |
//! | 3 | not found: an unknown job id, scheduler or queue |

use std::process::ExitCode;

/// A command's failure; its `Display` is the one sentence printed after `oxq: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments or the input are wrong; nothing was changed.
    #[error("{0}")]
    Usage(String),
    /// The job, scheduler or queue named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Anything else that went wrong.
    #[error("{0}")]
    Failed(String),
    /// An error from the library, mapped to its exit code by [`CliError::exit_code`].
    #[error(transparent)]
    Oxq(#[from] oxq::Error),
}

/// The code for "not found".
pub const EXIT_NOT_FOUND: u8 = 3;
/// The code for a usage error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
            CliError::Failed(_) => 1,
            CliError::Oxq(error) => match error {
                oxq::Error::JobNotFound(_) => EXIT_NOT_FOUND,
                oxq::Error::InvalidUrl { .. }
                | oxq::Error::InvalidOptions(_)
                | oxq::Error::InvalidSchedule(_)
                | oxq::Error::PayloadTooLarge { .. } => EXIT_USAGE,
                _ => 1,
            },
        })
    }

    pub fn unknown_job(id: &str, queue: &str) -> Self {
        CliError::NotFound(format!("job {id} not found in queue {queue}"))
    }
}

/// `Result` with [`CliError`].
pub type CliResult<T> = Result<T, CliError>;
