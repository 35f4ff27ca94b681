//! Waiting with a time limit: poll a condition until it holds, never a bare sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(25);

/// Polls `check` until it returns `Ok(true)`, failing after `timeout` with `what` in the
/// message. An `Err` from `check` ends the wait at once.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::new(format!(
                "timed out after {timeout:?} waiting for {what}"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}
